package dev.drkit.internal.repo;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.drkit.ArtifactInfo;
import dev.drkit.ChunkCollection;
import dev.drkit.ObjectExistsException;
import dev.drkit.internal.pipeline.Compression;
import dev.drkit.spi.StorageBackend;
import dev.drkit.spi.support.BackupIds;
import dev.drkit.spi.support.Sha256;
import dev.drkit.storage.FileStorageBackend;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Proxy;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BiFunction;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A chunk garbage collection meeting bad luck (a storage call that fails) and forged chunk lists. */
class ChunkGcMishapTest {
    @TempDir
    Path dir;

    private final Instant at = Instant.parse("2026-12-01T00:00:00Z");

    /**
     * A storage whose calls go to {@code disk}, each result passed through {@code answer} (method
     * name and arguments, result): a test's way to lose an answer or count calls.
     */
    private static StorageBackend around(
            StorageBackend disk, BiFunction<Object[], Object, Object> answer, String method) {
        return (StorageBackend) Proxy.newProxyInstance(
                StorageBackend.class.getClassLoader(), new Class<?>[] {StorageBackend.class}, (proxy, m, args) -> {
                    try {
                        Object result = m.invoke(disk, args);
                        return m.getName().equals(method) ? answer.apply(args, result) : result;
                    } catch (InvocationTargetException e) {
                        throw e.getCause();
                    }
                });
    }

    private static ChunkCollection collect(Repository repo) throws IOException {
        return new ChunkGc(repo, Clock.systemUTC(), Duration.ofMinutes(1), Duration.ofSeconds(1)).collect(false);
    }

    /**
     * A rewrite moves the kept chunks of several mostly-garbage packs through a pack writer that
     * commits a new pack each time 32 MiB are buffered, on the way through a later pack. When that
     * commit failed (here the answer to the checksum file's create-if-absent is lost, as a
     * conditional write retried after a lost response answers "exists" on S3), the failure was
     * taken for that later pack's ("it stays as it is"), while the chunks of the earlier packs,
     * counted as rewritten and then removed, had gone with the failed commit: a listed backup
     * could no longer be restored. Now the rewrite stops and no pack goes.
     */
    @Test
    void aCommitThatFailsDuringARewriteRemovesNoPack() throws IOException {
        StreamCodecs plain = new StreamCodecs(Compression.ZSTD, 3, 2);
        AtomicBoolean loseAnAnswer = new AtomicBoolean();
        StorageBackend flaky = around(
                new FileStorageBackend(dir.resolve("repo")),
                (args, result) -> ((String) args[0]).endsWith(".pack.sha256") && loseAnAnswer.getAndSet(false)
                        ? Boolean.FALSE
                        : result,
                "createIfAbsent");
        Repository repo = Repository.open(flaky, Instant.now());
        repo.initialise();
        byte[] big = new byte[100 << 20];
        new Random(3).nextBytes(big);
        ChunkedArtifactTest.Stored bigBackup = ChunkedArtifactTest.store(repo, at, plain, big);
        repo.writeManifest(bigBackup.manifest(), null);
        // a second backup keeps about 42% of each pack's chunks (whole chunks, in order)
        List<String> lines =
                Files.readAllLines(chunkList(bigBackup)).stream().skip(1).toList();
        Map<String, List<int[]>> byPack = new TreeMap<>();
        long offset = 0;
        for (String line : lines) {
            String id = line.split(" ")[0];
            int length = Integer.parseInt(line.split(" ")[1]);
            byPack.computeIfAbsent(repo.chunks().locate(id).get(0).pack(), k -> new ArrayList<>())
                    .add(new int[] {(int) offset, length});
            offset += length;
        }
        assertThat(byPack).as("packs to rewrite").hasSizeGreaterThan(2);
        ByteArrayOutputStream keep = new ByteArrayOutputStream();
        for (List<int[]> chunks : byPack.values()) {
            long total = chunks.stream().mapToLong(c -> c[1]).sum();
            long taken = 0;
            for (int[] c : chunks) {
                if (taken + c[1] > total * 0.42) {
                    break;
                }
                keep.write(big, c[0], c[1]);
                taken += c[1];
            }
        }
        byte[] kept = keep.toByteArray();
        ChunkedArtifactTest.Stored keepBackup = ChunkedArtifactTest.store(repo, at.plusSeconds(60), plain, kept);
        repo.writeManifest(keepBackup.manifest(), null);
        repo.deleteBackup("db", bigBackup.manifest().id());
        List<Path> holding = new ArrayList<>(); // the packs that hold the chunks the kept backup needs
        for (String line :
                Files.readAllLines(chunkList(keepBackup)).stream().skip(1).toList()) {
            for (ChunkStore.Location loc : repo.chunks().locate(line.split(" ")[0])) {
                holding.add(dir.resolve("repo/chunks/packs/" + loc.pack() + ".pack"));
            }
        }

        loseAnAnswer.set(true);
        assertThatThrownBy(() -> collect(Repository.open(flaky, Instant.now())))
                .isInstanceOf(ObjectExistsException.class);

        assertThat(loseAnAnswer).as("the lost answer came during the rewrite").isFalse();
        assertThat(packs()).as("no pack holding a needed chunk removed").containsAll(holding);
        Repository fresh = Repository.open(new FileStorageBackend(dir.resolve("repo")), Instant.now());
        try (InputStream in = fresh.openDecoded(keepBackup.manifest(), keepBackup.artifact(), plain, null)) {
            assertThat(in.readAllBytes()).isEqualTo(kept);
        }
        // and the next collection, with storage answering again, rewrites them
        ChunkCollection again = collect(fresh);
        assertThat(again.packsRewritten()).isGreaterThan(0);
        fresh = Repository.open(new FileStorageBackend(dir.resolve("repo")), Instant.now());
        try (InputStream in = fresh.openDecoded(keepBackup.manifest(), keepBackup.artifact(), plain, null)) {
            assertThat(in.readAllBytes()).isEqualTo(kept);
        }
    }

