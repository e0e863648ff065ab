package dev.drkit.testkit;

import static org.assertj.core.api.Assertions.assertThat;

import dev.drkit.ArtifactInfo;
import dev.drkit.BackupManifest;
import dev.drkit.BackupResult;
import dev.drkit.DrKit;
import dev.drkit.Settings;
import dev.drkit.TargetSpec;
import dev.drkit.VerificationResult;
import dev.drkit.VerificationResult.Status;
import dev.drkit.VerifyLevel;
import dev.drkit.spi.ObjectInfo;
import dev.drkit.spi.ObjectUpload;
import dev.drkit.spi.StorageBackend;
import dev.drkit.spi.VerificationContext;
import dev.drkit.spi.Verifier;
import dev.drkit.spi.VerifierProvider;
import dev.drkit.storage.FileStorageBackend;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The contract every {@link Verifier} must meet, run through {@link DrKit#verify} on a local
 * repository. A subclass names the provider under test, prepares a source of a type it
 * verifies and, when the verifier does not read artifacts, says how to damage what it checks.
 *
 * <p>What every verifier promises, and this suite checks: it passes on a good backup; it fails,
 * rather than throws, on a damaged one, with a problem naming what is damaged; its provider's
 * level is the level at which it runs, and its result carries its name and the time it took;
 * it never writes to the repository.
 *
 * <p>The provider under test is registered explicitly, so it is the one that runs, wrapped to
 * watch the repository and time the call.
 */
public abstract class VerifierContract {
    @TempDir
    protected Path work;

    protected DrKit kit;
    protected StorageBackend storage;

    private WatchedStorage watched;
    private final List<Call> calls = new ArrayList<>();

    /** A fresh provider of the verifier under test. */
    protected abstract VerifierProvider provider();

    /** Creates the data to back up and returns a target the verifier applies to. */
    protected abstract TargetSpec prepareSource(Path work) throws Exception;

    /** Verifier options (a scratch server, tool paths); none by default. */
    protected Settings verifierOptions() throws Exception {
        return Settings.empty();
    }

    /**
     * Damages the stored backup the way bit rot would and returns what the verifier's problem
     * must name. By default flips a byte in the middle of the first artifact and returns the
     * artifact's stored name.
     */
    protected String corrupt(BackupManifest manifest) throws Exception {
        ArtifactInfo artifact = manifest.artifacts().get(0);
        BackupTargetContract.Corruptor.flipByte(
                storage, objectKey(manifest, artifact.storedName()), artifact.storedSize() / 2);
        return artifact.storedName();
    }

    /** The repository's storage; a local directory by default. */
    protected StorageBackend newStorage(Path work) throws Exception {
        return new FileStorageBackend(work.resolve("repo"));
    }

    /** Adjusts the kit under test (providers, encryption, ...); the default changes nothing. */
    protected DrKit.Builder configure(DrKit.Builder builder) throws Exception {
        return builder;
    }

    /** The storage key of a file of a backup. */
    protected static String objectKey(BackupManifest m, String fileName) {
        return "backups/" + m.target() + "/" + m.id() + "/" + fileName;
    }

    @BeforeEach
    void openKit() throws Exception {
        storage = newStorage(work);
        watched = new WatchedStorage(storage);
        kit = configure(DrKit.builder().storage(watched).register(new Watching(provider())))
                .build();
    }

    @AfterEach
    void closeKit() {
        kit.close();
    }

    @Test
    public void passesOnAGoodBackupWithoutWritingToTheRepository() throws Exception {
        TargetSpec spec = prepareSource(work);
        BackupResult backup = kit.backup(spec);
        assertThat(watched.writes).as("the backup's writes, seen by the watch").isNotEmpty();

        Call call = verify(spec, backup);
        assertThat(call.thrown).as("the verifier threw").isNull();
        assertThat(call.result.problems()).isEmpty();
        assertThat(call.result.status()).isEqualTo(Status.PASSED);
        assertThat(call.writes).as("objects the verifier wrote").isEmpty();
    }

    @Test
    public void failsWithoutThrowingOnADamagedBackupNamingWhatIsDamaged() throws Exception {
        TargetSpec spec = prepareSource(work);
        BackupResult backup = kit.backup(spec);
        String damaged = corrupt(backup.manifest());

        Call call = verify(spec, backup);
        assertThat(call.thrown).as("the verifier threw").isNull();
        assertThat(call.result.status()).isEqualTo(Status.FAILED);
        assertThat(String.join("\n", call.result.problems())).contains(damaged);
        assertThat(call.writes).as("objects the verifier wrote").isEmpty();
    }

    @Test
    public void runsAtItsLevelAndReportsItsNameAndDuration() throws Exception {
        VerifierProvider provider = provider();
        TargetSpec spec = prepareSource(work);
        BackupResult backup = kit.backup(spec);
        assertThat(provider.supports(spec.type())).isTrue();

        Call call = verify(spec, backup);
        assertThat(call.verifierName).isEqualTo(provider.name());
        assertThat(call.result.verifier()).isEqualTo(provider.name());
        assertThat(call.result.duration()).isPositive().isLessThanOrEqualTo(call.took);

        if (provider.level().ordinal() > 0) {
            VerifyLevel below = VerifyLevel.values()[provider.level().ordinal() - 1];
            calls.clear();
            kit.verify(spec.name(), backup.id(), below, verifierOptions());
            assertThat(calls)
                    .as("runs of " + provider.name() + " at level " + below)
                    .isEmpty();
        }
    }

    /** Verifies the backup at the provider's level and returns the one run of the verifier under test. */
    private Call verify(TargetSpec spec, BackupResult backup) throws Exception {
        calls.clear();
        kit.verify(spec.name(), backup.id(), provider().level(), verifierOptions());
        assertThat(calls).as("runs of the verifier under test").hasSize(1);
        return calls.get(0);
    }

    /** One run of the verifier under test. */
    private static final class Call {
        String verifierName;
        VerificationResult result;
        Throwable thrown;
        Duration took;
        List<String> writes;
    }

    /** The provider under test, its verifiers watched and timed. */
    private final class Watching implements VerifierProvider {
        private final VerifierProvider delegate;

        Watching(VerifierProvider delegate) {
            this.delegate = delegate;
        }

        @Override
        public String name() {
            return delegate.name();
        }

        @Override
        public VerifyLevel level() {
            return delegate.level();
        }

        @Override
        public boolean supports(String targetType) {
            return delegate.supports(targetType);
        }

        @Override
        public Verifier create(Settings settings) {
            Verifier verifier = delegate.create(settings);
            return new Verifier() {
                @Override
                public String name() {
                    return verifier.name();
                }

                @Override
                public VerificationResult verify(VerificationContext context) {
                    Call call = new Call();
                    call.verifierName = verifier.name();
                    watched.writes.clear();
                    long start = System.nanoTime();
                    try {
                        call.result = verifier.verify(context);
                    } catch (IOException | RuntimeException e) {
                        call.thrown = e;
                    }
                    call.took = Duration.ofNanos(System.nanoTime() - start);
                    call.writes = List.copyOf(watched.writes);
                    calls.add(call);
                    return call.result != null
                            ? call.result
                            : VerificationResult.start(call.verifierName).failed("threw " + call.thrown);
                }
            };
        }
    }

    /** A storage that records the keys written or deleted through it. */
    private static final class WatchedStorage implements StorageBackend {
        private final StorageBackend delegate;
        final List<String> writes = new ArrayList<>();

        WatchedStorage(StorageBackend delegate) {
            this.delegate = delegate;
        }

        private synchronized void wrote(String what) {
            writes.add(what);
        }

        @Override
        public String describe() {
            return delegate.describe();
        }

        @Override
        public ObjectUpload create(String key) throws IOException {
            wrote(key);
            return delegate.create(key);
        }

        @Override
        public ObjectUpload create(String key, Instant retainUntil) throws IOException {
            wrote(key);
            return delegate.create(key, retainUntil);
        }

        @Override
        public boolean createIfAbsent(String key, byte[] content) throws IOException {
            wrote(key);
            return delegate.createIfAbsent(key, content);
        }

        @Override
        public boolean createIfAbsent(String key, byte[] content, Instant retainUntil) throws IOException {
            wrote(key);
            return delegate.createIfAbsent(key, content, retainUntil);
        }

        @Override
        public Optional<Duration> immutableFor() {
            return delegate.immutableFor();
        }

        @Override
        public Optional<Instant> retainedUntil(String key) throws IOException {
            return delegate.retainedUntil(key);
        }

        @Override
        public InputStream open(String key, long offset) throws IOException {
            return delegate.open(key, offset);
        }

        @Override
        public Optional<ObjectInfo> stat(String key) throws IOException {
            return delegate.stat(key);
        }

        @Override
        public List<ObjectInfo> list(String prefix) throws IOException {
            return delegate.list(prefix);
        }

        @Override
        public void delete(String key) throws IOException {
            wrote("delete " + key);
            delegate.delete(key);
        }

        @Override
        public void deleteAll(Collection<String> keys) throws IOException {
            keys.forEach(k -> wrote("delete " + k));
            delegate.deleteAll(keys);
        }

        @Override
        public int cleanIncompleteUploads(Duration olderThan) throws IOException {
            wrote("clean incomplete uploads");
            return delegate.cleanIncompleteUploads(olderThan);
        }

        @Override
        public List<ObjectInfo> incompleteUploads(Duration olderThan) throws IOException {
            return delegate.incompleteUploads(olderThan);
        }

        @Override
        public void close() throws IOException {
            delegate.close();
        }
    }
}
