package dev.drkit.internal.repo;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.sun.management.ThreadMXBean;
import dev.drkit.ArtifactInfo;
import dev.drkit.BackupManifest;
import dev.drkit.BackupResult;
import dev.drkit.CheckOptions;
import dev.drkit.CheckReport;
import dev.drkit.ChunkCollection;
import dev.drkit.CorruptDataException;
import dev.drkit.DrException;
import dev.drkit.DrKit;
import dev.drkit.TargetSpec;
import dev.drkit.VerifyLevel;
import dev.drkit.VerifyReport;
import dev.drkit.internal.pipeline.Compression;
import dev.drkit.retention.GfsRetentionPolicy;
import dev.drkit.spi.StorageBackend;
import dev.drkit.spi.support.BackupIds;
import dev.drkit.spi.support.RepositoryLock;
import dev.drkit.storage.FileStorageBackend;
import java.io.IOException;
import java.io.InputStream;
import java.lang.management.ManagementFactory;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Proxy;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The chunk store against a hostile or damaged repository and against writers that run while
 * a collection does: what must never be lost, and input that must not cost unbounded memory.
 */
class ChunkStoreAdversarialTest {
    private static final StreamCodecs ZSTD = new StreamCodecs(Compression.ZSTD, 3, 2);

    @TempDir
    Path dir;

    private Path repoDir() {
        return dir.resolve("repo");
    }

    private List<Path> list(String sub, String suffix) throws IOException {
        Path p = repoDir().resolve(sub);
        if (!Files.exists(p)) {
            return List.of();
        }
        try (Stream<Path> s = Files.list(p)) {
            return s.filter(f -> f.toString().endsWith(suffix)).sorted().toList();
        }
    }

    private BackupResult backupOnce(byte[] content) throws IOException {
        Path tree = Files.createDirectories(dir.resolve("tree"));
        Files.write(tree.resolve("data.txt"), content);
        try (DrKit kit =
                DrKit.builder().repository(repoDir().toString()).dedup(true).build()) {
            return kit.backup(TargetSpec.files("app", tree.toString()));
        }
    }

    private static byte[] decoded(Repository repo, BackupManifest m, ArtifactInfo a) throws IOException {
        try (InputStream in = repo.openDecoded(m, a, ZSTD, null)) {
            return in.readAllBytes();
        }
    }

    private static BackupManifest manifest(String target, String id, Instant at, ArtifactInfo a) {
        return new BackupManifest(
                BackupManifest.FORMAT,
                id,
                target,
                "raw",
                "full",
                null,
                List.of(),
                at,
                at,
                "test",
                "host",
                List.of(a),
                Map.of(),
                null);
    }

    /** A new artifact of {@code content} that refers to no stored chunk and comes back whole. */
    private static void storesEveryChunkAgainAndRestores(Repository repo, byte[] content) throws IOException {
        Instant at = Instant.now();
        String id = BackupIds.next(at);
        ChunkedArtifactWriter w = (ChunkedArtifactWriter) repo.newArtifact("db", id, "dump.bin", ZSTD, true, null);
        w.write(content);
        w.close();
        assertThat(w.newChunks()).isEqualTo(w.chunks());
        assertThat(decoded(repo, manifest("db", id, at, w.info()), w.info())).isEqualTo(content);
    }

    @Test
    void aChecksumVerificationOfADeduplicatedBackupReadsItsChunksNotJustItsChunkList() throws IOException {
        BackupResult b = backupOnce(ChunkedArtifactTest.data(15, 2 << 20));
        try (DrKit kit =
                DrKit.builder().repository(repoDir().toString()).dedup(true).build()) {
            assertThat(kit.verify("app", b.id(), VerifyLevel.CHECKSUM).passed()).isTrue();
            for (Path p : list("chunks/packs", ".pack")) {
                Files.delete(p);
            }

            VerifyReport report = kit.verify("app", b.id(), VerifyLevel.CHECKSUM);

            assertThat(report.passed()).isFalse();
        }
    }

