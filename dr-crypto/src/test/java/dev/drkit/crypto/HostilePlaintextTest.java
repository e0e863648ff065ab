package dev.drkit.crypto;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.drkit.BackupResult;
import dev.drkit.CorruptDataException;
import dev.drkit.DrKit;
import dev.drkit.DrKitConfig;
import dev.drkit.RestoreRequest;
import dev.drkit.TargetSpec;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.List;
import java.util.zip.CRC32C;
import org.bouncycastle.openpgp.PGPEncryptedDataGenerator;
import org.bouncycastle.openpgp.PGPException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Anyone with a recipient's public key can encrypt a message to it whose plaintext is not the
 * packets drkit writes. Opening one is damaged data, said as such, never a parser's runtime
 * failure: a restore of deduplicated chunks must pass over such a planted copy for the good one.
 */
class HostilePlaintextTest {
    /** Plaintexts (inside a sound encryption) that the OpenPGP parser fails on in different ways. */
    private static final List<String> HOSTILE = List.of(
            "9300952dc0c8cd7c4776578ae93767208f2f4df9845b55216546d43e0e7fce",
            "843807517125aae1c3c5843feb8d25cd02bf823f2ccf4784d5a35e390da559f1e278ae5fe3c6ccaf90102bf72857185"
                    + "97aa23ad2c074eb425c8daf",
            "d3fffffffff012a0adc2833b3f88974d6db50a73d487af226cd7a4f33e4b11");

    @TempDir
    Path dir;

    /** {@code plain} encrypted to the test key as it is, not wrapped in a literal data packet. */
    private static byte[] encryptedRaw(byte[] plain) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        PGPEncryptedDataGenerator generator = TestKeys.encryptorToPair();
        try (OutputStream encrypted = generator.open(out, new byte[1 << 12])) {
            encrypted.write(plain);
        } catch (PGPException e) {
            throw new IOException(e);
        }
        return out.toByteArray();
    }

    private static PgpDecryption withKey() throws IOException {
        return PgpDecryption.builder()
                .secretKeys(TestKeys.secretKeys(TestKeys.pair()))
                .build();
    }

    @Test
    void aMessageWhosePlaintextIsNoLiteralDataIsCorruptData() throws IOException {
        PgpDecryption decryption = withKey();
        for (String hex : HOSTILE) {
            byte[] message = encryptedRaw(HexFormat.of().parseHex(hex));
            assertThatThrownBy(() -> {
                        try (InputStream in = decryption.decrypt(new ByteArrayInputStream(message), "chunk x")) {
                            in.readAllBytes();
                        }
                    })
                    .as(hex)
                    .isInstanceOf(CorruptDataException.class)
                    .hasMessageContaining("chunk x");
        }
    }

    private static DrKit kit(Path repo, Path keyFile) throws IOException {
        return DrKit.builder()
                .config(DrKitConfig.builder()
                        .repository(repo.toString())
                        .dedup(true)
                        .dedupKeyFile(keyFile)
                        .build())
                .encryption(PgpEncryption.builder()
                        .recipient(TestKeys.encryptionKey(TestKeys.pair()))
                        .build())
                .decryption(withKey())
                .build();
    }

    @Test
    void aRestorePassesOverAPlantedChunkCopyWhosePlaintextTheParserRefuses() throws Exception {
        Path data = Files.createDirectories(dir.resolve("etc/app"));
        Files.writeString(data.resolve("app.conf"), "a=1\n".repeat(1000));
        Path keyFile = dir.resolve("chunk.key");
        Files.writeString(keyFile, "ab".repeat(32) + "\n");
        Files.setPosixFilePermissions(keyFile, PosixFilePermissions.fromString("rw-------"));
        Path repo = dir.resolve("repo");
        BackupResult b;
        try (DrKit kit = kit(repo, keyFile)) {
            b = kit.backup(TargetSpec.files("config", data.toString()));
        }
        try (DrKit kit = kit(repo, keyFile)) { // reads the index afresh, the planted pack with it
            Path list = repo.resolve("backups/config/" + b.id() + "/files.tar.chunks");
            String[] line = Files.readAllLines(list).get(1).split(" ");
            // a copy of the chunk in a pack whose id sorts first, self-consistent with its index
            byte[] forged = encryptedRaw(HexFormat.of().parseHex(HOSTILE.get(0)));
            String pack = "0".repeat(32);
            Files.write(repo.resolve("chunks/packs/" + pack + ".pack"), forged);
            CRC32C crc = new CRC32C();
            crc.update(forged);
            String sha = HexFormat.of()
                    .formatHex(MessageDigest.getInstance("SHA-256").digest(forged));
            Files.writeString(
                    repo.resolve("chunks/index/" + pack + ".idx"),
                    "drkit-chunk-index 2 " + pack + " " + forged.length + " " + sha + "\n" + line[0] + " " + pack
                            + " 0 " + forged.length + " " + line[1] + " " + String.format("%08x", crc.getValue())
                            + "\n",
                    StandardCharsets.US_ASCII);

            Path out = dir.resolve("out");
            kit.restore(RestoreRequest.files("config", b.id(), out));
            assertThat(out.resolve(data.toString().substring(1)).resolve("app.conf"))
                    .hasSameTextualContentAs(data.resolve("app.conf"));
        }
    }
}
