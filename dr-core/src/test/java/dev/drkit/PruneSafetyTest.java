package dev.drkit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.drkit.retention.GfsRetentionPolicy;
import dev.drkit.spi.BackupContext;
import dev.drkit.spi.BackupTarget;
import dev.drkit.spi.BackupTargetProvider;
import dev.drkit.spi.FileArchive;
import dev.drkit.spi.RestoreContext;
import dev.drkit.spi.StorageBackend;
import dev.drkit.storage.FileStorageBackend;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.EnumSet;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Prune keeps what kept and running backups need: retention with dependencies, damaged and incomplete backups, archive pruning. */
class PruneSafetyTest {
    @TempDir
    Path dir;

    /**
     * A target that stores its setting {@code content}, builds on the newest backup with
     * {@code incremental}, records its setting {@code start} as where its "WAL" begins, and puts
     * the archive files named in {@code wal} (comma separated) under {@code c/}.
     */
    static final class ChainTarget implements BackupTarget {
        /** A backup with setting {@code block} counts this down once its data is written, then waits for {@link #RELEASE}. */
        static volatile CountDownLatch entered = new CountDownLatch(1);

        static volatile CountDownLatch RELEASE = new CountDownLatch(1);

        private final Settings settings;
        private final String type;

        ChainTarget(Settings settings, String type) {
            this.settings = settings;
            this.type = type;
        }

        @Override
        public String type() {
            return type;
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
            try (OutputStream out = context.newArtifact("data.bin")) {
                out.write(settings.get("content", "").getBytes(StandardCharsets.UTF_8));
            }
            if (settings.has("start")) {
                context.metadata("start", settings.get("start", ""));
            }
            if (settings.bool("block", false)) {
                entered.countDown();
                try {
                    RELEASE.await(30, TimeUnit.SECONDS);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new IOException(e);
                }
            }
            if (settings.has("wal")) {
                FileArchive wal = context.archive("wal");
                for (String name : settings.get("wal", "").split(",")) {
                    wal.put("c/" + name, new ByteArrayInputStream(name.getBytes(StandardCharsets.UTF_8)), s -> true);
                }
            }
        }

        @Override
        public void restore(RestoreContext context) throws IOException {
            try (InputStream in = context.openArtifact("data.bin")) {
                in.readAllBytes();
            }
        }
    }

    /** As PostgreSQL's WalPruning: archive files named before the oldest kept backup's {@code start} go. */
    static final class ChainProvider implements BackupTargetProvider {
        private final String type;

        ChainProvider() {
            this("chain");
        }

        /** The same target under another type name: a type whose archive is not chain's. */
        ChainProvider(String type) {
            this.type = type;
        }

        @Override
        public String type() {
            return type;
        }

        @Override
        public BackupTarget create(Settings settings) {
            return new ChainTarget(settings, type);
        }

        @Override
        public List<String> archiveAreas() {
            return List.of("wal");
        }

        @Override
        public List<String> pruneArchive(
                List<BackupManifest> kept, Function<String, FileArchive> archives, boolean dryRun) throws IOException {
            String oldest = kept.stream()
                    .map(m -> (String) m.metadata().get("start"))
                    .filter(s -> s != null)
                    .min(String::compareTo)
                    .orElse(null);
            if (oldest == null) {
                return List.of();
            }
            FileArchive archive = archives.apply("wal");
            List<String> doomed = new ArrayList<>();
            for (String path : archive.list("c/")) {
                if (path.substring(2).compareTo(oldest) < 0) {
                    doomed.add(path);
                }
            }
            if (!dryRun) {
                archive.deleteAll(doomed);
            }
            return doomed;
        }
    }

    private DrKit kit(MutableClock clock) {
        DrKit.Builder b = DrKit.builder()
                .repository(dir.resolve("repo").toString())
                .register(new ChainProvider())
                .register(new ChainProvider("other"));
        return clock == null ? b.build() : b.clock(clock).build();
    }

    private static TargetSpec spec(String target, String... kv) {
        return typed("chain", target, kv);
    }

    private static TargetSpec typed(String type, String target, String... kv) {
        Settings.Builder b = Settings.builder();
        for (int i = 0; i < kv.length; i += 2) {
            b.set(kv[i], kv[i + 1]);
        }
        return new TargetSpec(target, type, b.build());
    }

    private static Set<String> union(Collection<List<String>> lists) {
        Set<String> all = new TreeSet<>();
        lists.forEach(all::addAll);
        return all;
    }

    private Path backupDir(String target, String id) {
        return dir.resolve("repo").resolve("backups").resolve(target).resolve(id);
    }

