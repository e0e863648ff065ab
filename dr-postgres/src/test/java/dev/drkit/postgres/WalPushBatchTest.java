package dev.drkit.postgres;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.drkit.ArtifactInfo;
import dev.drkit.ConfigException;
import dev.drkit.StorageException;
import dev.drkit.spi.FileArchive;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.FileTime;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The asynchronous archive_command's batch, spool and reporting, on a fault-injecting archive. */
class WalPushBatchTest {
    @TempDir
    Path dir;

    Path data;
    Path spoolDir;
    FakeArchive archive;

    @BeforeEach
    void cluster() throws IOException {
        data = dir.resolve("data");
        Files.createDirectories(data.resolve("global"));
        Files.createDirectories(data.resolve("pg_wal/archive_status"));
        pgControl(42);
        spoolDir = dir.resolve("spool");
        archive = new FakeArchive();
    }

    private void pgControl(long systemId) throws IOException {
        Files.write(
                data.resolve("global/pg_control"),
                ByteBuffer.allocate(16)
                        .order(ByteOrder.LITTLE_ENDIAN)
                        .putLong(systemId)
                        .array());
    }

    private static String seg(int n) {
        return String.format("0000000100000000%08X", n);
    }

    /** A WAL file in pg_wal marked ready, holding its own name. */
    private Path ready(String name) throws IOException {
        Path p = Files.writeString(data.resolve("pg_wal").resolve(name), "bytes of " + name);
        Files.createFile(data.resolve("pg_wal/archive_status").resolve(name + ".ready"));
        return p;
    }

    private void done(String name) throws IOException {
        Path status = data.resolve("pg_wal/archive_status");
        Files.move(status.resolve(name + ".ready"), status.resolve(name + ".done"));
    }

    private WalPushBatch batch(int queue, int jobs, List<WalSpool.Failure> reported) throws IOException {
        return WalPushBatch.builder()
                .archive(new WalArchive(archive))
                .dataDirectory(data)
                .spool(spoolDir)
                .queueSize(queue)
                .jobs(jobs)
                .linger(Duration.ZERO)
                .failureReporter(reported::add)
                .build();
    }

    @Test
    void aBatchIsBoundedByTheQueueSizeInTheArchiversOrderAndAcknowledgesEachFile() throws IOException {
        for (int i = 10; i >= 1; i--) {
            ready(seg(i));
        }
        ready("00000002.history");
        Files.createFile(data.resolve("pg_wal/archive_status/not-wal.ready"));
        Files.createFile(data.resolve("pg_wal/archive_status").resolve(seg(99) + ".ready")); // no file in pg_wal

        WalPushBatch.Result r =
                batch(4, 2, new ArrayList<>()).push(data.resolve("pg_wal").resolve(seg(1)));

        assertThat(r.alreadyAcknowledged()).isFalse();
        assertThat(r.pushed()).containsExactly(seg(1), "00000002.history", seg(2), seg(3));
        assertThat(r.failed()).isEmpty();
        assertThat(archive.stored.keySet())
                .containsExactlyInAnyOrder(
                        "42/00000001/" + seg(1),
                        "42/00000002/00000002.history",
                        "42/00000001/" + seg(2),
                        "42/00000001/" + seg(3));
        assertThat(archive.maxConcurrent.get()).isBetween(1, 2);
        assertThat(spoolFiles())
                .containsExactlyInAnyOrder(
                        "cluster", seg(1) + ".ok", "00000002.history.ok", seg(2) + ".ok", seg(3) + ".ok");
        // what `stat -c '%d %i %s %.9Y'` prints for the file pushed: device, inode, size, modification time
        assertThat(Files.readString(spoolDir.resolve(seg(2) + ".ok")))
                .matches("\\d+ \\d+ " + Files.size(data.resolve("pg_wal").resolve(seg(2))) + " \\d+\\.\\d{9}\n");
    }

