package dev.drkit.postgres;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.drkit.ArtifactInfo;
import dev.drkit.ConfigException;
import dev.drkit.DrException;
import dev.drkit.StorageException;
import dev.drkit.spi.FileArchive;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
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
import java.util.Arrays;
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

    private static final int SEGMENT_SIZE = 1 << 20; // the smallest PostgreSQL allows: small test files

    /**
     * The bytes of a WAL file: for a segment, 1 MiB starting with the long page header
     * PostgreSQL writes (system identifier 42, the segment's address), then bytes that differ
     * per name and seed; for another WAL file, a line naming it.
     */
    static byte[] walBytes(String name, int seed) {
        if (name.length() != 24) {
            return ("bytes of " + name + " " + seed).getBytes(StandardCharsets.US_ASCII);
        }
        byte[] b = new byte[SEGMENT_SIZE];
        for (int i = 64; i < b.length; i += 97) {
            b[i] = (byte) (name.hashCode() + seed + i);
        }
        long segno = Long.parseLong(name.substring(8, 16), 16) * (0x1_0000_0000L / SEGMENT_SIZE)
                + Long.parseLong(name.substring(16), 16);
        ByteBuffer.wrap(b)
                .order(ByteOrder.LITTLE_ENDIAN)
                .putShort(0, (short) 0xD110)
                .putShort(2, (short) 0x0006)
                .putInt(4, Integer.parseInt(name.substring(0, 8), 16))
                .putLong(8, segno * SEGMENT_SIZE)
                .putLong(24, 42)
                .putInt(32, SEGMENT_SIZE)
                .putInt(36, 8192);
        return b;
    }

    /** A WAL file in pg_wal marked ready. */
    private Path ready(String name) throws IOException {
        Path p = Files.write(data.resolve("pg_wal").resolve(name), walBytes(name, 0));
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
        // 1, then what `stat -c '%d %i %s %.9Y %.9Z'` prints for the file pushed: device, inode, size, times
        assertThat(Files.readString(spoolDir.resolve(seg(2) + ".ok")))
                .matches("1 \\d+ \\d+ " + Files.size(data.resolve("pg_wal").resolve(seg(2)))
                        + " \\d+\\.\\d{9} \\d+\\.\\d{9}\n");
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
        return lingeringWhileWriting(Duration.ofMillis(WalPushBatch.WRITING_QUIET_MILLIS));
    }

    private WalPushBatch lingeringWhileWriting(Duration quiet) throws IOException {
        return WalPushBatch.builder()
                .archive(new WalArchive(archive))
                .dataDirectory(data)
                .spool(spoolDir)
                .linger(Duration.ofSeconds(30))
                .lingerWhileWriting(true)
                .writingQuiet(quiet)
                .build();
    }

    @Test
    void aCallLingeringWhileWritingFollowsTheSegmentBeingWrittenAndReturnsOnceWritingStops() throws Exception {
        ready(seg(1));
        Path current = Files.write(data.resolve("pg_wal").resolve(seg(2)), walBytes(seg(2), 0));
        // a quiet period longer than the default: the stand-in for PostgreSQL below may stall past
        // 150 ms between writes on a loaded machine, which would end the call before segment 2
        WalPushBatch b = lingeringWhileWriting(Duration.ofSeconds(1));
        Thread postgres = new Thread(() -> {
            try {
                while (archive.puts.get() == 0) {
                    Thread.sleep(5);
                }
                for (int i = 0; i < 20; i++) { // about 0.8 s of writes into segment 2, then it is complete
                    try (FileChannel ch = FileChannel.open(current, StandardOpenOption.WRITE)) {
                        ch.write(ByteBuffer.wrap(new byte[] {(byte) i}), 8192 + i);
                    }
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
        Path idle = Files.write(data.resolve("pg_wal").resolve(seg(2)), walBytes(seg(2), 0));
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

        // another file under the acknowledged name is not acknowledged: pushed, and refused
        Files.write(data.resolve("pg_wal").resolve(seg(3)), walBytes(seg(3), 1));
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
        return "read -r ack 2>/dev/null < '" + ack
                + "' && test \"$ack\" = \"1 $(LC_ALL=C stat -c \"%d %i %s %.9Y %.9Z\" '" + segment + "')\"";
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

        // nor one made after the old one is gone (its inode number may come back) and given its time
        Files.writeString(ack, "1 " + WalSpool.identity(segment) + "\n");
        Object inode = Files.getAttribute(segment, "unix:ino");
        FileTime time = Files.getLastModifiedTime(segment);
        Files.delete(segment);
        Files.write(segment, bytes);
        Files.setLastModifiedTime(segment, time);
        System.out.printf("WalPushBatchTest: inode %s, then %s%n", inode, Files.getAttribute(segment, "unix:ino"));
        assertThat(sh(shellTest))
                .as("nor a file made again under the old inode and time")
                .isNotZero();
        assertThat(WalSpool.open(spoolDir, data).isAcknowledged(seg(1), segment))
                .isFalse();

        // nor a symbolic link, nor a blank acknowledgement of a file that is not there
        Path target = Files.move(segment, data.resolve("elsewhere"));
        Files.createSymbolicLink(segment, target);
        Files.writeString(ack, "1 " + WalSpool.identity(target) + "\n");
        assertThat(WalSpool.identity(segment)).isNull();
        assertThat(WalSpool.open(spoolDir, data).isAcknowledged(seg(1), segment))
                .isFalse();
        Files.writeString(ack, "\n");
        assertThat(sh(shellFastPath(data.resolve("pg_wal").resolve(seg(7)), ack)))
                .as("a blank acknowledgement and no file")
                .isNotZero();
    }

    @Test
    void aSpoolThatMeetsAnotherRepositoryForgetsItsAcknowledgements() throws IOException {
        Path segment = ready(seg(1));
        WalSpool a = WalSpool.open(spoolDir, data, "/var/backups/a");
        a.acknowledge(seg(1), segment, WalSpool.identity(segment));
        assertThat(a.forgotAnotherRepository()).isFalse();
        assertThat(WalSpool.open(spoolDir, data, "/var/backups/a").isAcknowledged(seg(1), segment))
                .isTrue();
        assertThat(WalSpool.open(spoolDir, data).isAcknowledged(seg(1), segment))
                .as("a caller that names no repository keeps them")
                .isTrue();

        WalSpool b = WalSpool.open(spoolDir, data, "s3://bucket/other");
        assertThat(b.forgotAnotherRepository()).isTrue();
        assertThat(b.isAcknowledged(seg(1), segment)).isFalse();
        assertThat(spoolFiles()).containsExactly("cluster");
        assertThat(Files.readString(spoolDir.resolve("cluster")))
                .as("only a hash of the location")
                .doesNotContain("bucket")
                .matches("42 [0-9a-f]{16}\n");
        assertThat(WalSpool.open(spoolDir, data, "s3://bucket/other").forgotAnotherRepository())
                .isFalse();
    }

    /**
     * The README's archive_command line itself, after PostgreSQL 16's substitution (%p, %f and
     * %%; any other % is an error there), run by the shell in the data directory as the
     * archiver runs it, with the spool and the Java fallback replaced.
     */
    @Test
    void theReadmesArchiveCommandAcceptsAnAcknowledgedSegmentAndFallsThroughOtherwise() throws Exception {
        String line = Files.readAllLines(Path.of("..", "README.md")).stream()
                .filter(l -> l.startsWith("archive_command = 'read -r ack"))
                .findFirst()
                .orElseThrow();
        String command =
                line.substring(line.indexOf('\'') + 1, line.lastIndexOf('\'')).replace("''", "'");
        command = command.replace("/var/lib/drkit/archive-spool", spoolDir.toString());
        command = command.substring(0, command.indexOf(" || ")) + " || exit 7";
        Path segment = ready(seg(1));
        batch(64, 1, new ArrayList<>()).push(segment);
        assertThat(sh(PostgresPlaceholders.expand(command, seg(1), "pg_wal/" + seg(1)), data))
                .isZero();
        ready(seg(2));
        assertThat(sh(PostgresPlaceholders.expand(command, seg(2), "pg_wal/" + seg(2)), data))
                .isEqualTo(7);
        Files.writeString(segment, "rolled back", StandardOpenOption.APPEND);
        assertThat(sh(PostgresPlaceholders.expand(command, seg(1), "pg_wal/" + seg(1)), data))
                .isEqualTo(7);
    }

    @Test
    void aSegmentThatIsNotWhatItsNameSaysIsNeitherStoredNorAcknowledged() throws IOException {
        WalArchive wal = new WalArchive(archive);
        Path pgWal = data.resolve("pg_wal");
        byte[] good = walBytes(seg(4), 0);
        byte[] elsewhere = walBytes(seg(5), 0); // a valid segment, but of another address
        byte[] longer = Arrays.copyOf(good, good.length * 2);
        byte[] noLongHeader = good.clone();
        noLongHeader[2] = 0;
        byte[] oddSize = good.clone();
        ByteBuffer.wrap(oddSize).order(ByteOrder.LITTLE_ENDIAN).putInt(32, 3 << 20);
        Map<String, byte[]> cases = Map.of(
                "no long header", new byte[SEGMENT_SIZE],
                "too few for a WAL page header", Arrays.copyOf(good, 30),
                "not where the segment", elsewhere,
                "but its header gives segments of", longer,
                "impossible segment size", oddSize);
        for (Map.Entry<String, byte[]> c : cases.entrySet()) {
            Path f = Files.write(pgWal.resolve(seg(4)), c.getValue());
            assertThatThrownBy(() -> wal.push(f, data))
                    .as(c.getKey())
                    .isInstanceOf(DrException.class)
                    .hasMessageContaining(seg(4) + " is not archived")
                    .hasMessageContaining(c.getKey().equals("no long header") ? "long header" : c.getKey())
                    .hasMessageContaining("Nothing after it is archived until it is");
        }
        Files.write(pgWal.resolve(seg(4)), noLongHeader);
        assertThatThrownBy(() -> wal.push(pgWal.resolve(seg(4)), data)).hasMessageContaining("no long header");
        assertThat(archive.puts.get()).isZero();

        // through a batch: the call fails, the failure is recorded, nothing is acknowledged
        Files.createFile(pgWal.resolve("archive_status").resolve(seg(4) + ".ready"));
        assertThatThrownBy(() -> batch(64, 1, new ArrayList<>()).push(pgWal.resolve(seg(4))))
                .isInstanceOf(DrException.class);
        assertThat(spoolFiles()).containsExactlyInAnyOrder("cluster", seg(4) + ".error");

        // a big-endian machine's segment (PostgreSQL writes its own byte order) passes too
        byte[] big = new byte[64];
        ByteBuffer.wrap(big)
                .order(ByteOrder.BIG_ENDIAN)
                .putShort(0, (short) 0xD110)
                .putShort(2, (short) 0x0006)
                .putInt(4, 1)
                .putLong(8, 4L * SEGMENT_SIZE)
                .putLong(24, 42)
                .putInt(32, SEGMENT_SIZE)
                .putInt(36, 8192);
        assertThat(WalArchive.segmentHeaderProblem(seg(4), big, big.length, SEGMENT_SIZE))
                .isNull();
        assertThat(WalArchive.segmentHeaderProblem(seg(5), big, big.length, SEGMENT_SIZE))
                .contains("not where the segment");

        // the same file whole is stored; a .partial may be shorter than a segment
        Files.write(pgWal.resolve(seg(4)), good);
        assertThat(wal.push(pgWal.resolve(seg(4)), data)).isEqualTo(FileArchive.PutResult.STORED);
        Path partial = Files.write(pgWal.resolve(seg(5) + ".partial"), Arrays.copyOf(elsewhere, 8192));
        assertThat(wal.push(partial, data)).isEqualTo(FileArchive.PutResult.STORED);
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
            ProcessBuilder pb = new ProcessBuilder("stat", "-c", "%d %i %s %.9Y %.9Z", f.toString());
            pb.environment().put("LC_ALL", "C");
            Process p = pb.start();
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
        return sh(script, null);
    }

    private static int sh(String script, Path dir) throws Exception {
        ProcessBuilder pb = new ProcessBuilder("sh", "-c", script).redirectErrorStream(true);
        if (dir != null) {
            pb.directory(dir.toFile());
        }
        Process p = pb.start();
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

    @Test
    void theBacklogCountsTheWalFilesMarkedReadyAndADroppedRecordOutlivesCleanUp() throws IOException {
        ready(seg(1));
        ready(seg(2));
        ready(seg(3));
        done(seg(3)); // archived: no longer waiting
        Files.createFile(data.resolve("pg_wal/archive_status").resolve(seg(9) + ".ready")); // its file went
        assertThat(WalBacklog.pendingBytes(data)).isEqualTo(2L * SEGMENT_SIZE);

        WalSpool spool = WalSpool.open(spoolDir, data);
        spool.recordDropped(seg(1), Instant.parse("2026-12-07T06:00:00Z"), "the repository is\nunreachable");
        spool.recordFailure(seg(1), "unreachable");
        done(seg(1)); // PostgreSQL took the drop as archived
        spool.cleanUp();
        assertThat(WalSpool.failuresIn(spoolDir))
                .as("the error is gone with the file")
                .isEmpty();
        assertThat(WalSpool.droppedIn(spoolDir))
                .as("the drop stays recorded until removed by hand")
                .containsExactly(
                        new WalSpool.Failure(seg(1), "at 2026-12-07T06:00:00Z: the repository is unreachable"));
    }
}
