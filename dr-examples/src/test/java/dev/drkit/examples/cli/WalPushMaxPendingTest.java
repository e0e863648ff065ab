package dev.drkit.examples.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code wal-push --max-pending}: a WAL file that cannot be archived while the WAL waiting is over
 * the limit is dropped, loudly, instead of filling pg_wal until the cluster stops. The archive here
 * always fails: its repository location is under a file.
 */
class WalPushMaxPendingTest {
    static final String FIRST = "000000010000000000000001";
    static final String BROKEN_REPO = "/dev/null/repository";

    @TempDir
    Path dir;

    Path data;

    /** A data directory whose pg_wal holds two 16 MiB files PostgreSQL marks ready: 32 MiB waiting. */
    @BeforeEach
    void dataDirectory() throws IOException {
        data = Files.createDirectories(dir.resolve("data"));
        Path status = Files.createDirectories(data.resolve("pg_wal/archive_status"));
        for (String name : new String[] {FIRST, "000000010000000000000002"}) {
            try (RandomAccessFile f =
                    new RandomAccessFile(data.resolve("pg_wal/" + name).toFile(), "rw")) {
                f.setLength(16 << 20);
            }
            Files.createFile(status.resolve(name + ".ready"));
        }
        Path control = Files.createDirectories(data.resolve("global")).resolve("pg_control");
        ByteBuffer b = ByteBuffer.allocate(8192).order(ByteOrder.LITTLE_ENDIAN).putLong(7_000_000_000_000_000_001L);
        Files.write(control, b.array());
    }

    private InProcessCli.Run push(String... options) {
        String[] args = new String[options.length + 6];
        args[0] = "--repo";
        args[1] = BROKEN_REPO;
        args[2] = "wal-push";
        args[3] = "--pgdata";
        args[4] = data.toString();
        System.arraycopy(options, 0, args, 5, options.length);
        args[args.length - 1] = "pg_wal/" + FIRST;
        return InProcessCli.run(args);
    }

    @Test
    void withoutALimitAFailedPushFails() {
        InProcessCli.Run r = push();
        assertThat(r.exit()).as(r.err()).isNotZero();
        assertThat(r.err()).doesNotContain("DROPPED");
    }

    @Test
    void underTheLimitAFailedPushStillFails() {
        InProcessCli.Run r = push("--max-pending", "1GiB");
        assertThat(r.exit()).as(r.err()).isNotZero();
        assertThat(r.err()).doesNotContain("DROPPED");
    }

    @Test
    void overTheLimitAFailedPushIsDroppedAndSaysSo() {
        InProcessCli.Run r = push("--max-pending", "16MiB");
        assertThat(r.exit()).as(r.err()).isZero();
        assertThat(r.err())
                .contains("WAL file " + FIRST + " is DROPPED, not archived")
                .contains("(32 MiB) is over --max-pending (16 MiB)")
                .contains("point-in-time recovery past it is impossible")
                .contains("under a file"); // why the push failed
    }

    @Test
    void withASpoolTheDropIsRecordedAndStatusReportsIt() throws IOException {
        Path spool = Files.createDirectory(
                dir.resolve("spool"),
                PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
        InProcessCli.Run r = push("--spool", spool.toString(), "--max-pending", "1MiB");
        assertThat(r.exit()).as(r.err()).isZero();
        assertThat(spool.resolve(FIRST + ".dropped")).exists();

        Path source = Files.createDirectories(dir.resolve("src"));
        Files.writeString(source.resolve("a.txt"), "a");
        String repo = dir.resolve("repo").toString();
        InProcessCli.Run backup =
                InProcessCli.run("--repo", repo, "backup", "files", "--name", "f", "--path", source.toString());
        assertThat(backup.exit()).as(backup.err()).isZero();
        InProcessCli.Run status = InProcessCli.run("--repo", repo, "status", "--wal-spool", spool.toString());
        assertThat(status.out() + status.err())
                .contains("WAL file " + FIRST + " was dropped, not archived")
                .contains("take one, then remove " + spool.resolve(FIRST + ".dropped"));
        assertThat(status.exit()).as("status is unhealthy").isNotZero();
    }

    @Test
    void aSizeThatIsNoSizeIsAUsageError() {
        InProcessCli.Run r = push("--max-pending", "lots");
        assertThat(r.exit()).isEqualTo(2);
        assertThat(r.err()).contains("--max-pending takes a size such as 8GiB");
    }
}
