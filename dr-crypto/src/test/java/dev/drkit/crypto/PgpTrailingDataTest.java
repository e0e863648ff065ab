package dev.drkit.crypto;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.drkit.BackupResult;
import dev.drkit.CorruptDataException;
import dev.drkit.DrKit;
import dev.drkit.RestoreRequest;
import dev.drkit.TargetSpec;
import dev.drkit.VerifyLevel;
import dev.drkit.VerifyReport;
import dev.drkit.internal.repo.ManifestCodec;
import dev.drkit.spi.support.Json;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Arrays;
import java.util.Date;
import java.util.HexFormat;
import org.bouncycastle.bcpg.CompressionAlgorithmTags;
import org.bouncycastle.openpgp.PGPCompressedDataGenerator;
import org.bouncycastle.openpgp.PGPEncryptedDataGenerator;
import org.bouncycastle.openpgp.PGPException;
import org.bouncycastle.openpgp.PGPLiteralData;
import org.bouncycastle.openpgp.PGPLiteralDataGenerator;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Nothing may follow an OpenPGP message: bytes after the integrity-protected packet, or packets
 * after the literal data inside it, are corrupt data for restore and verify alike.
 */
class PgpTrailingDataTest {
    private static final byte[] PLAIN = "payload\n".repeat(1000).getBytes(StandardCharsets.UTF_8);

    @TempDir
    Path dir;

    private static PgpDecryption withKey() throws IOException {
        return PgpDecryption.builder()
                .secretKeys(TestKeys.secretKeys(TestKeys.pair()))
                .build();
    }

    private static byte[] message() throws IOException {
        return PgpEncryptionTest.encrypt(
                PgpEncryption.builder()
                        .recipient(TestKeys.encryptionKey(TestKeys.pair()))
                        .build(),
                PLAIN);
    }

    @Test
    void anIntactMessageStillDecrypts() throws IOException {
        assertThat(PgpEncryptionTest.decrypt(withKey(), message())).isEqualTo(PLAIN);
        assertThat(PgpEncryptionTest.decrypt(withKey(), handMade(true, false))).isEqualTo(PLAIN);
    }

    @Test
    void zeroBytesAfterTheMessageAreCorrupt() throws IOException {
        byte[] padded = Arrays.copyOf(message(), message().length + 100);
        assertThatThrownBy(() -> PgpEncryptionTest.decrypt(withKey(), padded))
                .isInstanceOf(CorruptDataException.class)
                .hasMessageContaining("test message")
                .hasMessageContaining("after its OpenPGP message");
    }

    @Test
    void aSecondMessageAfterTheFirstIsCorrupt() throws IOException {
        byte[] first = message();
        byte[] two = Arrays.copyOf(first, first.length * 2);
        System.arraycopy(first, 0, two, first.length, first.length);
        assertThatThrownBy(() -> PgpEncryptionTest.decrypt(withKey(), two)).isInstanceOf(CorruptDataException.class);
    }

    @Test
    void aPacketAfterTheLiteralDataInsideTheEncryptionIsCorrupt() throws IOException {
        assertThatThrownBy(() -> PgpEncryptionTest.decrypt(withKey(), handMade(false, true)))
                .isInstanceOf(CorruptDataException.class)
                .hasMessageContaining("after its literal data");
        assertThatThrownBy(() -> PgpEncryptionTest.decrypt(withKey(), handMade(true, true)))
                .isInstanceOf(CorruptDataException.class)
                .hasMessageContaining("after its literal data");
    }

    /** A message as gpg may write it (optionally compressed), optionally with a second literal packet inside. */
    private static byte[] handMade(boolean compressed, boolean extraPacket) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        PGPEncryptedDataGenerator generator = TestKeys.encryptorToPair();
        try (OutputStream encrypted = generator.open(out, new byte[1 << 12])) {
            PGPCompressedDataGenerator zip = new PGPCompressedDataGenerator(CompressionAlgorithmTags.ZIP);
            OutputStream inner = compressed ? zip.open(encrypted) : encrypted;
            for (int i = 0; i < (extraPacket ? 2 : 1); i++) {
                PGPLiteralDataGenerator literal = new PGPLiteralDataGenerator();
                try (OutputStream data =
                        literal.open(inner, PGPLiteralData.BINARY, "data", new Date(), new byte[1 << 12])) {
                    data.write(PLAIN);
                }
            }
            if (compressed) {
                zip.close();
            }
        } catch (PGPException e) {
            throw new IOException(e);
        }
        return out.toByteArray();
    }

    @Test
    void verifyAndRestoreBothRefuseZerosAppendedToAnEncryptedArtifact() throws IOException {
        Path config = Files.createDirectories(dir.resolve("etc/app"));
        Files.writeString(config.resolve("app.conf"), "a=1\n");
        try (DrKit kit = DrKit.builder()
                .repository(dir.resolve("repo").toString())
                .compression("none")
                .encryption(PgpEncryption.builder()
                        .recipient(TestKeys.encryptionKey(TestKeys.pair()))
                        .build())
                .decryption(withKey())
                .build()) {
            BackupResult b = kit.backup(TargetSpec.files("config", config.toString()));
            Path stored = dir.resolve("repo/backups/config/" + b.id() + "/files.tar.pgp");
            byte[] bytes = Files.readAllBytes(stored);
            replaceStored(b.id(), stored, Arrays.copyOf(bytes, bytes.length + 100));

            VerifyReport report = kit.verify("config", b.id(), VerifyLevel.DECODE);
            assertThat(report.passed()).isFalse();
            assertThat(report.problems()).anySatisfy(p -> assertThat(p).contains("after its OpenPGP message"));
            assertThat(kit.verify("config", b.id(), VerifyLevel.CHECKSUM).passed())
                    .as("sizes and sums fit")
                    .isTrue();
            Path out = dir.resolve("out");
            assertThatThrownBy(() -> kit.restore(RestoreRequest.files("config", b.id(), out)))
                    .isInstanceOf(CorruptDataException.class);
            assertThat(out).doesNotExist();
        }
    }

    /** Stores new bytes for an artifact and makes the manifest and the sidecar vouch for them. */
    private static void replaceStored(String id, Path stored, byte[] bytes) throws IOException {
        Files.write(stored, bytes);
        String sha256;
        try {
            sha256 = HexFormat.of()
                    .formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
        String name = stored.getFileName().toString();
        Files.writeString(stored.resolveSibling(name + ".sha256"), sha256 + "  " + name + "\n");
        Path manifest = stored.resolveSibling("manifest.json");
        ObjectNode m = (ObjectNode) Json.mapper().readTree(manifest.toFile());
        for (var a : m.withArray("artifacts")) {
            if (a.get("storedName").asText().equals(name)) {
                ((ObjectNode) a).put("storedSize", bytes.length).put("sha256", sha256);
            }
        }
        byte[] forged = Json.mapper().writeValueAsBytes(m);
        Files.write(manifest, forged);
        Files.write(
                manifest.resolveSibling("manifest.json.sha256"), ManifestCodec.checksumFile(forged, "manifest.json"));
    }
}