    /**
     * Two targets back up one cluster into one archive (the case pruneArchive's "every complete
     * backup of this type, whatever its target name" is there for). A dry run must report the
     * archive files the real run removes.
     */
    @Test
    void dryRunReportsTheArchiveFilesTheRealRunRemoves() {
        try (DrKit kit = kit(null)) {
            kit.backup(spec("a", "content", "a1", "start", "05", "wal", "01,06,11,31,41"));
            kit.backup(spec("b", "content", "b1", "start", "10"));
            kit.backup(spec("a", "content", "a2", "start", "30"));
            kit.backup(spec("b", "content", "b2", "start", "40"));
            GfsRetentionPolicy lastOne =
                    GfsRetentionPolicy.builder().keepLast(1).build();

            PruneResult dry = kit.prune(null, lastOne, true);
            PruneResult real = kit.prune(null, lastOne, false);

            assertThat(union(real.deleted().values()))
                    .isEqualTo(union(dry.deleted().values()));
            // the real run removes wal/c/11 (only b1, expired, needed it); the dry run never says so
            assertThat(union(dry.archiveRemoved().values()))
                    .as("archive files a dry run says it would remove")
                    .isEqualTo(union(real.archiveRemoved().values()));
        }
    }

    /**
     * A damaged incremental keeps what it may need: "nothing older than the newest damaged one
     * goes". Backup ids order by second, then by a random suffix, so a parent taken in the same
     * second as its damaged child may sort after it, and is then expired and deleted: once the
     * child's manifest is put back (from a copy), it cannot be restored.
     */
    @Test
    void theParentOfADamagedBackupInTheSameSecondIsKept() throws IOException {
        MutableClock clock = new MutableClock(Instant.parse("2025-01-03T02:00:00.100Z"));
        try (DrKit kit = kit(clock)) {
            String parent;
            String child;
            String t;
            for (int attempt = 0; ; attempt++) {
                t = "t" + attempt; // a new target each time, so that nothing else is in its way
                parent = kit.backup(spec(t, "content", "full")).id();
                clock.advance(Duration.ofMillis(300));
                child = kit.backup(spec(t, "content", "delta", "incremental", "true"))
                        .id();
                if (child.compareTo(parent) < 0) {
                    break; // the random suffixes put the child first
                }
                clock.advance(Duration.ofSeconds(1).minusMillis(300));
            }
            assertThat(kit.list(t)).extracting(BackupManifest::id).contains(parent, child);
            clock.advance(Duration.ofMinutes(1));
            String newest = kit.backup(spec(t, "content", "full again")).id();
            Files.writeString(backupDir(t, child).resolve("manifest.json"), "{ damaged");

            PruneResult r =
                    kit.prune(t, GfsRetentionPolicy.builder().keepLast(1).build(), false);

            assertThat(r.damaged().get(t)).extracting(DamagedBackup::id).containsExactly(child);
            assertThat(r.deleted().get(t))
                    .as("the damaged child %s needs its parent %s (same second, later id)", child, parent)
                    .doesNotContain(parent);
            assertThat(kit.list(t)).extracting(BackupManifest::id).contains(parent, newest);
        }
    }

    /**
     * A kept incremental names its parent; when the parent's manifest (and its checksum file) are
     * lost, the parent's folder looks like an interrupted backup, and prune deletes the data the
     * kept backup needs, which a copy of the manifest could otherwise have made whole again.
     */
    @Test
    void theArtifactsOfAKeptBackupsParentAreNotRemovedAsIncomplete() throws IOException {
        try (DrKit kit = kit(null)) {
            String parent = kit.backup(spec("t", "content", "full")).id();
            String child = kit.backup(spec("t", "content", "delta", "incremental", "true"))
                    .id();
            Path p = backupDir("t", parent);
            Files.delete(p.resolve("manifest.json"));
            Files.delete(p.resolve("manifest.json.sha256"));

            PruneResult r =
                    kit.prune("t", GfsRetentionPolicy.builder().keepLast(1).build(), false);

            assertThat(r.plans().get("t").kept())
                    .extracting(RetentionPlan.Decision::backupId)
                    .contains(child);
            assertThat(r.incompleteRemoved().get("t"))
                    .as("%s is the parent of kept backup %s", parent, child)
                    .doesNotContain(parent);
            try (var files = Files.list(p)) {
                assertThat(files.map(f -> f.getFileName().toString())).anyMatch(n -> n.startsWith("data.bin"));
            }
        }
    }

    @Test
    void chunksOfAKeptBackupsParentWithoutItsManifestAreNotCollected() throws IOException {
        try (DrKit kit = DrKit.builder()
                .repository(dir.resolve("repo").toString())
                .register(new ChainProvider())
                .dedup(true)
                .build()) {
            String parent = kit.backup(spec("t", "content", "the full backup's own bytes"))
                    .id();
            kit.backup(spec("t", "content", "delta", "incremental", "true"));
            Path p = backupDir("t", parent);
            try (var files = Files.list(p)) {
                assertThat(files.map(f -> f.getFileName().toString()))
                        .as("the test needs a chunked artifact")
                        .anyMatch(n -> n.contains("chunks"));
            }
            Files.delete(p.resolve("manifest.json"));
            Files.delete(p.resolve("manifest.json.sha256"));

            PruneResult r =
                    kit.prune("t", GfsRetentionPolicy.builder().keepLast(1).build(), false);

            assertThat(r.chunks().skipped())
                    .as("the parent's chunks are what the kept incremental needs")
                    .contains("whose manifest is missing");
            assertThat(r.chunks().chunksRemoved()).isZero();
        }
    }