    @Test
    void aCheckOfABackupWhoseIndexIsGoneReadsTheIndexOnceNotOncePerMissingChunk() throws IOException {
        BackupResult b = backupOnce(ChunkedArtifactTest.data(16, 24 << 20));
        for (Path idx : list("chunks/index", ".idx")) {
            Files.delete(idx);
        }
        StorageBackend disk = new FileStorageBackend(repoDir());
        AtomicInteger indexListings = new AtomicInteger();
        StorageBackend counting = (StorageBackend) Proxy.newProxyInstance(
                StorageBackend.class.getClassLoader(), new Class<?>[] {StorageBackend.class}, (proxy, m, args) -> {
                    if (m.getName().equals("list") && ChunkStore.INDEX.equals(args[0])) {
                        indexListings.incrementAndGet(); // one listing of every index on S3: pages of 1,000
                    }
                    try {
                        return m.invoke(disk, args);
                    } catch (InvocationTargetException e) {
                        throw e.getCause();
                    }
                });
        Repository repo = Repository.open(counting, Instant.now());

        CheckReport report = new RepositoryCheck(repo, Clock.systemUTC(), Duration.ofMinutes(1), null, t -> Set.of())
                .run(CheckOptions.catalogOnly());

        assertThat(report.findings())
                .anySatisfy(f -> assertThat(f.message()).contains(b.id()).contains("in no chunk index"));
        assertThat(indexListings.get()).isLessThanOrEqualTo(2);
    }

    private static RepositoryLock lock(StorageBackend storage, String scope, String operation, Duration ttl) {
        return RepositoryLock.acquire(storage, scope, operation, ttl, Duration.ZERO, Clock.systemUTC(), s -> {});
    }

    @Test
    void aCollectionRunByAScheduledJobDoesNotWaitForTheJobsOwnLock() throws IOException {
        String garbage = backupOnce(ChunkedArtifactTest.data(17, 2 << 20)).id();
        Repository repo = Repository.open(new FileStorageBackend(repoDir()), Instant.now());
        repo.deleteBackup("app", garbage);
        // the scheduler holds a job's lock around the backup and the prune it runs (dr-scheduler JobSlots)
        try (RepositoryLock job =
                lock(repo.storage(), "job-backup-app", "scheduled backup-app", Duration.ofMinutes(1))) {
            ChunkCollection gc =
                    new ChunkGc(repo, Clock.systemUTC(), Duration.ofMinutes(1), Duration.ofSeconds(2)).collect(false);

            assertThat(gc.skipped()).isNull();
            assertThat(gc.packsDeleted()).isPositive();
        }
    }

    @Test
    void aLongLivedKitRestoresABackupWhosePackAnotherProcessRewrote() throws IOException {
        byte[] big = ChunkedArtifactTest.data(3, 8 << 20);
        byte[] tail = Arrays.copyOfRange(big, big.length * 55 / 100, big.length);
        backupOnce(big);
        List<Path> first = list("chunks/packs", ".pack");
        BackupResult kept = backupOnce(tail); // the first pack is mostly garbage once the first backup goes
        Repository service = Repository.open(new FileStorageBackend(repoDir()), Instant.now());
        ArtifactInfo a = kept.manifest().artifacts().get(0);
        byte[] before = decoded(service, kept.manifest(), a); // the service has read the chunk index

        // another process (the command line, another instance) prunes: the pack is rewritten
        try (DrKit other =
                DrKit.builder().repository(repoDir().toString()).dedup(true).build()) {
            ChunkCollection gc = other.prune(
                            "app", GfsRetentionPolicy.builder().keepLast(1).build(), false)
                    .chunks();
            assertThat(gc.packsRewritten()).isPositive();
        }
        assertThat(list("chunks/packs", ".pack")).doesNotContainAnyElementsOf(first);

        assertThat(decoded(service, kept.manifest(), a)).isEqualTo(before);
    }

