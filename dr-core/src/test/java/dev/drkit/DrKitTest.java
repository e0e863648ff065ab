package dev.drkit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.drkit.retention.GfsRetentionPolicy;
import dev.drkit.spi.BackupContext;
import dev.drkit.spi.BackupTarget;
import dev.drkit.spi.BackupTargetProvider;
import dev.drkit.spi.ObjectInfo;
import dev.drkit.spi.ObjectUpload;
import dev.drkit.spi.RestoreContext;
import dev.drkit.spi.StorageBackend;
import dev.drkit.spi.VerificationContext;
import dev.drkit.spi.Verifier;
import dev.drkit.spi.VerifierProvider;
import dev.drkit.spi.support.FileTrees;
import dev.drkit.storage.FileStorageBackend;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.SocketException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class DrKitTest {
    @TempDir
    Path dir;

    /** A target that writes its settings' {@code content}, builds on its previous backup when asked, or fails. */
    static final class MemoryTarget implements BackupTarget {
        static final List<String> RESTORED = new ArrayList<>();
        private final Settings settings;

        MemoryTarget(Settings settings) {
            this.settings = settings;
        }

        @Override
        public String type() {
            return "memory";
        }

        @Override
        public Set<Capability> capabilities() {
            return EnumSet.of(Capability.FULL, Capability.INCREMENTAL);
        }

        @Override
        public void backup(BackupContext context) throws IOException {
            if (settings.bool("incremental", false)) {
                context.kind("incremental");
                context.parent(context.previous().orElseThrow().id());
            }
            if (settings.has("block-repository")) {
                // a file where the repository stages uploads: storing the artifact fails as the repository's
                Path staging = Path.of(settings.get("block-repository", "")).resolve(".drkit-tmp");
                FileTrees.delete(staging);
                Files.writeString(staging, "in the way");
            }
            try (OutputStream out = context.newArtifact("data.bin")) {
                out.write(settings.get("content", "").getBytes(StandardCharsets.UTF_8));
                if (settings.bool("source-fails", false)) {
                    // as a target that lets its source's I/O failure through unwrapped
                    throw new SocketException("Connection reset by the memory source");
                }
                if (settings.bool("fail", false)) {
                    // a target reports its own source's failures; a bare IOException means the repository's
                    throw new DrException(
                            DrException.ErrorCode.TARGET,
                            "reading the memory source failed: " + "source went away; check the source");
                }
            }
            context.metadata("length", settings.get("content", "").length());
            if (settings.has("clock-advances") && context.clock() instanceof MutableClock clock) {
                // a backup that outlasts its lock's lease while renewals fail (or a clock stepped forward)
                clock.advance(Duration.parse(settings.get("clock-advances", "")));
            }
        }

        @Override
        public void restore(RestoreContext context) throws IOException {
            try (InputStream in = context.openArtifact("data.bin")) {
                String content = new String(in.readAllBytes(), StandardCharsets.UTF_8);
                if (context.options().bool("destination-full", false)) {
                    throw new IOException("No space left on device");
                }
                RESTORED.add(content);
            }
        }
    }

    static final class MemoryProvider implements BackupTargetProvider {
        @Override
        public String type() {
            return "memory";
        }

        @Override
        public BackupTarget create(Settings settings) {
            return new MemoryTarget(settings);
        }

        @Override
        public List<String> archiveAreas() {
            return List.of("wal"); // as PostgreSQL's backups keep their WAL beside them
        }
    }

    /** A verifier whose own work fails (its scratch server resets the connection). */
    static final class BrokenScratchVerifier implements VerifierProvider {
        @Override
        public String name() {
            return "broken-scratch";
        }

        @Override
        public VerifyLevel level() {
            return VerifyLevel.RESTORE;
        }

        @Override
        public boolean supports(String targetType) {
            return true;
        }

        @Override
        public Verifier create(Settings settings) {
            return new Verifier() {
                @Override
                public String name() {
                    return "broken-scratch";
                }

                @Override
                public VerificationResult verify(VerificationContext context) throws IOException {
                    throw new SocketException("Connection reset");
                }
            };
        }
    }

    @Test
    void aVerifiersOwnIoFailureIsTheVerifiersNotTheRepositorysStorage() {
        List<DrEvent> events = new ArrayList<>();
        try (DrKit kit = DrKit.builder()
                .repository(dir.resolve("repo").toString())
                .register(new MemoryProvider())
                .register(new BrokenScratchVerifier())
                .build()) {
            BackupResult r = kit.backup(spec("content", "abc"));
            assertThatThrownBy(() -> kit.verify("mem", r.id(), VerifyLevel.RESTORE))
                    .isInstanceOfSatisfying(DrException.class, e -> {
                        assertThat(e.code()).isEqualTo(DrException.ErrorCode.TARGET);
                        assertThat(e).isNotInstanceOf(StorageException.class);
                    })
                    .hasMessageContaining("broken-scratch")
                    .hasMessageContaining("Connection reset")
                    .hasMessageNotContaining("repository's storage");
        }
    }

    /** A restore test that reports the time to a validated restore it measured. */
    static final class TimedRestoreVerifier implements VerifierProvider {
        @Override
        public String name() {
            return "timed-restore";
        }

        @Override
        public VerifyLevel level() {
            return VerifyLevel.RESTORE;
        }

        @Override
        public boolean supports(String targetType) {
            return true;
        }

        @Override
        public Verifier create(Settings settings) {
            return new Verifier() {
                @Override
                public String name() {
                    return "timed-restore";
                }

                @Override
                public VerificationResult verify(VerificationContext context) {
                    return new VerificationResult(
                            "timed-restore",
                            VerificationResult.Status.PASSED,
                            List.of(),
                            Duration.ofSeconds(3),
                            Map.of("restoreSeconds", 2.5));
                }
            };
        }
    }

    @Test
    void outcomeEventsCarryTheTargetTypeTheDurationAndTheMeasuredRestoreTime() {
        List<DrEvent> events = new ArrayList<>();
        try (DrKit kit = DrKit.builder()
                .repository(dir.resolve("repo").toString())
                .register(new MemoryProvider())
                .register(new TimedRestoreVerifier())
                .listener(new DrListener() {
                    @Override
                    public void onEvent(DrEvent event) {
                        events.add(event);
                    }
                })
                .build()) {
            BackupResult r = kit.backup(spec("content", "hello"));
            assertThatThrownBy(() -> kit.backup(spec("content", "x", "fail", "true")))
                    .isInstanceOf(DrException.class);
            kit.verify("mem", r.id(), VerifyLevel.CHECKSUM);
            kit.verify("mem", r.id(), VerifyLevel.RESTORE);
            kit.restore(new RestoreRequest("mem", r.id(), Settings.empty(), false));
            assertThatThrownBy(() -> kit.restore(
                            new RestoreRequest("mem", r.id(), Settings.of(Map.of("destination-full", "true")), false)))
                    .isInstanceOf(DrException.class);

            Map<DrEvent.Type, List<Map<String, Object>>> details = events.stream()
                    .collect(Collectors.groupingBy(
                            DrEvent::type, Collectors.mapping(DrEvent::details, Collectors.toList())));
            assertThat(details.get(DrEvent.Type.BACKUP_SUCCEEDED).get(0))
                    .containsEntry(DrEvent.TARGET_TYPE, "memory")
                    .containsEntry(DrEvent.RAW_BYTES, 5L)
                    .hasEntrySatisfying(
                            DrEvent.SECONDS, s -> assertThat((Double) s).isPositive());
            assertThat(details.get(DrEvent.Type.BACKUP_FAILED).get(0))
                    .containsEntry(DrEvent.TARGET_TYPE, "memory")
                    .containsEntry(DrEvent.CODE, "TARGET")
                    .hasEntrySatisfying(
                            DrEvent.SECONDS, s -> assertThat((Double) s).isPositive());
            assertThat(details.get(DrEvent.Type.VERIFY_SUCCEEDED).get(0))
                    .containsEntry(DrEvent.TARGET_TYPE, "memory")
                    .containsEntry(DrEvent.LEVEL, "CHECKSUM")
                    .containsKey(DrEvent.SECONDS)
                    .doesNotContainKey(DrEvent.RESTORE_TEST_SECONDS);
            assertThat(details.get(DrEvent.Type.VERIFY_SUCCEEDED).get(1))
                    .containsEntry(DrEvent.LEVEL, "RESTORE")
                    .hasEntrySatisfying(
                            DrEvent.SECONDS, s -> assertThat((Double) s).isGreaterThanOrEqualTo(3.0))
                    .containsEntry(DrEvent.RESTORE_TEST_SECONDS, 2.5);
            assertThat(kit.status(Map.of()).targets().get(0).lastRestoreTestSeconds())
                    .isEqualTo(2.5);
            assertThat(details.get(DrEvent.Type.RESTORE_SUCCEEDED).get(0))
                    .containsEntry(DrEvent.TARGET_TYPE, "memory")
                    .hasEntrySatisfying(
                            DrEvent.SECONDS, s -> assertThat((Double) s).isPositive());
            assertThat(details.get(DrEvent.Type.RESTORE_FAILED).get(0))
                    .containsEntry(DrEvent.TARGET_TYPE, "memory")
                    .containsKey(DrEvent.SECONDS);
        }
    }

    /** A target the host builds itself, which remembers what it restored. */
    static class HostTarget implements BackupTarget {
        final String source;
        final List<String> restored = new ArrayList<>();

        HostTarget(String source) {
            this.source = source;
        }

        @Override
        public String type() {
            return "memory";
        }

        @Override
        public Set<Capability> capabilities() {
            return EnumSet.of(Capability.FULL);
        }

        @Override
        public void backup(BackupContext context) throws IOException {
            try (OutputStream out = context.newArtifact("data.bin")) {
                out.write(source.getBytes(StandardCharsets.UTF_8));
            }
        }

        @Override
        public void restore(RestoreContext context) throws IOException {
            try (InputStream in = context.openArtifact("data.bin")) {
                restored.add(new String(in.readAllBytes(), StandardCharsets.UTF_8));
            }
        }
    }

    @Test
    void aConfiguredTargetBacksUpAndRestoresThroughTheSameInstance() {
        HostTarget hosts = new HostTarget("from the host's own client");
        try (DrKit kit = DrKit.builder()
                .repository(dir.resolve("repo").toString())
                .register(new MemoryProvider())
                .target("orders", hosts)
                .build()) {
            BackupResult r = kit.backup("orders");
            assertThat(r.manifest().type()).isEqualTo("memory");
            MemoryTarget.RESTORED.clear();
            kit.restore(RestoreRequest.latest("orders", Settings.empty()));
            assertThat(hosts.restored).containsExactly("from the host's own client");
            assertThat(MemoryTarget.RESTORED)
                    .as("no second, unconfigured instance")
                    .isEmpty();

            assertThatThrownBy(() -> kit.backup("nobody"))
                    .isInstanceOf(ConfigException.class)
                    .hasMessageContaining("'nobody'")
                    .hasMessageContaining("DrKit.Builder.target");
        }
    }

    @Test
    void aConfiguredTargetOfAnotherTypeRefusesToRestoreABackupOfThatName() {
        try (DrKit kit = kit(new ArrayList<>())) {
            kit.backup(spec("content", "abc")); // target "mem", type memory
        }
        BackupTarget other = new HostTarget("x") {
            @Override
            public String type() {
                return "files";
            }
        };
        try (DrKit kit = DrKit.builder()
                .repository(dir.resolve("repo").toString())
                .register(new MemoryProvider())
                .target("mem", other)
                .build()) {
            assertThatThrownBy(() -> kit.restore(RestoreRequest.latest("mem", Settings.empty())))
                    .isInstanceOf(ConfigException.class)
                    .hasMessageContaining("configured as a files target")
                    .hasMessageContaining("of type memory");
        }
    }

    private DrKit kit(List<DrEvent> events) {
        return DrKit.builder()
                .repository(dir.resolve("repo").toString())
                .register(new MemoryProvider())
                .listener(new DrListener() {
                    @Override
                    public void onEvent(DrEvent event) {
                        events.add(event);
                    }
                })
                .build();
    }

    private static TargetSpec spec(String... kv) {
        Settings.Builder b = Settings.builder();
        for (int i = 0; i < kv.length; i += 2) {
            b.set(kv[i], kv[i + 1]);
        }
        return new TargetSpec("mem", "memory", b.build());
    }

    @Test
    void failedBackupLeavesNothingAndReportsTheFailure() throws IOException {
        List<DrEvent> events = new ArrayList<>();
        try (DrKit kit = kit(events)) {
            assertThatThrownBy(() -> kit.backup(spec("content", "x".repeat(100_000), "fail", "true")))
                    .isInstanceOf(DrException.class)
                    .isNotInstanceOf(StorageException.class)
                    .hasMessageContaining("source went away")
                    .hasMessageNotContaining("repository")
                    .extracting(e -> ((DrException) e).code())
                    .isEqualTo(DrException.ErrorCode.TARGET);
            assertThat(kit.list("mem")).isEmpty();
        }
        try (var s = Files.walk(dir.resolve("repo"))) {
            assertThat(s.filter(Files::isRegularFile)
                            .map(p -> dir.resolve("repo").relativize(p).toString()))
                    .containsExactlyInAnyOrder("drkit-repository.json", "drkit-repository.json.sha256");
        }
        assertThat(events)
                .extracting(DrEvent::type)
                .containsExactly(DrEvent.Type.BACKUP_STARTED, DrEvent.Type.BACKUP_FAILED);
    }

    @Test
    void aBackupWhoseLockLapsedWritesNoManifest() throws IOException {
        MutableClock clock = new MutableClock(Instant.parse("2026-12-04T10:00:00Z"));
        try (DrKit kit = DrKit.builder()
                .repository(dir.resolve("repo").toString())
                .register(new MemoryProvider())
                .clock(clock)
                .build()) {
            // the default lease is minutes long: an hour without a renewal that landed is past it
            assertThatThrownBy(() -> kit.backup(spec("content", "x", "clock-advances", "PT1H")))
                    .isInstanceOf(RepositoryLockedException.class)
                    .hasMessageContaining("lock 'mem'")
                    .hasMessageContaining("no longer held")
                    .hasMessageContaining("stopped before writing the manifest of backup");
            assertThat(kit.list("mem")).isEmpty();
            assertThat(kit.backup(spec("content", "y")).manifest().metadata()).containsEntry("length", 1);
            assertThat(kit.list("mem")).hasSize(1);
        }
    }

    @Test
    void aRepositoryWriteFailureDuringABackupIsAStorageError() throws IOException {
        try (DrKit kit = kit(new ArrayList<>())) {
            assertThatThrownBy(() -> kit.backup(spec(
                            "content",
                            "x",
                            "block-repository",
                            dir.resolve("repo").toString())))
                    .isInstanceOf(StorageException.class)
                    .hasMessageContaining(".drkit-tmp");
            assertThat(kit.list("mem")).isEmpty();
        }
    }

    @Test
    void aPlainIOExceptionOfTheTargetIsASourceFailureNotTheRepositorys() throws IOException {
        List<DrEvent> events = new ArrayList<>();
        try (DrKit kit = kit(events)) {
            assertThatThrownBy(() -> kit.backup(spec("content", "x".repeat(100_000), "source-fails", "true")))
                    .isExactlyInstanceOf(DrException.class)
                    .hasMessageStartingWith("backup of mem failed while reading its source: Connection reset by the "
                            + "memory source; check that the source is reachable and readable")
                    .hasMessageNotContaining("repository")
                    .extracting(e -> ((DrException) e).code())
                    .isEqualTo(DrException.ErrorCode.TARGET);
            assertThat(kit.list("mem")).isEmpty();
        }
        assertThat(events)
                .extracting(DrEvent::type)
                .containsExactly(DrEvent.Type.BACKUP_STARTED, DrEvent.Type.BACKUP_FAILED);
    }

    @Test
    void aStorageThatFailsPlainlyDuringABackupIsTheRepositorysFailureWithItsRetryability() throws IOException {
        FileStorageBackend files = new FileStorageBackend(dir.resolve("full"));
        try (DrKit kit = DrKit.builder()
                .storage(new FullDisk(files))
                .register(new MemoryProvider())
                .build()) {
            assertThatThrownBy(() -> kit.backup(spec("content", "x".repeat(100_000))))
                    .isInstanceOf(StorageException.class)
                    .hasMessageContaining("No space left on device")
                    .hasMessageContaining("free space")
                    .satisfies(e -> assertThat(((DrException) e).retryable()).isFalse());
            assertThat(kit.list("mem")).isEmpty();
        }
    }

    @Test
    void aFullRestoreDestinationIsTheTargetsFailureNotTheRepositorys() {
        try (DrKit kit = kit(new ArrayList<>())) {
            BackupResult r = kit.backup(spec("content", "hello"));
            assertThatThrownBy(() -> kit.restore(new RestoreRequest(
                            "mem",
                            r.id(),
                            Settings.builder().set("destination-full", "true").build(),
                            false)))
                    .isExactlyInstanceOf(DrException.class)
                    .hasMessageStartingWith("restore of mem/" + r.id() + " failed while writing its destination: "
                            + "No space left on device; check that the destination")
                    .hasMessageNotContaining("repository")
                    .extracting(e -> ((DrException) e).code())
                    .isEqualTo(DrException.ErrorCode.TARGET);
        }
    }

    /** A disk that fills up as soon as a backup's artifact is written: its uploads fail as a file system does. */
    static final class FullDisk implements StorageBackend {
        private final StorageBackend disk;

        FullDisk(StorageBackend disk) {
            this.disk = disk;
        }

        @Override
        public String describe() {
            return disk.describe();
        }

        @Override
        public ObjectUpload create(String key) throws IOException {
            ObjectUpload upload = disk.create(key);
            return new ObjectUpload() {
                @Override
                public OutputStream stream() {
                    return new OutputStream() {
                        @Override
                        public void write(int b) throws IOException {
                            throw new IOException("No space left on device");
                        }
                    };
                }

                @Override
                public ObjectInfo commit() throws IOException {
                    return upload.commit();
                }

                @Override
                public void close() throws IOException {
                    upload.close();
                }
            };
        }

        @Override
        public boolean createIfAbsent(String key, byte[] content) throws IOException {
            return disk.createIfAbsent(key, content);
        }

        @Override
        public InputStream open(String key, long offset) throws IOException {
            return disk.open(key, offset);
        }

        @Override
        public Optional<ObjectInfo> stat(String key) throws IOException {
            return disk.stat(key);
        }

        @Override
        public List<ObjectInfo> list(String prefix) throws IOException {
            return disk.list(prefix);
        }

        @Override
        public void delete(String key) throws IOException {
            disk.delete(key);
        }
    }

    @Test
    void metadataAndKindReachTheManifestAndRestoreReadsBack() {
        try (DrKit kit = kit(new ArrayList<>())) {
            BackupResult r = kit.backup(spec("content", "hello"));
            assertThat(r.manifest().metadata()).containsEntry("length", 5);
            assertThat(r.manifest().kind()).isEqualTo("full");
            assertThat(r.manifest().artifacts().get(0).codecs()).containsExactly("zstd");
            MemoryTarget.RESTORED.clear();
            kit.restore(new RestoreRequest("mem", r.id(), Settings.empty(), false));
            assertThat(MemoryTarget.RESTORED).containsExactly("hello");
        }
    }

    @Test
    void pruneNeverExpiresWhatAKeptBackupDependsOn() {
        try (DrKit kit = kit(new ArrayList<>())) {
            BackupResult base = kit.backup(spec("content", "full"));
            BackupResult incr = kit.backup(spec("content", "delta", "incremental", "true"));
            assertThat(incr.manifest().parent()).isEqualTo(base.id());

            PruneResult r =
                    kit.prune("mem", GfsRetentionPolicy.builder().keepLast(1).build(), false);

            assertThat(r.deleted().get("mem")).isEmpty();
            RetentionPlan.Decision parent = r.plans().get("mem").decisions().get(1);
            assertThat(parent.backupId()).isEqualTo(base.id());
            assertThat(parent.keep()).isTrue();
            assertThat(parent.reasons()).containsExactly("needed by kept backup " + incr.id());
            assertThat(kit.list("mem")).hasSize(2);

            BackupResult full = kit.backup(spec("content", "full again"));
            PruneResult after =
                    kit.prune("mem", GfsRetentionPolicy.builder().keepLast(1).build(), false);
            assertThat(after.deleted().get("mem")).containsExactlyInAnyOrder(base.id(), incr.id());
            assertThat(kit.list("mem")).extracting(BackupManifest::id).containsExactly(full.id());
        }
    }

    @Test
    void everyCodecRoundTripsThroughTheFacade() {
        for (String codec : List.of("zstd", "gzip", "lz4", "xz", "none")) {
            try (DrKit kit = DrKit.builder()
                    .repository(dir.resolve("repo-" + codec).toString())
                    .register(new MemoryProvider())
                    .compression(codec)
                    .build()) {
                BackupResult r = kit.backup(spec("content", "payload ".repeat(1000)));
                assertThat(kit.verify("mem", r.id(), VerifyLevel.DECODE).passed())
                        .as(codec)
                        .isTrue();
                MemoryTarget.RESTORED.clear();
                kit.restore(new RestoreRequest("mem", null, Settings.empty(), false));
                assertThat(MemoryTarget.RESTORED).containsExactly("payload ".repeat(1000));
            }
        }
    }

    @Test
    void missingBackupSaysWhereToLook() {
        try (DrKit kit = kit(new ArrayList<>())) {
            kit.backup(spec("content", "x"));
            assertThatThrownBy(() -> kit.manifest("mem", "20250101T000000Z-abcdef"))
                    .isInstanceOf(BackupNotFoundException.class)
                    .hasMessageContaining("no backup '20250101T000000Z-abcdef'")
                    .hasMessageContaining("(DrKit.list)"); // the API term the CLI says as 'drkit list'
            assertThatThrownBy(() -> kit.manifest("none", null))
                    .isInstanceOf(BackupNotFoundException.class)
                    .hasMessageContaining("target 'none' has no complete backup")
                    .hasMessageContaining("(DrKit.list)");
            assertThatThrownBy(() -> kit.manifest("mem", "latest"))
                    .isInstanceOf(ConfigException.class)
                    .hasMessageContaining("not a backup id");
        }
    }

    @Test
    void newerRepositoryFormatIsRefused() throws IOException {
        Path repo = Files.createDirectories(dir.resolve("future"));
        Files.writeString(repo.resolve("drkit-repository.json"), "{\"format\": 99, \"id\": \"x\"}");
        assertThatThrownBy(() ->
                        DrKit.builder().repository(repo.toString()).build().list(null))
                .isInstanceOf(DrException.class)
                .hasMessageContaining("upgrade drkit")
                .extracting(e -> ((DrException) e).code())
                .isEqualTo(DrException.ErrorCode.REPOSITORY_FORMAT);
    }
}
