package dev.drkit.internal.repo;

import static org.assertj.core.api.Assertions.assertThat;

import dev.drkit.BackupManifest;
import dev.drkit.BackupResult;
import dev.drkit.CheckOptions;
import dev.drkit.ChunkCollection;
import dev.drkit.DrKit;
import dev.drkit.PruneResult;
import dev.drkit.RestoreRequest;
import dev.drkit.TargetSpec;
import dev.drkit.internal.pipeline.Compression;
import dev.drkit.retention.GfsRetentionPolicy;
import dev.drkit.spi.support.BackupIds;
import dev.drkit.spi.support.RepositoryLock;
import dev.drkit.storage.FileStorageBackend;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Garbage collection of the chunk store by prune, alone and against writers running at the same time. */
class ChunkGcTest {
    private static final GfsRetentionPolicy KEEP_LAST =
            GfsRetentionPolicy.builder().keepLast(1).build();

    @TempDir
    Path dir;

    private int restores;

    private Path repoDir() {
        return dir.resolve("repo");
    }

    private DrKit kit() {
        return DrKit.builder().repository(repoDir().toString()).dedup(true).build();
    }

    private Path tree(String name, long seed, int size) throws IOException {
        Path d = Files.createDirectories(dir.resolve(name));
        Files.write(d.resolve("data.txt"), ChunkedArtifactTest.data(seed, size));
        return d;
    }

    private Set<String> packs() throws IOException {
        Path p = repoDir().resolve("chunks/packs");
        if (!Files.exists(p)) {
            return Set.of();
        }
        try (Stream<Path> s = Files.list(p)) {
            return s.map(f -> f.getFileName().toString())
                    .filter(n -> n.endsWith(".pack"))
                    .collect(Collectors.toSet());
        }
    }

    private void restoresExactly(DrKit kit, String target, String id, Path source) throws IOException {
        Path to = dir.resolve("restored-" + id + "-" + restores++);
        kit.restore(RestoreRequest.files(target, id, to));
        assertThat(to.resolve(source.toString().substring(1)).resolve("data.txt"))
                .hasSameBinaryContentAs(source.resolve("data.txt"));
    }

    @Test
    void pruneRemovesThePacksOnlyExpiredBackupsNeededAndKeepsWhatTheRestNeed() throws IOException {
        try (DrKit kit = kit()) {
            Path a = tree("a", 1, 3 << 20);
            Path b = tree("b", 2, 3 << 20);
            kit.backup(TargetSpec.files("app", a.toString()));
            Set<String> first = packs();
            BackupResult kept = kit.backup(TargetSpec.files("app", b.toString()));
            BackupResult other = kit.backup(TargetSpec.files("other", a.toString())); // shares a's chunks

            PruneResult r = kit.prune("app", KEEP_LAST, false);
            assertThat(r.deleted().get("app")).hasSize(1);
            ChunkCollection gc = r.chunks();
            assertThat(gc.skipped()).isNull();
            // a's pack is still needed by 'other', which stored nothing new
            assertThat(gc.packsDeleted()).isZero();
            assertThat(packs()).containsAll(first);

            assertThat(kit.prune(
                                    "other",
                                    GfsRetentionPolicy.builder().keepLast(1).build(),
                                    false)
                            .deleted()
                            .get("other"))
                    .isEmpty();
            restoresExactly(kit, "app", kept.id(), b);
            restoresExactly(kit, "other", other.id(), a);

            // now the only backup that needed a's chunks goes
            kit.backup(TargetSpec.files("other", b.toString()));
            ChunkCollection second = kit.prune("other", KEEP_LAST, false).chunks();
            assertThat(second.packsDeleted()).isEqualTo(first.size());
            assertThat(second.chunksRemoved()).isPositive();
            assertThat(second.bytesFreed()).isPositive();
            assertThat(packs()).doesNotContainAnyElementsOf(first);
            assertThat(Files.list(repoDir().resolve("chunks/index")).count()).isEqualTo(packs().size());
            restoresExactly(kit, "app", kept.id(), b);
            assertThat(kit.check(CheckOptions.readAllData()).findings()).isEmpty();
        }
    }

    @Test
    void aPackMostlyGarbageIsRewrittenWithTheChunksStillNeeded() throws IOException {
        try (DrKit kit = kit()) {
            byte[] big = ChunkedArtifactTest.data(3, 8 << 20);
            Path a = Files.createDirectories(dir.resolve("a"));
            Files.write(a.resolve("data.txt"), big);
            kit.backup(TargetSpec.files("app", a.toString()));
            Set<String> first = packs();
            // the second tree keeps only the last 45% of the first one's bytes
            Path b = Files.createDirectories(dir.resolve("b"));
            Files.write(b.resolve("data.txt"), Arrays.copyOfRange(big, big.length * 55 / 100, big.length));
            BackupResult kept = kit.backup(TargetSpec.files("app", b.toString()));

            ChunkCollection gc = kit.prune("app", KEEP_LAST, false).chunks();
            assertThat(gc.packsRewritten()).isEqualTo(first.size());
            assertThat(gc.packsDeleted()).isZero();
            assertThat(packs()).doesNotContainAnyElementsOf(first);
            restoresExactly(kit, "app", kept.id(), b);
            assertThat(kit.check(CheckOptions.readAllData()).findings()).isEmpty();
        }
    }