    /**
     * Chunk lists are bounded one by one, but a collection gathered the ids of every listed
     * backup's list before it compared any with the (bounded) chunk index: a few forged manifests
     * with large lists of distinct ids ran a prune out of heap. Each id is now looked up as it is
     * read, and the first that no index lists ends the collection: the other lists are not read.
     */
    @Test
    void forgedChunkListsStopTheCollectionAtTheFirstIdNoIndexLists() throws IOException {
        AtomicInteger listsRead = new AtomicInteger();
        StorageBackend counting = around(
                new FileStorageBackend(dir.resolve("repo")),
                (args, result) -> {
                    if (((String) args[0]).endsWith(".chunks")) {
                        listsRead.incrementAndGet();
                    }
                    return result;
                },
                "open");
        Repository repo = Repository.open(counting, Instant.now());
        repo.initialise();
        long n = 0;
        for (int b = 0; b < 3; b++) {
            n = forgeList(repo, at.plusSeconds(60L * (b + 1)), n, 50_000);
        }
        Files.createDirectories(dir.resolve("repo/chunks/index"));
        listsRead.set(0);

        ChunkCollection gc = collect(Repository.open(counting, Instant.now()));

        assertThat(gc.skipped())
                .contains("needs chunk " + "0".repeat(64) + ", which no chunk index lists")
                .contains("nothing was collected");
        assertThat(listsRead).as("chunk lists read").hasValue(1);
    }

    /** Writes a backup whose one chunk list names {@code count} ids from {@code first} on; returns the next. */
    private long forgeList(Repository repo, Instant when, long first, int count) throws IOException {
        String id = BackupIds.next(when);
        Path list =
                Files.createDirectories(dir.resolve("repo/backups/db/" + id)).resolve("dump.bin.chunks");
        MessageDigest sha = Sha256.newDigest();
        long stored = 0;
        try (OutputStream out = Files.newOutputStream(list)) {
            StringBuilder text = new StringBuilder("drkit-chunks 1 sha256\n");
            for (long i = first; i < first + count; i++) {
                text.append(String.format("%064x", i)).append(" 1\n");
            }
            byte[] bytes = text.toString().getBytes(StandardCharsets.US_ASCII);
            out.write(bytes);
            sha.update(bytes);
            stored = bytes.length;
        }
        ArtifactInfo a = new ArtifactInfo(
                "dump.bin",
                "dump.bin.chunks",
                count,
                stored,
                Sha256.hex(sha.digest()),
                "00000000",
                ChunkedArtifactWriter.CHAIN,
                List.of());
        repo.writeManifest(ChunkedArtifactTest.manifest(id, when, a), null);
        return first + count;
    }

    private Path chunkList(ChunkedArtifactTest.Stored s) {
        return dir.resolve("repo/backups/db/" + s.manifest().id() + "/dump.bin.chunks");
    }

    private List<Path> packs() throws IOException {
        try (var s = Files.list(dir.resolve("repo/chunks/packs"))) {
            return s.filter(p -> p.toString().endsWith(".pack")).sorted().toList();
        }
    }
}
