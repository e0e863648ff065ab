package dev.drkit.internal.repo;

import static org.assertj.core.api.Assertions.assertThat;

import dev.drkit.BackupResult;
import dev.drkit.DrKit;
import dev.drkit.DrKitConfig;
import dev.drkit.TargetSpec;
import dev.drkit.VerifyLevel;
import dev.drkit.VerifyReport;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A verification at level checksum re-reads what is stored, with no key: for an encrypted
 * deduplicated artifact that is its chunk list and its chunks' stored bytes (each against the
 * CRC32C its index gives), not the list alone, which would pass with every pack gone.
 */
class EncryptedChunksChecksumVerifyTest {
    @TempDir
    Path dir;

    private DrKit kit(Path keyFile) {
        return DrKit.builder()
                .config(DrKitConfig.builder()
                        .repository(dir.resolve("repo").toString())
                        .dedup(true)
                        .dedupKeyFile(keyFile)
                        .build())
                .encryption(EncryptedChunksTest.toy("alice"))
                .build();
    }

    private List<Path> packs() throws IOException {
        try (Stream<Path> s = Files.list(dir.resolve("repo/chunks/packs"))) {
            return s.filter(p -> p.toString().endsWith(".pack")).toList();
        }
    }

    @Test
    void aChecksumVerificationOfAnEncryptedDeduplicatedBackupReadsItsChunksStoredBytes() throws IOException {
        Path tree = Files.createDirectories(dir.resolve("tree"));
        Files.write(tree.resolve("data.bin"), ChunkedArtifactTest.data(61, 3 << 20));
        Path keyFile = dir.resolve("chunk.key");
        Files.writeString(keyFile, "89abcdef01234567".repeat(4) + "\n");
        Files.setPosixFilePermissions(keyFile, PosixFilePermissions.fromString("rw-------"));
        try (DrKit kit = kit(keyFile)) {
            BackupResult b = kit.backup(TargetSpec.files("app", tree.toString()));
            assertThat(kit.verify("app", b.id(), VerifyLevel.CHECKSUM).passed()).isTrue();

            Path pack = packs().get(0);
            byte[] bytes = Files.readAllBytes(pack);
            bytes[bytes.length / 2] ^= 0x20; // no key needed to see that these are not the bytes stored
            Files.write(pack, bytes);
            VerifyReport damaged = kit.verify("app", b.id(), VerifyLevel.CHECKSUM);
            assertThat(damaged.passed()).isFalse();

            for (Path p : packs()) {
                Files.delete(p);
            }
            VerifyReport gone = kit.verify("app", b.id(), VerifyLevel.CHECKSUM);
            assertThat(gone.passed()).isFalse();
            assertThat(gone.problems()).anySatisfy(p -> assertThat(p).contains("chunk"));
        }
    }
}
