package dev.drkit;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Verifying an incremental backup checks the stored artifacts of the backups it depends on too:
 * its restore reads them, and a verification of its own artifacts passed while an older member
 * of its chain was damaged, so status called the newest backup verified and only a restore test
 * or a synthetic full found the chain could not be restored.
 */
class VerifyChainTest {
    @TempDir
    Path dir;

    @Test
    void aDamagedOlderMemberOfTheChainFailsTheVerificationOfTheNewest() throws Exception {
        try (DrKit kit = DrKit.builder()
                .repository(dir.resolve("repo").toString())
                .register(new PruneSafetyTest.ChainProvider())
                .build()) {
            BackupManifest full = kit.backup(new TargetSpec(
                            "db",
                            "chain",
                            Settings.builder()
                                    .set("content", "base ".repeat(1000))
                                    .build()))
                    .manifest();
            BackupManifest incremental = kit.backup(new TargetSpec(
                            "db",
                            "chain",
                            Settings.builder()
                                    .set("content", "delta")
                                    .set("incremental", "true")
                                    .build()))
                    .manifest();
            assertThat(incremental.parent()).isEqualTo(full.id());

            VerifyReport sound = kit.verify("db", incremental.id(), VerifyLevel.CHECKSUM);
            assertThat(sound.passed()).as(sound.problems().toString()).isTrue();
            assertThat(sound.results()).extracting(VerificationResult::verifier).contains("chain");

            Path stored = dir.resolve("repo/backups/db/" + full.id() + "/"
                    + full.artifacts().get(0).storedName());
            byte[] bytes = Files.readAllBytes(stored);
            bytes[bytes.length / 2] ^= 0x01;
            Files.write(stored, bytes);

            VerifyReport damaged = kit.verify("db", incremental.id(), VerifyLevel.CHECKSUM);
            assertThat(damaged.passed()).isFalse();
            assertThat(damaged.problems())
                    .anySatisfy(p -> assertThat(p)
                            .startsWith("chain: backup " + full.id() + ", which " + incremental.id() + " depends on: ")
                            .contains(full.artifacts().get(0).storedName()));
        }
    }
}
