package dev.drkit.internal.repo;

import static org.assertj.core.api.Assertions.assertThat;

import dev.drkit.ChunkCollection;
import dev.drkit.internal.ops.PruneOperation;
import dev.drkit.internal.pipeline.Compression;
import dev.drkit.spi.support.Hosts;
import dev.drkit.spi.support.Json;
import dev.drkit.spi.support.PrivateScratch;
import dev.drkit.spi.support.RepositoryLock;
import dev.drkit.storage.FileStorageBackend;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Set;
import java.util.UUID;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A lock left by a backup that crashed on this host (its process provably gone: this boot, pid
 * not running) must not hold a chunk collection back: no clock is needed to know it is gone.
 * With the default lock-ttl (5 min) every prune waited 5 minutes for it; with a lock-ttl of 10
 * minutes or more (the collection waits 10) no prune ever collected again while it stayed,
 * and only a backup or prune of that target removes it.
 */
class ChunkGcCrashedWriterTest {
    @TempDir
    Path dir;

    private Set<String> packs() throws IOException {
        if (!Files.isDirectory(dir.resolve("chunks/packs"))) {
            return Set.of();
        }
        try (Stream<Path> s = Files.list(dir.resolve("chunks/packs"))) {
            return s.map(f -> f.getFileName().toString())
                    .filter(n -> n.endsWith(".pack"))
                    .collect(Collectors.toSet());
        }
    }

    @Test
    void aLockOfACrashedBackupOnThisHostDoesNotHoldTheCollectionBack() throws Exception {
        FileStorageBackend storage = new FileStorageBackend(dir);
        Repository repo = Repository.open(storage, Instant.now());
        repo.initialise();
        StreamCodecs zstd = new StreamCodecs(Compression.ZSTD, 3, 1);
        ChunkedArtifactTest.Stored old = ChunkedArtifactTest.store(
                repo, Instant.now().minusSeconds(60), zstd, ChunkedArtifactTest.data(21, 2 << 20));
        repo.writeManifest(old.manifest(), null);
        Set<String> oldPacks = packs();
        assertThat(oldPacks).isNotEmpty();
        repo.deleteBackup("db", old.manifest().id()); // expired: its packs are no longer needed

        // backup "other" crashed (kill -9) on this host: its process is gone, its lease ran out
        Process p = new ProcessBuilder("true").start();
        p.waitFor();
        String mine = PrivateScratch.processStart();
        assertThat(mine).as("this host tells boot id and clock ticks").startsWith("b");
        Instant then = Instant.now().minus(Duration.ofMinutes(20));
        RepositoryLock.LockInfo crashed = new RepositoryLock.LockInfo(
                UUID.randomUUID().toString(),
                Hosts.name(),
                p.pid(),
                null,
                "backup",
                then,
                then.plus(Duration.ofMinutes(5)),
                mine.substring(0, mine.indexOf('t')) + "t1");
        storage.createIfAbsent(
                "locks/other/" + then.toEpochMilli() + "-" + UUID.randomUUID() + ".json", Json.write(crashed));
        assertThat(RepositoryLock.goneHolders(storage))
                .as("provably gone, no clock needed")
                .hasSize(1);

        ChunkCollection gc =
                new ChunkGc(repo, Clock.systemUTC(), Duration.ofMinutes(5), Duration.ofSeconds(2)).collect(false);

        assertThat(gc.skipped())
                .as("the collection did not wait for a process that is gone")
                .isNull();
        assertThat(packs()).as("the expired backup's packs").doesNotContainAnyElementsOf(oldPacks);
    }

    /**
     * A backup crashed on another host (or on this one, with a lock written before locks recorded
     * their holder's boot): its lease ran out long ago, but no clock-free proof says it is gone, so
     * the collection waits a whole lease for it to be renewed. A lock-ttl longer than the time the
     * collection waits for writers (10 minutes in a prune) then means it never collects again.
     */
    @Test
    void aLeaseLongerThanTheWaitDoesNotStopEveryCollectionForACrashedBackupElsewhere() throws Exception {
        FileStorageBackend storage = new FileStorageBackend(dir);
        Repository repo = Repository.open(storage, Instant.now());
        repo.initialise();
        StreamCodecs zstd = new StreamCodecs(Compression.ZSTD, 3, 1);
        ChunkedArtifactTest.Stored old = ChunkedArtifactTest.store(
                repo, Instant.now().minusSeconds(60), zstd, ChunkedArtifactTest.data(22, 2 << 20));
        repo.writeManifest(old.manifest(), null);
        Set<String> oldPacks = packs();
        repo.deleteBackup("db", old.manifest().id());

        Instant then = Instant.now().minus(Duration.ofDays(2));
        RepositoryLock.LockInfo crashed = new RepositoryLock.LockInfo(
                UUID.randomUUID().toString(),
                "another-host",
                4242,
                null,
                "backup",
                then,
                then.plusSeconds(3),
                "b0123abcdt99");
        storage.createIfAbsent(
                "locks/other/" + then.toEpochMilli() + "-" + UUID.randomUUID() + ".json", Json.write(crashed));

        // a prune waits longer than a lease (lock-ttl 15m: 16 minutes, not its usual 10)
        assertThat(PruneOperation.writerWait(Duration.ofMinutes(15))).isGreaterThan(Duration.ofMinutes(15));
        assertThat(PruneOperation.writerWait(Duration.ofMinutes(5))).isEqualTo(Duration.ofMinutes(10));
        // scaled down: lock-ttl 3 s, and a wait that outlasts it as the prune's does
        ChunkCollection gc =
                new ChunkGc(repo, Clock.systemUTC(), Duration.ofSeconds(3), Duration.ofSeconds(5)).collect(false);

        assertThat(gc.skipped())
                .as("a lease unrenewed for a whole lease is over")
                .isNull();
        assertThat(packs()).doesNotContainAnyElementsOf(oldPacks);
    }
}
