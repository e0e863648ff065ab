package dev.drkit.testkit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.drkit.ArtifactInfo;
import dev.drkit.BackupManifest;
import dev.drkit.BackupResult;
import dev.drkit.Capability;
import dev.drkit.ChecksumMismatchException;
import dev.drkit.DestinationNotEmptyException;
import dev.drkit.DrException;
import dev.drkit.DrException.ErrorCode;
import dev.drkit.DrKit;
import dev.drkit.RestoreRequest;
import dev.drkit.Settings;
import dev.drkit.TargetSpec;
import dev.drkit.VerifyLevel;
import dev.drkit.VerifyReport;
import dev.drkit.retention.GfsRetentionPolicy;
import dev.drkit.spi.BackupTarget;
import dev.drkit.spi.BackupTargetProvider;
import dev.drkit.spi.StorageBackend;
import dev.drkit.storage.FileStorageBackend;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.ServiceLoader;
import java.util.Set;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The contract every {@link BackupTarget} must meet, run through the {@link DrKit} facade on a
 * local repository. A subclass prepares source data, says how to restore into a named
 * destination (a directory, a database, a bucket, ...), and checks what arrived there.
 *
 * <p>What every target promises, and this suite checks: a backup writes artifacts and a
 * restore brings back the same content, also over an occupied destination when forced; a
 * restore refuses a destination holding data unless forced and then leaves it untouched; a
 * corrupt or truncated artifact fails the restore with the repository's exception, naming the
 * artifact, and leaves nothing at the destination; its capabilities are honest (a backup of a
 * {@link Capability#FULL} target restores on its own, one that depends on another backup
 * belongs to an {@link Capability#INCREMENTAL} target); a missing or unreachable source fails
 * the backup with a {@link ErrorCode#TARGET} error (not the repository's) naming the source,
 * and leaves no backup.
 *
 * <p>The rules are public methods so that a subclass can record a known violation by
 * overriding one with {@code @Test @Disabled("what fails and where it is reported")}; it never
 * overrides a rule to weaken it.
 */
public abstract class BackupTargetContract {
    @TempDir
    protected Path work;

    protected StorageBackend storage;
    protected DrKit kit;

    /** Creates the data to back up and returns the target that covers it. */
    protected abstract TargetSpec prepareSource(Path work) throws Exception;

    /** Restore options that put a restore into {@code destination} (a directory, database, ...). */
    protected abstract Settings restoreOptions(String destination);

    /** Asserts that {@code destination} holds exactly what {@link #prepareSource} created. */
    protected abstract void assertRestored(String destination) throws Exception;

    /** Puts live data into {@code destination}, which a restore must not overwrite unasked. */
    protected abstract void occupy(String destination) throws Exception;

    /** Asserts that {@code destination} still holds only what {@link #occupy} put there. */
    protected abstract void assertOccupiedUntouched(String destination) throws Exception;

    /** Asserts that {@code destination} holds no restored data at all. */
    protected abstract void assertNothingRestored(String destination) throws Exception;

    /**
     * A target of the same type whose source is missing or unreachable (a path that does not
     * exist, a closed port, a bucket that does not exist), and what its error must name.
     */
    protected abstract UnreachableSource unreachableSource() throws Exception;

    /**
     * A source a backup cannot read.
     *
     * @param spec the target over it
     * @param named what the error must name so that a person finds the source: the path, the
     *        host and port, the bucket
     */
    public record UnreachableSource(TargetSpec spec, String named) {}

    /**
     * The target under test, created from {@code spec} as the kit would; by default through the
     * {@link BackupTargetProvider} of its type found by {@link ServiceLoader}.
     */
    protected BackupTarget newTarget(TargetSpec spec) throws Exception {
        return provider(spec).create(spec.settings());
    }

    /** The provider of the target type under test; by default found by {@link ServiceLoader}. */
    protected BackupTargetProvider provider(TargetSpec spec) {
        for (BackupTargetProvider p : ServiceLoader.load(BackupTargetProvider.class)) {
            if (p.type().equals(spec.type())) {
                return p;
            }
        }
        throw new AssertionError("no provider of target type " + spec.type() + " on the class path");
    }

    /** A destination name unique within the test. */
    protected String destination(String name) {
        return work.resolve("restore-" + name).toString();
    }

    /** Adjusts the kit under test (encryption, compression, ...); the default changes nothing. */
    protected DrKit.Builder configure(DrKit.Builder builder) throws Exception {
        return builder;
    }

    /** The repository's storage; a local directory by default. */
    protected StorageBackend newStorage(Path work) throws Exception {
        return new FileStorageBackend(work.resolve("repo"));
    }

    @BeforeEach
    void openKit() throws Exception {
        storage = newStorage(work);
        kit = configure(DrKit.builder().storage(storage)).build();
    }

    @AfterEach
    void closeKit() {
        kit.close();
    }

    @Test
    public void backupThenRestoreGivesBackTheSource() throws Exception {
        TargetSpec spec = prepareSource(work);
        BackupResult backup = kit.backup(spec);

        assertThat(kit.list(spec.name())).extracting(BackupManifest::id).containsExactly(backup.id());
        assertThat(backup.manifest().artifacts()).isNotEmpty();
        kit.restore(new RestoreRequest(spec.name(), backup.id(), restoreOptions(destination("a")), false));
        assertRestored(destination("a"));
    }

    @Test
    public void forcedRestoreReplacesAnOccupiedDestination() throws Exception {
        TargetSpec spec = prepareSource(work);
        BackupResult backup = kit.backup(spec);
        occupy(destination("forced"));

        kit.restore(new RestoreRequest(spec.name(), backup.id(), restoreOptions(destination("forced")), true));
        assertRestored(destination("forced"));
    }

    @Test
    public void capabilitiesAreHonest() throws Exception {
        TargetSpec spec = prepareSource(work);
        BackupTarget target = newTarget(spec);
        Set<Capability> capabilities = target.capabilities();
        assertThat(target.type()).isEqualTo(spec.type());

        BackupResult first = kit.backup(spec);
        BackupResult second = kit.backup(spec);
        assertThat(first.manifest().type()).isEqualTo(spec.type());
        assertThat(capabilities).as("every built-in target takes full backups").contains(Capability.FULL);
        assertThat(first.manifest().parent())
                .as("the first backup of a FULL target stands alone")
                .isNull();
        BackupTargetProvider type = provider(spec);
        assertThat(type.dependencies(first.manifest())).isEmpty();
        if (!type.dependencies(second.manifest()).isEmpty()) {
            assertThat(capabilities)
                    .as("backup " + second.id() + " depends on " + type.dependencies(second.manifest()))
                    .contains(Capability.INCREMENTAL);
        }
        kit.restore(new RestoreRequest(spec.name(), second.id(), restoreOptions(destination("second")), false));
        assertRestored(destination("second"));
    }

    @Test
    public void unreachableSourceFailsAsTheTargetsErrorAndLeavesNoBackup() throws Exception {
        UnreachableSource source = unreachableSource();
        TargetSpec spec = source.spec();

        assertThatThrownBy(() -> kit.backup(spec))
                .isInstanceOfSatisfying(
                        DrException.class,
                        e -> assertThat(e.code()).as(e.getMessage()).isEqualTo(ErrorCode.TARGET))
                .hasMessageContaining(source.named());
        assertThat(kit.list(spec.name())).isEmpty();
        assertThat(storage.list("backups/" + spec.name() + "/")).isEmpty();
    }

    @Test
    public void freshBackupPassesDecodeVerification() throws Exception {
        TargetSpec spec = prepareSource(work);
        BackupResult backup = kit.backup(spec);

        VerifyReport report = kit.verify(spec.name(), backup.id(), VerifyLevel.DECODE);
        assertThat(report.problems()).isEmpty();
        assertThat(report.passed()).isTrue();
        assertThat(report.results()).extracting(r -> r.verifier()).contains("checksum", "decode");
    }

    @Test
    public void flippedByteIsDetectedAndRestoreLeavesNothing() throws Exception {
        TargetSpec spec = prepareSource(work);
        BackupResult backup = kit.backup(spec);
        ArtifactInfo artifact = backup.manifest().artifacts().get(0);
        Corruptor.flipByte(storage, objectKey(backup.manifest(), artifact), artifact.storedSize() / 2);

        VerifyReport report = kit.verify(spec.name(), backup.id(), VerifyLevel.CHECKSUM);
        assertThat(report.passed()).isFalse();
        assertThat(String.join("\n", report.problems())).contains(artifact.storedName());

        assertThatThrownBy(() -> kit.restore(
                        new RestoreRequest(spec.name(), backup.id(), restoreOptions(destination("corrupt")), false)))
                .isInstanceOf(ChecksumMismatchException.class)
                .hasMessageContaining(artifact.storedName());
        assertNothingRestored(destination("corrupt"));
    }

    @Test
    public void truncatedArtifactIsDetected() throws Exception {
        TargetSpec spec = prepareSource(work);
        BackupResult backup = kit.backup(spec);
        ArtifactInfo artifact = backup.manifest().artifacts().get(0);
        Corruptor.truncate(storage, objectKey(backup.manifest(), artifact), artifact.storedSize() - 7);

        assertThat(kit.verify(spec.name(), backup.id(), VerifyLevel.DECODE).passed())
                .isFalse();
        assertThatThrownBy(() -> kit.restore(
                        new RestoreRequest(spec.name(), backup.id(), restoreOptions(destination("truncated")), false)))
                .isInstanceOf(DrException.class)
                .hasMessageContaining(artifact.storedName());
        assertNothingRestored(destination("truncated"));
    }

    /**
     * Whether the target restores online by merging into an occupied destination (see {@link
     * dev.drkit.spi.BackupTarget#restore}) rather than refusing it; such a target implements
     * {@link #assertOccupiedKeptBesideRestored}.
     */
    protected boolean mergesIntoOccupiedDestination() {
        return false;
    }

    /**
     * For a merging target: asserts that what {@link #occupy} wrote after the backup is still there
     * unchanged, and that the backup's other data was restored beside it.
     */
    protected void assertOccupiedKeptBesideRestored(String destination) throws Exception {
        throw new UnsupportedOperationException("a merging target's contract test implements this");
    }

    @Test
    public void occupiedDestinationIsRefusedWithoutForce() throws Exception {
        TargetSpec spec = prepareSource(work);
        BackupResult backup = kit.backup(spec);
        occupy(destination("occupied"));
        RestoreRequest unforced =
                new RestoreRequest(spec.name(), backup.id(), restoreOptions(destination("occupied")), false);

        if (mergesIntoOccupiedDestination()) {
            kit.restore(unforced);
            assertOccupiedKeptBesideRestored(destination("occupied"));
            return;
        }
        assertThatThrownBy(() -> kit.restore(unforced)).isInstanceOf(DestinationNotEmptyException.class);
        assertOccupiedUntouched(destination("occupied"));
    }

    @Test
    public void backupWithoutManifestIsNeitherListedNorRestorable() throws Exception {
        TargetSpec spec = prepareSource(work);
        BackupResult kept = kit.backup(spec);
        BackupResult broken = kit.backup(spec);
        // as a backup killed before its last step leaves it (a manifest lost later, with its
        // checksum file still there, is damaged rather than incomplete)
        storage.delete(objectKey(broken.manifest(), "manifest.json"));
        storage.delete(objectKey(broken.manifest(), "manifest.json.sha256"));

        assertThat(kit.list(spec.name())).extracting(BackupManifest::id).containsExactly(kept.id());
        assertThat(kit.manifest(spec.name(), null).id()).isEqualTo(kept.id());
        var pruned = kit.prune(spec.name(), GfsRetentionPolicy.builder().build(), false);
        assertThat(pruned.incompleteRemoved().get(spec.name())).containsExactly(broken.id());
        assertThat(storage.list("backups/" + spec.name() + "/" + broken.id() + "/"))
                .isEmpty();
    }

    @Test
    public void newestBackupIsTheLastTakenEvenWithinOneSecond() throws Exception {
        TargetSpec spec = prepareSource(work);
        List<String> ids = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            ids.add(kit.backup(spec).id());
        }
        assertThat(kit.list(spec.name())).extracting(BackupManifest::id).containsExactlyElementsOf(ids);
        assertThat(kit.manifest(spec.name(), null).id()).isEqualTo(ids.get(2));
    }

    /** The storage key of an artifact. */
    protected static String objectKey(BackupManifest m, ArtifactInfo a) {
        return objectKey(m, a.storedName());
    }

    protected static String objectKey(BackupManifest m, String fileName) {
        return "backups/" + m.target() + "/" + m.id() + "/" + fileName;
    }

    /** Damages stored objects through the storage SPI, the way bit rot or tampering would. */
    public static final class Corruptor {
        private Corruptor() {}

        /** Flips every bit of the byte at {@code offset}. */
        public static void flipByte(StorageBackend storage, String key, long offset) throws IOException {
            byte[] data = read(storage, key);
            data[(int) offset] ^= (byte) 0xff;
            replace(storage, key, data);
        }

        /** Cuts the object to {@code length} bytes. */
        public static void truncate(StorageBackend storage, String key, long length) throws IOException {
            byte[] data = read(storage, key);
            replace(storage, key, Arrays.copyOf(data, (int) length));
        }

        private static byte[] read(StorageBackend storage, String key) throws IOException {
            try (InputStream in = storage.open(key, 0)) {
                return in.readAllBytes();
            }
        }

        private static void replace(StorageBackend storage, String key, byte[] data) throws IOException {
            storage.delete(key);
            storage.createIfAbsent(key, data);
        }
    }
}