    @Test
    void aCollectionKeepsWhatAListedBackupNeedsEvenIfItsIdWasPrunedBefore() throws IOException {
        // a prune deleted this id, then a copy from another repository brought it back while the
        // collection waited for the copy's lock: the backup is listed and needs its chunks
        BackupResult back = backupOnce(ChunkedArtifactTest.data(19, 2 << 20));
        List<Path> packs = list("chunks/packs", ".pack");
        Repository repo = Repository.open(new FileStorageBackend(repoDir()), Instant.now());

        ChunkCollection gc = new ChunkGc(repo, Clock.systemUTC(), Duration.ofMinutes(1), Duration.ofSeconds(1))
                .collect(false, Map.of("app", List.of(back.id())));

        assertThat(gc.packsDeleted()).isZero();
        assertThat(list("chunks/packs", ".pack")).isEqualTo(packs);
        assertThat(decoded(repo, back.manifest(), back.manifest().artifacts().get(0)))
                .hasSize((int) back.manifest().artifacts().get(0).rawSize());
    }

    @Test
    void aCollectionKeepsTheWholeCopyOfAChunkNotTheOneInATruncatedPack() throws IOException {
        byte[] content = ChunkedArtifactTest.data(20, 3 << 20);
        backupOnce(content);
        String zero = "0".repeat(32); // sorts first: the pack a collection would keep a chunk in
        for (Path p : list("chunks/packs", ".pack")) {
            String pack = p.getFileName().toString().replace(".pack", "");
            byte[] bytes = Files.readAllBytes(p);
            Files.write(p.resolveSibling(zero + ".pack"), Arrays.copyOf(bytes, bytes.length / 2));
            Files.delete(p);
            Files.deleteIfExists(p.resolveSibling(pack + ".pack.sha256"));
            Path idx = repoDir().resolve("chunks/index/" + pack + ".idx");
            Files.writeString(
                    idx.resolveSibling(zero + ".idx"), Files.readString(idx).replace(pack, zero));
            Files.delete(idx);
        }
        BackupResult again = backupOnce(content); // stores its chunks anew: the truncated pack is not whole
        Repository repo = Repository.open(new FileStorageBackend(repoDir()), Instant.now());

        new ChunkGc(repo, Clock.systemUTC(), Duration.ofMinutes(1), Duration.ofSeconds(1)).collect(false);

        ArtifactInfo a = again.manifest().artifacts().get(0);
        assertThat(decoded(repo, again.manifest(), a)).hasSize((int) a.rawSize());
    }

    @Test
    void aCollectionNeverKeepsADamagedOrForgedCopyInPlaceOfTheGoodOne() throws IOException {
        byte[] content = ChunkedArtifactTest.data(21, 3 << 20);
        BackupResult b = backupOnce(content);
        ArtifactInfo a = b.manifest().artifacts().get(0);
        byte[] before = decoded(Repository.open(new FileStorageBackend(repoDir()), Instant.now()), b.manifest(), a);
        List<Path> good = list("chunks/packs", ".pack");
        // beside every pack, a whole-size copy that sorts first, with the same index: one zero-filled
        // (forged), one with a flipped byte (bit rot in a duplicate left by racing backups)
        int n = 0;
        for (Path p : good) {
            String pack = p.getFileName().toString().replace(".pack", "");
            byte[] bytes = Files.readAllBytes(p);
            String zeros = "0".repeat(31) + n++;
            Files.write(p.resolveSibling(zeros + ".pack"), new byte[bytes.length]);
            String rot = "0".repeat(30) + "1" + n++;
            byte[] flipped = bytes.clone();
            for (int i = 100; i < flipped.length; i += 4096) {
                flipped[i] ^= 0x40; // in every chunk's frame
            }
            Files.write(p.resolveSibling(rot + ".pack"), flipped);
            Path idx = repoDir().resolve("chunks/index/" + pack + ".idx");
            Files.writeString(
                    idx.resolveSibling(zeros + ".idx"), Files.readString(idx).replace(pack, zeros));
            Files.writeString(
                    idx.resolveSibling(rot + ".idx"), Files.readString(idx).replace(pack, rot));
        }
        Repository repo = Repository.open(new FileStorageBackend(repoDir()), Instant.now());

        new ChunkGc(repo, Clock.systemUTC(), Duration.ofMinutes(1), Duration.ofSeconds(1)).collect(false);

        assertThat(list("chunks/packs", ".pack")).containsAll(good);
        byte[] after = decoded(Repository.open(new FileStorageBackend(repoDir()), Instant.now()), b.manifest(), a);
        assertThat(Arrays.equals(after, before))
                .as("the artifact reads back the same")
                .isTrue();
    }