    @Test
    void aDryRunSaysWhatWouldGoAndDeletesNothing() throws IOException {
        try (DrKit kit = kit()) {
            kit.backup(TargetSpec.files("app", tree("a", 4, 2 << 20).toString()));
            kit.backup(TargetSpec.files("app", tree("b", 5, 2 << 20).toString()));
            kit.prune("app", KEEP_LAST, false);
            Set<String> before = packs();
            kit.backup(TargetSpec.files("app", tree("c", 6, 2 << 20).toString()));
            Set<String> withC = packs();
            ChunkCollection dry = kit.prune("app", KEEP_LAST, true).chunks();
            assertThat(dry.packsDeleted()).isEqualTo(before.size());
            assertThat(packs()).isEqualTo(withC);
        }
    }

    @Test
    void aCollectionWaitsForAWriterThatBeganBeforeItAndCollectsNothingWhileItRuns() throws Exception {
        Path a = tree("a", 7, 3 << 20);
        BackupResult old;
        try (DrKit kit = kit()) {
            old = kit.backup(TargetSpec.files("app", a.toString()));
        }
        FileStorageBackend storage = new FileStorageBackend(repoDir());
        Repository repo = Repository.open(storage, Instant.now());
        Clock clock = Clock.systemUTC();
        byte[] sameBytes;
        try (var in = repo.openDecoded(
                old.manifest(), old.manifest().artifacts().get(0), new StreamCodecs(Compression.ZSTD, 3, 1), null)) {
            sameBytes = in.readAllBytes();
        }
        // a writer takes its target's lock and refers to the old backup's chunks (stored
        // before any collection), but has not written its manifest yet
        Instant started = clock.instant();
        String id = BackupIds.next(started);
        ChunkedArtifactWriter w;
        try (RepositoryLock lock = RepositoryLock.acquire(
                storage, "late", "backup", Duration.ofMinutes(1), Duration.ZERO, clock, s -> {})) {
            w = (ChunkedArtifactWriter)
                    repo.newArtifact("late", id, "list.bin", new StreamCodecs(Compression.ZSTD, 3, 1), true, null);
            w.write(sameBytes);
            w.close();
            assertThat(w.newChunks()).isZero(); // it relies on stored chunks only
            repo.deleteBackup("app", old.id()); // the only listed backup that needed them

            ChunkCollection during =
                    new ChunkGc(repo, clock, Duration.ofMinutes(1), Duration.ofSeconds(1)).collect(false);
            assertThat(during.skipped()).contains("lock locks/late/");
            assertThat(during.packsDeleted()).isZero();
            assertThat(packs()).isNotEmpty();

            repo.writeManifest(
                    new BackupManifest(
                            BackupManifest.FORMAT,
                            id,
                            "late",
                            "raw",
                            "full",
                            null,
                            List.of(),
                            started,
                            started,
                            "test",
                            "host",
                            List.of(w.info()),
                            Map.of(),
                            null),
                    null);
        }
        assertThat(repo.catalog("late").damaged()).isEmpty();
        ChunkCollection after = new ChunkGc(repo, clock, Duration.ofMinutes(1), Duration.ofSeconds(5)).collect(false);
        assertThat(after.skipped()).isNull();
        assertThat(after.packsDeleted()).isZero(); // the late backup needs every chunk now
        BackupManifest late = repo.manifest("late", id);
        try (var in = repo.openDecoded(late, late.artifacts().get(0), new StreamCodecs(Compression.ZSTD, 3, 1), null)) {
            assertThat(in.readAllBytes()).isEqualTo(sameBytes);
        }
    }

    @Test
    void aWriterThatBeginsWhileACollectionRunsStoresItsChunksAnew() throws IOException {
        Path a = tree("a", 8, 2 << 20);
        try (DrKit kit = kit()) {
            BackupResult first = kit.backup(TargetSpec.files("app", a.toString()));
            assertThat(newChunks(first)).isPositive();
            FileStorageBackend storage = new FileStorageBackend(repoDir());
            try (RepositoryLock gc = RepositoryLock.acquire(
                    storage,
                    ChunkGc.SCOPE,
                    "chunk garbage collection",
                    Duration.ofMinutes(1),
                    Duration.ZERO,
                    Clock.systemUTC(),
                    s -> {})) {
                BackupResult during = kit.backup(TargetSpec.files("app", a.toString()));
                assertThat(newChunks(during)).isEqualTo(chunks(during));
            }
            BackupResult after = kit.backup(TargetSpec.files("app", a.toString()));
            assertThat(newChunks(after)).isZero();
        }
    }

    private static long newChunks(BackupResult r) {
        return ((Number) ((Map<?, ?>) r.manifest().metadata().get(BackupManifest.DEDUP)).get("new-chunks")).longValue();
    }

    private static long chunks(BackupResult r) {
        return ((Number) ((Map<?, ?>) r.manifest().metadata().get(BackupManifest.DEDUP)).get("chunks")).longValue();
    }
}
