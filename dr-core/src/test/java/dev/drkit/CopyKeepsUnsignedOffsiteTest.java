package dev.drkit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;

import dev.drkit.storage.FileStorageBackend;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * With trusted keys, a copy reads the destination with them too; it then deleted the offsite
 * manifest of every backup made before signing was turned on (unsigned, so damaged to it) that
 * it could not replace, since the source lists those as damaged as well. A destination manifest
 * is now replaced only when the source's verified one is written in its place.
 */
class CopyKeepsUnsignedOffsiteTest {
    @TempDir
    Path dir;

    @Test
    void copyAllWithTrustedKeysKeepsTheOffsiteCopyOfABackupMadeBeforeSigning() throws Exception {
        Path data = Files.createDirectories(dir.resolve("etc/app"));
        Files.writeString(data.resolve("a.conf"), "a=1\n");
        FileStorageBackend offsite = new FileStorageBackend(dir.resolve("offsite"));
        String id;
        try (DrKit unsigned =
                DrKit.builder().repository(dir.resolve("local").toString()).build()) {
            id = unsigned.backup(TargetSpec.files("config", data.toString())).id();
            unsigned.copy("config", id, false, offsite);
        }
        Path manifest = dir.resolve("offsite/backups/config/" + id + "/manifest.json");
        assertThat(manifest).exists();

        // signing turned on later: the old backup is unsigned in both repositories
        try (DrKit signed = DrKit.builder()
                .repository(dir.resolve("local").toString())
                .signer(CopyDestinationSignatureTest.SIGNER)
                .trustedSignatures(CopyDestinationSignatureTest.TRUSTED)
                .build()) {
            Throwable t = catchThrowable(() -> signed.copy("config", null, true, offsite));
            assertThat(t).isInstanceOf(CopyIncompleteException.class); // the source's copy is "damaged"
        }
        assertThat(dir.resolve("local/backups/config/" + id + "/manifest.json"))
                .as("the source keeps it")
                .exists();
        assertThat(manifest).as("the offsite copy keeps it as well").exists(); // fails: deleted
    }
}