    @Test
    void aCheckThatReadsTheDataReportsADamagedDuplicatePackThoughEveryBackupStillRestores() throws IOException {
        backupOnce(ChunkedArtifactTest.data(22, 3 << 20));
        String rot = "0".repeat(31) + "1";
        Path pack = list("chunks/packs", ".pack").get(0);
        String id = pack.getFileName().toString().replace(".pack", "");
        byte[] flipped = Files.readAllBytes(pack);
        flipped[flipped.length / 2] ^= 0x01; // bit rot in a duplicate left by racing backups
        Files.write(pack.resolveSibling(rot + ".pack"), flipped);
        Path idx = repoDir().resolve("chunks/index/" + id + ".idx");
        Files.writeString(
                idx.resolveSibling(rot + ".idx"), Files.readString(idx).replace(id, rot));

        try (DrKit kit = DrKit.builder().repository(repoDir().toString()).build()) {
            assertThat(kit.check(CheckOptions.catalogOnly()).findings()).isEmpty();
            List<CheckReport.Finding> read =
                    kit.check(CheckOptions.readAllData()).findings();
            assertThat(read).singleElement().satisfies(f -> {
                assertThat(f.kind()).isEqualTo(CheckReport.Kind.CHUNK_DAMAGED);
                assertThat(f.object()).isEqualTo("chunks/packs/" + rot + ".pack");
                assertThat(f.message()).contains("does not hash to the SHA-256 its index records");
            });
        }
    }

    @Test
    void aBackupWhoseReusedChunksWereCollectedWhileItRanIsNotKept() throws Exception {
        BackupResult old = backupOnce(ChunkedArtifactTest.data(23, 3 << 20));
        Repository repo = Repository.open(new FileStorageBackend(repoDir()), Instant.now());
        byte[] same = decoded(repo, old.manifest(), old.manifest().artifacts().get(0));
        ChunkedArtifactWriter w = (ChunkedArtifactWriter)
                repo.newArtifact("late", BackupIds.next(Instant.now()), "list.bin", ZSTD, true, null);
        w.write(same);
        // a collection that did not see this writer's lock (its lease lapsed) removes what it reuses
        for (Path p : list("chunks/packs", ".pack")) {
            Files.delete(p);
        }

        assertThatThrownBy(w::close)
                .isInstanceOf(DrException.class)
                .hasMessageContaining("was removed while the backup ran")
                .hasMessageContaining("take it again");
        assertThat(w.newChunks()).isZero(); // it stored nothing of its own: everything was reused
        Path late = repoDir().resolve("backups/late");
        if (Files.exists(late)) { // the chunk list was not committed: no checksum file vouches for it
            try (Stream<Path> files = Files.walk(late)) {
                assertThat(files.map(Path::toString)).noneMatch(f -> f.endsWith(".sha256"));
            }
        }
    }

    @Test
    void aFrameLargerThanAReaderAcceptsIsNeverWrittenIntoAPack() throws IOException {
        Repository repo = Repository.open(new FileStorageBackend(repoDir()), Instant.now());
        repo.initialise();
        ChunkStore.PackWriter writer = repo.chunks().newPackWriter();
        try {
            // what encryption to very many recipients could make of a tiny chunk
            assertThatThrownBy(() -> writer.add("ab".repeat(32), new byte[ChunkStore.maxStored(10) + 1], 10))
                    .isInstanceOf(DrException.class)
                    .hasMessageContaining("more than the chunk store allows");
        } finally {
            writer.abort();
        }
        assertThat(list("chunks/packs", ".pack")).isEmpty();
    }