    @Test
    void filesMarkedReadyWhileTheBatchPushesAreTakenByTheSameCallUpToTheQueueSize() throws IOException {
        ready(seg(1));
        archive.onPut = path -> {
            int n = archive.puts.get();
            if (n <= 6) {
                try {
                    ready(seg(n + 1)); // the burst goes on: one more segment per push
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
            }
        };
        WalPushBatch.Result r =
                batch(5, 2, new ArrayList<>()).push(data.resolve("pg_wal").resolve(seg(1)));
        assertThat(r.pushed()).containsExactly(seg(1), seg(2), seg(3), seg(4), seg(5));
        assertThat(spoolFiles()).contains(seg(5) + ".ok").doesNotContain(seg(6) + ".ok");
    }

    @Test
    void aCallThatPushedEverythingTakesFilesMarkedReadyWithinItsLinger() throws Exception {
        ready(seg(1));
        WalPushBatch b = WalPushBatch.builder()
                .archive(new WalArchive(archive))
                .dataDirectory(data)
                .spool(spoolDir)
                .linger(Duration.ofSeconds(3))
                .build();
        Thread later = new Thread(() -> {
            try {
                while (archive.puts.get() == 0) {
                    Thread.sleep(5);
                }
                ready(seg(2)); // after the first push, while the call waits
            } catch (IOException | InterruptedException e) {
                throw new IllegalStateException(e);
            }
        });
        later.start();
        long t0 = System.nanoTime();
        WalPushBatch.Result r = b.push(data.resolve("pg_wal").resolve(seg(1)));
        later.join();
        assertThat(r.pushed()).containsExactly(seg(1), seg(2));
        assertThat(Duration.ofNanos(System.nanoTime() - t0)).isGreaterThanOrEqualTo(Duration.ofSeconds(3));
    }

    private WalPushBatch lingeringWhileWriting() throws IOException {
        return WalPushBatch.builder()
                .archive(new WalArchive(archive))
                .dataDirectory(data)
                .spool(spoolDir)
                .linger(Duration.ofSeconds(30))
                .lingerWhileWriting(true)
                .build();
    }

    @Test
    void aCallLingeringWhileWritingFollowsTheSegmentBeingWrittenAndReturnsOnceWritingStops() throws Exception {
        ready(seg(1));
        Path current = Files.writeString(data.resolve("pg_wal").resolve(seg(2)), "being written");
        WalPushBatch b = lingeringWhileWriting();
        Thread postgres = new Thread(() -> {
            try {
                while (archive.puts.get() == 0) {
                    Thread.sleep(5);
                }
                for (int i = 0; i < 20; i++) { // about 0.8 s of writes into segment 2, then it is complete
                    Files.writeString(current, "more", StandardOpenOption.APPEND);
                    Thread.sleep(40);
                }
                Files.createFile(data.resolve("pg_wal/archive_status").resolve(seg(2) + ".ready"));
            } catch (IOException | InterruptedException e) {
                throw new IllegalStateException(e);
            }
        });
        postgres.start();
        long t0 = System.nanoTime();

        WalPushBatch.Result r = b.push(data.resolve("pg_wal").resolve(seg(1)));

        Duration took = Duration.ofNanos(System.nanoTime() - t0);
        postgres.join();
        assertThat(r.pushed())
                .as("the segment written while the call waited is taken by the same call")
                .containsExactly(seg(1), seg(2));
        assertThat(took)
                .as("returns soon after the writes stop, not after the 30 s linger")
                .isBetween(Duration.ofMillis(700), Duration.ofSeconds(10));
    }

    @Test
    void aCallLingeringWhileWritingReturnsPromptlyWhenNothingIsWritten() throws Exception {
        ready(seg(1));
        Path idle = Files.writeString(data.resolve("pg_wal").resolve(seg(2)), "not written any more");
        Files.setLastModifiedTime(idle, FileTime.fromMillis(System.currentTimeMillis() - 60_000));
        WalPushBatch b = lingeringWhileWriting();
        long t0 = System.nanoTime();

        WalPushBatch.Result r = b.push(data.resolve("pg_wal").resolve(seg(1)));

        assertThat(r.pushed()).containsExactly(seg(1));
        assertThat(Duration.ofNanos(System.nanoTime() - t0)).isLessThan(Duration.ofSeconds(5));
    }

    @Test
    void anAcknowledgedFileReturnsAtOnceWithoutTouchingTheRepository() throws IOException {
        for (int i = 1; i <= 3; i++) {
            ready(seg(i));
        }
        WalPushBatch b = batch(64, 2, new ArrayList<>());
        b.push(data.resolve("pg_wal").resolve(seg(1)));
        int puts = archive.puts.get();
        assertThat(puts).isEqualTo(3);

        done(seg(1));
        WalPushBatch.Result again = b.push(data.resolve("pg_wal").resolve(seg(2)));
        assertThat(again.alreadyAcknowledged()).isTrue();
        assertThat(again.pushed()).isEmpty();
        assertThat(archive.puts.get()).isEqualTo(puts);

        // a file of another size than the acknowledged one is not acknowledged: pushed, and refused
        Files.writeString(data.resolve("pg_wal").resolve(seg(3)), "other bytes of " + seg(3));
        assertThatThrownBy(() -> b.push(data.resolve("pg_wal").resolve(seg(3))))
                .isInstanceOf(ConfigException.class)
                .hasMessageContaining("other content");
    }

    @Test
    void aFailedUploadOfAnotherFileIsRecordedReportedOnTheNextCallAndPushedAgain() throws IOException {
        for (int i = 1; i <= 4; i++) {
            ready(seg(i));
        }
        archive.failing.add(seg(3));
        List<WalSpool.Failure> reported = new ArrayList<>();
        WalPushBatch b = batch(64, 2, reported);

        WalPushBatch.Result r = b.push(data.resolve("pg_wal").resolve(seg(1)));
        assertThat(r.pushed()).containsExactly(seg(1), seg(2), seg(4));
        assertThat(r.failed()).extracting(WalSpool.Failure::name).containsExactly(seg(3));
        assertThat(reported).isEmpty();
        assertThat(spoolDir.resolve(seg(3) + ".ok")).doesNotExist();
        assertThat(Files.readString(spoolDir.resolve(seg(3) + ".error"))).contains("disk on fire");

        done(seg(1));
        done(seg(2));
        // the asked file failing fails the call: PostgreSQL keeps it and asks again
        assertThatThrownBy(() -> b.push(data.resolve("pg_wal").resolve(seg(3))))
                .isInstanceOf(StorageException.class)
                .hasMessageContaining("disk on fire");
        assertThat(reported).extracting(WalSpool.Failure::name).containsExactly(seg(3));
        assertThat(reported.get(0).message()).contains("disk on fire");

        archive.failing.clear();
        reported.clear();
        WalPushBatch.Result retried = b.push(data.resolve("pg_wal").resolve(seg(3)));
        assertThat(reported).extracting(WalSpool.Failure::name).containsExactly(seg(3));
        assertThat(retried.pushed()).containsExactly(seg(3));
        assertThat(spoolDir.resolve(seg(3) + ".error")).doesNotExist();
        assertThat(b.spool().failures()).isEmpty();
    }

    @Test
    void acknowledgementsOfFilesNoLongerReadyAndLeftoverTemporaryFilesAreRemoved() throws IOException {
        for (int i = 1; i <= 5; i++) {
            ready(seg(i));
        }
        WalPushBatch b = batch(3, 2, new ArrayList<>());
        b.push(data.resolve("pg_wal").resolve(seg(1)));
        Files.writeString(spoolDir.resolve(".tmp-" + seg(9) + ".ok-123"), "half");
        done(seg(1));
        done(seg(2));
        Files.delete(data.resolve("pg_wal/archive_status").resolve(seg(3) + ".ready")); // removed with its file
        Files.delete(data.resolve("pg_wal").resolve(seg(3)));

        b.push(data.resolve("pg_wal").resolve(seg(4)));

        assertThat(spoolFiles()).containsExactlyInAnyOrder("cluster", seg(4) + ".ok", seg(5) + ".ok");
    }

    @Test
    void theSpoolIsPrivateOutsideTheDataDirectoryAndForgetsAnotherClustersAcknowledgements() throws IOException {
        ready(seg(1));
        batch(64, 1, new ArrayList<>()).push(data.resolve("pg_wal").resolve(seg(1)));
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(spoolDir)))
                .isEqualTo("rwx------");
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(spoolDir.resolve(seg(1) + ".ok"))))
                .isEqualTo("rw-------");

        Files.setPosixFilePermissions(spoolDir, PosixFilePermissions.fromString("rwxr-x---"));
        assertThatThrownBy(() -> batch(64, 1, new ArrayList<>()))
                .isInstanceOf(ConfigException.class)
                .hasMessageContaining("open to other users")
                .hasMessageContaining("chmod 700");
        Files.setPosixFilePermissions(spoolDir, PosixFilePermissions.fromString("rwx------"));

        for (Path inside : List.of(data.resolve("pg_wal/spool"), data.resolve("drkit-spool"))) {
            assertThatThrownBy(() -> WalSpool.open(inside, data))
                    .isInstanceOf(ConfigException.class)
                    .hasMessageContaining("inside the data directory");
            assertThat(inside).doesNotExist();
        }

        // a re-created cluster (another system identifier) must not inherit acknowledgements
        pgControl(7);
        WalSpool other = WalSpool.open(spoolDir, data);
        assertThat(spoolFiles()).containsExactly("cluster");
        assertThat(other.isAcknowledged(seg(1), data.resolve("pg_wal").resolve(seg(1))))
                .isFalse();
    }

    /** The documented fast path, as the shell runs it (PostgreSQL turns %% into %). */
    private static String shellFastPath(Path segment, Path ack) {
        return "read -r ack 2>/dev/null < '" + ack + "' && test \"$ack\" = \"$(stat -c \"%d %i %s %.9Y\" '" + segment
                + "')\"";
    }

    @Test
    void anAcknowledgementNamesTheFilePushedSoTheShellAndJavaRefuseAStaleOne() throws Exception {
        Path segment = ready(seg(1));
        Files.setLastModifiedTime(segment, FileTime.from(Instant.parse("2026-01-01T00:00:00.5Z"))); // written long ago
        batch(64, 1, new ArrayList<>()).push(segment);
        Path ack = spoolDir.resolve(seg(1) + ".ok");
        String shellTest = shellFastPath(segment, ack);
        assertThat(sh(shellTest)).as("the documented fast path accepts it").isZero();
        assertThat(WalSpool.open(spoolDir, data).isAcknowledged(seg(1), segment))
                .isTrue();
        assertThat(sh(shellFastPath(data.resolve("pg_wal").resolve(seg(2)), spoolDir.resolve(seg(2) + ".ok"))))
                .as("no acknowledgement: the fast path falls through to Java")
                .isNotZero();

        // the same name, rewritten in place with other bytes (a data directory rolled back)
        FileTime mtime = Files.getLastModifiedTime(segment);
        byte[] bytes = Files.readAllBytes(segment);
        bytes[bytes.length / 2] ^= 0x01;
        Files.write(segment, bytes);
        assertThat(sh(shellTest)).as("the fast path no longer accepts it").isNotZero();
        assertThat(WalSpool.open(spoolDir, data).isAcknowledged(seg(1), segment))
                .isFalse();

        // a new file under the same name, even one dated as the old one was (a restore that keeps times)
        Path fresh = data.resolve("pg_wal").resolve(seg(1) + ".new");
        Files.write(fresh, bytes);
        Files.setLastModifiedTime(fresh, mtime);
        Files.move(fresh, segment, StandardCopyOption.REPLACE_EXISTING);
        assertThat(sh(shellTest)).as("nor a new file with the old time").isNotZero();
        assertThat(WalSpool.open(spoolDir, data).isAcknowledged(seg(1), segment))
                .isFalse();
    }

    @Test
    void theAcknowledgementIsWhatGnuStatPrints() throws Exception {
        Path f = data.resolve("some-file");
        Files.write(f, new byte[12_345]);
        for (FileTime t : List.of(
                FileTime.from(Instant.parse("2026-12-03T10:15:30.123456789Z")),
                FileTime.from(Instant.parse("2026-12-03T10:15:30Z")),
                FileTime.from(Instant.EPOCH))) {
            Files.setLastModifiedTime(f, t);
            Process p = new ProcessBuilder("stat", "-c", "%d %i %s %.9Y", f.toString()).start();
            String tool = new String(p.getInputStream().readAllBytes(), StandardCharsets.US_ASCII).strip();
            assertThat(p.waitFor()).isZero();
            assertThat(WalSpool.identity(f)).as(t.toString()).isEqualTo(tool);
        }
        assertThat(WalSpool.identity(data.resolve("no-such-file"))).isNull();
    }

    @Test
    void aFileReplacedWhilePushedIsStoredButNotAcknowledged() throws IOException {
        ready(seg(1));
        ready(seg(2));
        Path second = data.resolve("pg_wal").resolve(seg(2));
        archive.onPut = path -> {
            if (path.endsWith(seg(2))) {
                try { // replaced between the read and the acknowledgement
                    Path tmp = second.resolveSibling("tmp");
                    Files.write(tmp, Files.readAllBytes(second));
                    Files.move(tmp, second, StandardCopyOption.REPLACE_EXISTING);
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
            }
        };
        WalPushBatch.Result r =
                batch(64, 1, new ArrayList<>()).push(data.resolve("pg_wal").resolve(seg(1)));
        assertThat(r.pushed()).containsExactly(seg(1), seg(2));
        assertThat(spoolFiles()).containsExactlyInAnyOrder("cluster", seg(1) + ".ok");
    }

    private static int sh(String script) throws Exception {
        Process p =
                new ProcessBuilder("sh", "-c", script).redirectErrorStream(true).start();
        p.getInputStream().readAllBytes();
        return p.waitFor();
    }

    @Test
    void badSettingsAreRefusedAtTheCall() {
        assertThatThrownBy(() -> WalPushBatch.builder().queueSize(0)).hasMessageContaining("queueSize");
        assertThatThrownBy(() -> WalPushBatch.builder().jobs(65)).hasMessageContaining("jobs");
        assertThatThrownBy(() -> WalPushBatch.builder().linger(Duration.ofMinutes(2)))
                .hasMessageContaining("linger");
        assertThatThrownBy(() -> WalPushBatch.builder().build())
                .isInstanceOf(ConfigException.class)
                .hasMessageContaining("archive, dataDirectory, spool");
    }

    private List<String> spoolFiles() throws IOException {
        try (Stream<Path> s = Files.list(spoolDir)) {
            return s.map(p -> p.getFileName().toString()).sorted().toList();
        }
    }

    /** An archive in memory whose puts of chosen names fail; it counts puts and concurrent puts. */
    static final class FakeArchive implements FileArchive {
        final Map<String, byte[]> stored = new ConcurrentHashMap<>();
        final Set<String> failing = ConcurrentHashMap.newKeySet();
        final AtomicInteger puts = new AtomicInteger();
        final AtomicInteger running = new AtomicInteger();
        final AtomicInteger maxConcurrent = new AtomicInteger();
        final List<String> order = new CopyOnWriteArrayList<>();
        volatile Consumer<String> onPut = path -> {};

        @Override
        public PutResult put(String path, InputStream raw, SameContent same) throws IOException {
            maxConcurrent.accumulateAndGet(running.incrementAndGet(), Math::max);
            try {
                puts.incrementAndGet();
                order.add(path);
                onPut.accept(path);
                byte[] bytes = raw.readAllBytes();
                if (failing.stream().anyMatch(path::endsWith)) {
                    throw new StorageException("uploading " + path + " failed: disk on fire", null, true);
                }
                byte[] old = stored.putIfAbsent(path, bytes);
                if (old == null) {
                    return PutResult.STORED;
                }
                if (same.test(new ByteArrayInputStream(old))) {
                    return PutResult.ALREADY_STORED;
                }
                throw new ConfigException(path + " is already stored with other content");
            } finally {
                running.decrementAndGet();
            }
        }

        @Override
        public Optional<InputStream> open(String path) {
            return Optional.ofNullable(stored.get(path)).map(ByteArrayInputStream::new);
        }

        @Override
        public Optional<ArtifactInfo> info(String path) {
            return Optional.empty();
        }

        @Override
        public List<String> list(String prefix) {
            return stored.keySet().stream()
                    .filter(k -> k.startsWith(prefix))
                    .sorted()
                    .toList();
        }

        @Override
        public void delete(String path) {
            stored.remove(path);
        }

        @Override
        public String describe() {
            return "memory";
        }
    }
}
