package dev.drkit.crypto;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.drkit.BackupResult;
import dev.drkit.DrException;
import dev.drkit.DrKit;
import dev.drkit.RestoreRequest;
import dev.drkit.TargetSpec;
import dev.drkit.VerifyLevel;
import dev.drkit.VerifyReport;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A stored artifact damaged in its session key packet (bit rot, a bad copy) is a damaged
 * backup, not a key problem: restore must say the backup is damaged (and not send the operator
 * hunting for another key), and verify must report it as a failed verification, which status
 * shows, instead of failing as if the key were wrong.
 */
class DamagedSessionKeyTest {
    @TempDir
    Path dir;

    Path config;

    @BeforeEach
    void writeConfig() throws Exception {
        config = Files.createDirectories(dir.resolve("etc/app"));
        Files.writeString(config.resolve("app.conf"), "a=1\n");
    }

    private DrKit kit() throws Exception {
        return DrKit.builder()
                .repository(dir.resolve("repo").toString())
                .compression("none")
                .encryption(PgpEncryption.builder()
                        .recipient(TestKeys.encryptionKey(TestKeys.pair()))
                        .build())
                .decryption(PgpDecryption.builder()
                        .secretKeys(TestKeys.secretKeys(TestKeys.pair()))
                        .build())
                .build();
    }

    /** Flips one bit of the stored artifact, leaving manifest and checksum files as they were. */
    private String backupDamagedAt(DrKit kit, int offset) throws Exception {
        BackupResult b = kit.backup(TargetSpec.files("config", config.toString()));
        Path stored = dir.resolve("repo/backups/config/" + b.id() + "/files.tar.pgp");
        byte[] bytes = Files.readAllBytes(stored);
        bytes[offset] ^= 0x01;
        Files.write(stored, bytes);
        return b.id();
    }

    @Test
    void aDamagedEncryptedSessionKeyIsADamagedBackup() throws Exception {
        restoreAndVerifyReportTheDamage(40); // inside the wrapped session key of the first PKESK
        assertThat(dir.resolve("out")).doesNotExist();
    }

    @Test
    void aDamagedRecipientKeyIdIsADamagedBackup() throws Exception {
        restoreAndVerifyReportTheDamage(5); // inside the key id the session key packet names
    }

    /** A backup damaged at {@code offset}: restore fails on its checksum, not as a key problem, and verify records it. */
    private void restoreAndVerifyReportTheDamage(int offset) throws Exception {
        try (DrKit kit = kit()) {
            String id = backupDamagedAt(kit, offset);
            assertThatThrownBy(() -> kit.restore(RestoreRequest.files("config", id, dir.resolve("out"))))
                    .isInstanceOfSatisfying(
                            DrException.class, e -> assertThat(e.code()).isNotEqualTo(DrException.ErrorCode.DECRYPTION))
                    .hasMessageContaining("sha256");
            VerifyReport report = kit.verify("config", id, VerifyLevel.DECODE);
            assertThat(report.passed()).isFalse();
            assertThat(report.problems()).anySatisfy(p -> assertThat(p).contains("sha256"));
        }
    }
}