    @Test
    void aCollectionKeepsWaitingForAWriterWhoseLockWasRenewedWhileItWaited() throws Exception {
        BackupResult old = backupOnce(ChunkedArtifactTest.data(11, 3 << 20));
        FileStorageBackend storage = new FileStorageBackend(repoDir());
        Repository repo = Repository.open(storage, Instant.now());
        Clock clock = Clock.systemUTC();
        byte[] same = decoded(repo, old.manifest(), old.manifest().artifacts().get(0));
        List<Path> packs = list("chunks/packs", ".pack");
        // a long backup: its lease is renewed (a new lock object) every second while it runs; a
        // lease of 6 s leaves a loaded machine's renewal 3.5 s to land before the lease lapses
        try (RepositoryLock lock = lock(storage, "late", "backup", Duration.ofSeconds(6))) {
            ChunkedArtifactWriter w = (ChunkedArtifactWriter)
                    repo.newArtifact("late", BackupIds.next(clock.instant()), "list.bin", ZSTD, true, null);
            w.write(same);
            w.close();
            assertThat(w.newChunks()).isZero(); // it relies on the old backup's chunks
            repo.deleteBackup("app", old.id());

            ChunkCollection during =
                    new ChunkGc(repo, clock, Duration.ofMinutes(1), Duration.ofSeconds(4)).collect(false);

            assertThat(during.skipped()).contains("lock locks/late/");
            assertThat(during.packsDeleted()).isZero();
            assertThat(list("chunks/packs", ".pack")).isEqualTo(packs);
        }
    }

    @Test
    void aPackWhoseIndexWasLostIsNotCollectedWhileAListedBackupNeedsItsChunks() throws IOException {
        BackupResult b = backupOnce(ChunkedArtifactTest.data(12, 2 << 20));
        List<Path> packs = list("chunks/packs", ".pack");
        assertThat(packs).isNotEmpty();
        for (Path idx : list("chunks/index", ".idx")) {
            Files.delete(idx); // bad luck: the pack is whole, its chunks can still be found by scanning it
        }
        Repository repo = Repository.open(new FileStorageBackend(repoDir()), Instant.now());
        Clock later = Clock.offset(Clock.systemUTC(), Duration.ofHours(1)); // the packs look old

        ChunkCollection gc = new ChunkGc(repo, later, Duration.ofMinutes(1), Duration.ofSeconds(1)).collect(false);

        assertThat(list("chunks/packs", ".pack")).isEqualTo(packs);
        assertThat(gc.packsDeleted() + gc.orphanPacks()).isZero();
        assertThat(gc.skipped()).contains(b.id()).contains("no chunk index");
    }

    @Test
    void aNewBackupStoresAgainTheChunksWhosePackIsGoneInsteadOfReferringToThem() throws IOException {
        byte[] content = ChunkedArtifactTest.data(13, 3 << 20);
        backupOnce(content);
        for (Path p : list("chunks/packs", ".pack")) {
            Files.delete(p); // lost (a bucket lifecycle rule, an operator); the indexes stay
        }
        Repository repo = Repository.open(new FileStorageBackend(repoDir()), Instant.now());
        storesEveryChunkAgainAndRestores(repo, content);
    }

    @Test
    void aNewBackupDoesNotReferToChunksOfAPackShorterThanItsIndexSays() throws IOException {
        byte[] content = ChunkedArtifactTest.data(14, 3 << 20);
        backupOnce(content);
        for (Path p : list("chunks/packs", ".pack")) {
            byte[] bytes = Files.readAllBytes(p);
            Files.write(p, Arrays.copyOf(bytes, bytes.length / 2)); // a torn copy of the repository
        }
        Repository repo = Repository.open(new FileStorageBackend(repoDir()), Instant.now());
        storesEveryChunkAgainAndRestores(repo, content);
        assertThat(repo.chunks().refresh().problems())
                .anySatisfy(p -> assertThat(p).contains("shorter"));
    }

