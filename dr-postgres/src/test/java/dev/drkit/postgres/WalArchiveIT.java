package dev.drkit.postgres;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.drkit.ChecksumMismatchException;
import dev.drkit.DrException;
import dev.drkit.DrKit;
import dev.drkit.ObjectExistsException;
import dev.drkit.spi.FileArchive;
import dev.drkit.testkit.PostgresServer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** wal-push / wal-fetch semantics on real WAL segments of two real clusters. */
class WalArchiveIT {
    static PostgresServer a;
    static PostgresServer b;

    @TempDir
    Path dir;

    @BeforeAll
    static void start() throws Exception {
        a = PostgresServer.start();
        b = PostgresServer.start();
    }

    @AfterAll
    static void stop() {
        if (a != null) {
            a.close();
        }
        if (b != null) {
            b.close();
        }
    }

    /** A copy of one of the cluster's WAL segments. */
    private Path segment(PostgresServer pg, String copyName) throws Exception {
        pg.execute(
                "postgres", "CREATE TABLE IF NOT EXISTS t (x int); INSERT INTO t VALUES (1); SELECT pg_switch_wal();");
        Path first;
        try (Stream<Path> s = Files.list(pg.dataDir().resolve("pg_wal"))) {
            first = s.filter(p -> WalArchive.isWalFileName(p.getFileName().toString()))
                    .sorted()
                    .findFirst()
                    .orElseThrow();
        }
        Path copyDir = Files.createDirectories(dir.resolve(copyName));
        return Files.copy(first, copyDir.resolve(first.getFileName()));
    }

    @Test
    void pushIsDurableIdempotentAndRefusesOtherBytesOrAnotherClustersWal() throws Exception {
        try (DrKit kit =
                DrKit.builder().repository(dir.resolve("repo").toString()).build()) {
            WalArchive wal = new WalArchive(kit.archive(WalArchive.AREA));
            Path seg = segment(a, "a");
            String name = seg.getFileName().toString();
            long sysA = WalArchive.systemIdentifier(a.dataDir());

            assertThat(wal.push(seg, a.dataDir())).isEqualTo(FileArchive.PutResult.STORED);
            assertThat(wal.push(seg, a.dataDir())).isEqualTo(FileArchive.PutResult.ALREADY_STORED);
            assertThat(wal.contains(sysA, name)).isTrue();
            try (Stream<Path> s = Files.walk(dir.resolve("repo/wal"))) {
                assertThat(s.map(p -> p.getFileName().toString()))
                        .contains(
                                name + ".zst", name + ".zst.sha256", Long.toUnsignedString(sysA), name.substring(0, 8));
            }

            Path changed = Files.createDirectories(dir.resolve("changed")).resolve(name);
            byte[] bytes = Files.readAllBytes(seg);
            bytes[bytes.length - 100] ^= 1;
            Files.write(changed, bytes);
            assertThatThrownBy(() -> wal.push(changed, a.dataDir()))
                    .isInstanceOf(ObjectExistsException.class)
                    .hasMessageContaining("other content");

            // cluster b's pg_control names another system: a's segment is refused for it
            assertThatThrownBy(() -> wal.push(seg, b.dataDir()))
                    .isInstanceOf(DrException.class)
                    .hasMessageContaining(
                            "belongs to the cluster with system identifier " + Long.toUnsignedString(sysA));

            // fetch: found, byte-identical; unknown names and other clusters' WAL are not found
            Path restored = dir.resolve("fetched");
            assertThat(wal.fetch(name, restored, a.dataDir())).isTrue();
            assertThat(Files.mismatch(restored, seg)).isEqualTo(-1L);
            assertThat(wal.fetch("00000002.history", dir.resolve("h"), a.dataDir()))
                    .isFalse();
            assertThat(wal.fetch("0000000100000000000000FF", dir.resolve("x"), a.dataDir()))
                    .isFalse();
            assertThat(wal.fetch(name, dir.resolve("y"), b.dataDir())).isFalse();

            // a corrupted stored segment fails the fetch and leaves nothing at the target
            Path stored;
            try (Stream<Path> s = Files.walk(dir.resolve("repo/wal"))) {
                stored = s.filter(p -> p.getFileName().toString().equals(name + ".zst"))
                        .findFirst()
                        .orElseThrow();
            }
            byte[] z = Files.readAllBytes(stored);
            z[z.length / 2] ^= 1;
            Files.write(stored, z);
            Path broken = dir.resolve("broken");
            assertThatThrownBy(() -> wal.fetch(name, broken, a.dataDir()))
                    .isInstanceOf(ChecksumMismatchException.class);
            assertThat(broken).doesNotExist();
            try (Stream<Path> s = Files.list(dir)) {
                assertThat(s.map(p -> p.getFileName().toString())).noneMatch(n -> n.contains(".drkit-"));
            }
        }
    }
}