    /**
     * Two targets back up one cluster into one archive. A long full backup of target b began at
     * "WAL position" 03; meanwhile target a took backups at 05 and 30. A prune of a (under a's
     * lock only) counts the complete backups of every target, but not b's running one, and
     * removes 03..29, which b's backup needs: once it finishes, it cannot be restored.
     */
    @Test
    void archivePruningLeavesWhatARunningBackupOfAnotherTargetNeeds() throws Exception {
        ChainTarget.entered = new CountDownLatch(1);
        ChainTarget.RELEASE = new CountDownLatch(1);
        try (DrKit kit = kit(null)) {
            kit.backup(spec("a", "content", "a0", "start", "01", "wal", "01,03,04,05,29,30"));
            CompletableFuture<BackupResult> running = CompletableFuture.supplyAsync(
                    () -> kit.backup(spec("b", "content", "b1", "start", "03", "block", "true")));
            assertThat(ChainTarget.entered.await(30, TimeUnit.SECONDS)).isTrue();
            kit.backup(spec("a", "content", "a1", "start", "05"));
            kit.backup(spec("a", "content", "a2", "start", "30"));

            PruneResult r =
                    kit.prune("a", GfsRetentionPolicy.builder().keepLast(1).build(), false);
            ChainTarget.RELEASE.countDown();
            BackupResult b1 = running.get(30, TimeUnit.SECONDS);

            assertThat(b1.manifest().metadata()).containsEntry("start", "03");
            assertThat(union(r.archiveRemoved().values()))
                    .as("WAL from 03 on is needed by backup b/%s, running while a was pruned", b1.id())
                    .doesNotContain("c/03", "c/04", "c/05", "c/29");
        } finally {
            ChainTarget.RELEASE.countDown();
        }
    }

    @Test
    void aRunningBackupOfATargetOfAnotherTypeDoesNotHoldTheArchiveBack() throws Exception {
        ChainTarget.entered = new CountDownLatch(1);
        ChainTarget.RELEASE = new CountDownLatch(1);
        try (DrKit kit = kit(null)) {
            kit.backup(spec("a", "content", "a0", "start", "01", "wal", "01,03,04,05,29,30"));
            kit.backup(typed("other", "r", "content", "r0"));
            CompletableFuture<BackupResult> running = CompletableFuture.supplyAsync(
                    () -> kit.backup(typed("other", "r", "content", "r1", "block", "true")));
            assertThat(ChainTarget.entered.await(30, TimeUnit.SECONDS)).isTrue();
            kit.backup(spec("a", "content", "a1", "start", "30"));

            PruneResult r =
                    kit.prune("a", GfsRetentionPolicy.builder().keepLast(1).build(), false);
            ChainTarget.RELEASE.countDown();
            running.get(30, TimeUnit.SECONDS);

            assertThat(union(r.archiveRemoved().values())).containsExactly("c/01", "c/03", "c/04", "c/05", "c/29");
        } finally {
            ChainTarget.RELEASE.countDown();
        }
    }

    /**
     * The host's clock stepped back between a full backup and the incremental built on it, so the
     * child is dated before its parent. Prune deletes expired backups newest first, so the parent
     * goes first; a storage failure before the child goes leaves the child listed without its
     * parent (a listed backup that cannot be restored), until a later prune succeeds.
     */
    @Test
    void aPruneCutShortNeverLeavesAListedBackupWithoutItsParent() throws IOException {
        MutableClock clock = new MutableClock(Instant.parse("2025-01-03T10:00:05Z"));
        Set<String> failDeleting = new HashSet<>();
        StorageBackend storage = new ForwardingStorage(new FileStorageBackend(dir.resolve("repo"))) {
            @Override
            public void delete(String key) throws IOException {
                if (failDeleting.contains(key)) {
                    throw new IOException("Connection reset");
                }
                super.delete(key);
            }
        };
        try (DrKit kit = DrKit.builder()
                .storage(storage)
                .register(new ChainProvider())
                .clock(clock)
                .build()) {
            String parent = kit.backup(spec("t", "content", "full")).id();
            clock.advance(Duration.ofSeconds(-4)); // NTP steps the clock back
            String child = kit.backup(spec("t", "content", "delta", "incremental", "true"))
                    .id();
            clock.advance(Duration.ofMinutes(5));
            kit.backup(spec("t", "content", "full again"));
            failDeleting.add("backups/t/" + child + "/manifest.json");

            assertThatThrownBy(() -> kit.prune(
                            "t", GfsRetentionPolicy.builder().keepLast(1).build(), false))
                    .isInstanceOf(StorageException.class);

            List<String> listed = kit.list("t").stream().map(BackupManifest::id).toList();
            for (BackupManifest m : kit.list("t")) {
                if (m.parent() != null) {
                    assertThat(listed)
                            .as("listed backup %s needs its parent %s", m.id(), m.parent())
                            .contains(m.parent());
                }
            }
            assertThat(listed).contains(child);
            assertThat(parent).isNotNull();
        }
    }
}