    @Test
    void anIndexOfEmptyLinesIsRefusedWithoutSplittingItIntoMillionsOfStrings() {
        String pack = "0123456789abcdef0123456789abcdef";
        String head = ChunkStore.INDEX_HEADER + " " + pack + " 100 " + "ab".repeat(32) + "\n";
        byte[] content = new byte[ChunkStore.MAX_INDEX_BYTES];
        Arrays.fill(content, (byte) '\n');
        System.arraycopy(head.getBytes(StandardCharsets.US_ASCII), 0, content, 0, head.length());
        var threads = (ThreadMXBean) ManagementFactory.getThreadMXBean();
        long before = threads.getCurrentThreadAllocatedBytes();

        assertThatThrownBy(() -> ChunkStore.parseIndex(pack, content))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("line 2 is malformed");

        long allocated = threads.getCurrentThreadAllocatedBytes() - before;
        assertThat(allocated).isLessThan(3L * ChunkStore.MAX_INDEX_BYTES);
    }

    @Test
    void aChunkListOfEmptyLinesIsRefusedWithoutSplittingItIntoMillionsOfStrings() {
        byte[] content = new byte[64 << 20]; // a forged manifest of an unsigned repository can vouch for it
        Arrays.fill(content, (byte) '\n');
        byte[] head = (ChunkedArtifactWriter.LIST_HEADER + " sha256\n").getBytes(StandardCharsets.US_ASCII);
        System.arraycopy(head, 0, content, 0, head.length);
        var threads = (ThreadMXBean) ManagementFactory.getThreadMXBean();
        long before = threads.getCurrentThreadAllocatedBytes();

        assertThatThrownBy(() ->
                        ChunkedArtifactReader.parseList(content, 100, new ArrayList<>(), new String[1], "artifact x"))
                .isInstanceOf(CorruptDataException.class)
                .hasMessageContaining("line 2 of its chunk list is malformed");

        assertThat(threads.getCurrentThreadAllocatedBytes() - before).isLessThan(3L * content.length);
    }

    @Test
    void anIndexEntryWhoseEndOverflowsIsRefused() {
        String pack = "0123456789abcdef0123456789abcdef";
        long max = Long.MAX_VALUE;
        String index = ChunkStore.INDEX_HEADER + " " + pack + " " + max + " " + "ab".repeat(32) + "\n" + "cd".repeat(32)
                + " " + pack + " " + (max - 10) + " 1000 1000 0000abcd\n";

        assertThatThrownBy(() -> ChunkStore.parseIndex(pack, index.getBytes(StandardCharsets.US_ASCII)))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("line 2 points outside the pack");
    }

    @Test
    void anIndexEntryWhoseFrameIsFarLargerThanItsChunkCouldCompressToIsRefused() {
        String pack = "0123456789abcdef0123456789abcdef";
        String id = "cd".repeat(32);
        int frame = 60 << 20;
        String index = ChunkStore.INDEX_HEADER + " " + pack + " " + frame + " " + "ab".repeat(32) + "\n" + id + " "
                + pack + " 0 " + frame + " 1000 0000abcd\n";

        assertThatThrownBy(() -> ChunkStore.parseIndex(pack, index.getBytes(StandardCharsets.US_ASCII)))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("line 2");
        // what zstd makes of 4 MiB it cannot compress still fits
        String sound = ChunkStore.INDEX_HEADER + " " + pack + " " + (5 << 20) + " " + "ab".repeat(32) + "\n" + id + " "
                + pack + " 0 " + ((4 << 20) + 200) + " " + (4 << 20) + " 0000abcd\n";
        assertThat(ChunkStore.parseIndex(pack, sound.getBytes(StandardCharsets.US_ASCII))
                        .chunks())
                .containsKey(id);
    }
}
