package dev.drkit.postgres;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.drkit.CorruptDataException;
import dev.drkit.DrException;
import dev.drkit.DrKit;
import dev.drkit.spi.ManifestSigner;
import dev.drkit.spi.ManifestVerifier;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Arrays;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A record's signature bound only its bytes, not its place: under trusted keys a forger without
 * the key put cluster A's signed timeline history in cluster B's place (one signing key for both,
 * as the setup file's sign-with gives), and wal-fetch then served B's old timeline's WAL past the
 * point where B's real timeline 2 branched off: WAL of an abandoned timeline (a split brain's old
 * primary) replayed into a recovery along timeline 2. The signature now covers the record's key
 * (cluster, timeline, name), and the moved file is refused.
 */
class SignedHistoryOfAnotherClusterTest {
    static final long SIZE = WalPrefetchTest.SIZE;
    static final long B = WalPrefetchTest.SYSTEM_ID;
    static final long A = B + 1;

    @TempDir
    Path dir;

    static byte[] reversed(byte[] b) {
        byte[] out = new byte[b.length];
        for (int i = 0; i < b.length; i++) {
            out[i] = b[b.length - 1 - i];
        }
        return out;
    }

    static final ManifestSigner SIGNER = new ManifestSigner() {
        @Override
        public String signatureSuffix() {
            return ".sig";
        }

        @Override
        public byte[] sign(byte[] manifest) {
            return reversed(manifest);
        }
    };

    static final ManifestVerifier TRUSTED = new ManifestVerifier() {
        @Override
        public String signatureSuffix() {
            return ".sig";
        }

        @Override
        public void verify(byte[] manifest, byte[] signature, String what) {
            if (signature == null || !Arrays.equals(reversed(manifest), signature)) {
                throw new DrException(DrException.ErrorCode.SIGNATURE, what + " is not signed by a trusted key");
            }
        }
    };

    private Path cluster(String name, long systemId) throws Exception {
        Path data = Files.createDirectories(dir.resolve(name + "/global")).getParent();
        Files.write(
                data.resolve("global/pg_control"),
                ByteBuffer.allocate(16)
                        .order(ByteOrder.LITTLE_ENDIAN)
                        .putLong(systemId)
                        .array());
        return data;
    }

    private static void push(WalArchive wal, Path dataDir, String name, byte[] bytes) throws Exception {
        Path f = Files.createDirectories(dataDir.resolve("out")).resolve(name);
        Files.write(f, bytes);
        wal.push(f, dataDir);
    }

    @Test
    void anotherClustersSignedHistoryFileMakesFetchServeTheAbandonedTimelinesWal() throws Exception {
        Path dataB = cluster("b", B);
        Path dataA = cluster("a", A);
        String three = new WalSegment(1, 3, SIZE).name();
        String four = new WalSegment(1, 4, SIZE).name();
        Path repo = dir.resolve("repo");
        try (DrKit kit =
                DrKit.builder().repository(repo.toString()).signer(SIGNER).build()) {
            WalArchive wal = new WalArchive(kit.archive(WalArchive.AREA));
            // B: the old primary went on along timeline 1 (its whole segments 3 and 4 archived, signed) ...
            push(wal, dataB, three, WalPrefetchTest.segmentBytes(1, 3, B, 0));
            push(wal, dataB, four, WalPrefetchTest.segmentBytes(1, 4, B, 0));
            // ... while B's standby was promoted to timeline 2 4096 bytes into segment 3
            push(
                    wal,
                    dataB,
                    "00000002.history",
                    ("1\t0/" + Long.toHexString(3 * SIZE + 4096).toUpperCase() + "\tno recovery target specified\n")
                            .getBytes());
            // A (same signing key): its timeline 2 began in segment 5
            push(
                    wal,
                    dataA,
                    "00000002.history",
                    ("1\t0/" + Long.toHexString(5 * SIZE).toUpperCase() + "\tno recovery target specified\n")
                            .getBytes());
        }
        try (DrKit kit = DrKit.builder()
                .repository(repo.toString())
                .trustedSignatures(TRUSTED)
                .build()) {
            WalArchive wal = new WalArchive(kit.archive(WalArchive.AREA));
            assertThat(wal.fetch(four, dir.resolve("X4"), dataB))
                    .as("before: timeline 1 after the branch is not served along timeline 2")
                    .isFalse();
        }

        // the forger copies A's signed history file (object, record, checksum, signature) over B's
        Path from = repo.resolve("wal/" + Long.toUnsignedString(A) + "/00000002");
        Path to = repo.resolve("wal/" + Long.toUnsignedString(B) + "/00000002");
        try (Stream<Path> s = Files.list(from)) {
            for (Path p : s.toList()) {
                Files.copy(p, to.resolve(p.getFileName()), StandardCopyOption.REPLACE_EXISTING);
            }
        }

        try (DrKit kit = DrKit.builder()
                .repository(repo.toString())
                .trustedSignatures(TRUSTED)
                .build()) {
            WalArchive wal = new WalArchive(kit.archive(WalArchive.AREA));
            Path three3 = dir.resolve("X3");
            assertThatThrownBy(() -> wal.fetch(three, three3, dataB))
                    .as("A's history file is not believed as B's")
                    .isInstanceOf(CorruptDataException.class)
                    .hasMessageContaining("00000002.history")
                    .hasMessageContaining("not signed by a trusted key");
            assertThat(three3).doesNotExist();
        }
    }
}
