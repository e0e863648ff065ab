package dev.drkit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.drkit.core.storage.FileStorageBackend;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class DrKitCopyTest {
    @TempDir
    Path dir;

    private Path data() throws Exception {
        Path d = Files.createDirectories(dir.resolve("etc/app"));
        Files.writeString(d.resolve("a.conf"), "a=1\n".repeat(10_000));
        return d;
    }

    @Test
    void copiesVerifiesAndSkipsWhatIsThere() throws Exception {
        Path data = data();
        try (DrKit local = DrKit.builder().repository(dir.resolve("local").toString()).build()) {
            String first = local.backup(TargetSpec.files("config", data.toString())).id();
            String second = local.backup(TargetSpec.files("config", data.toString())).id();
            FileStorageBackend offsite = new FileStorageBackend(dir.resolve("offsite"));

            CopyResult r = local.copy("config", null, true, offsite);
            assertThat(r.copied()).containsExactly(first, second);
            assertThat(r.bytes()).isPositive();
            CopyResult again = local.copy("config", null, true, offsite);
            assertThat(again.copied()).isEmpty();
            assertThat(again.skipped()).containsExactly(first, second);

            try (DrKit remote = DrKit.builder().storage(offsite).build()) {
                assertThat(remote.list("config")).extracting(BackupManifest::id).containsExactly(first, second);
                assertThat(remote.verify("config", second, VerifyLevel.DECODE).passed()).isTrue();
            }
            assertThat(dir.resolve("offsite/backups/config/" + second + "/files.tar.zst.sha256")).exists();
        }
    }

    @Test
    void anInterruptedCopyResumesAndACorruptSourceIsNotCopied() throws Exception {
        Path data = data();
        try (DrKit local = DrKit.builder().repository(dir.resolve("local").toString()).build()) {
            BackupResult b = local.backup(TargetSpec.files("config", data.toString()));
            FileStorageBackend offsite = new FileStorageBackend(dir.resolve("offsite"));
            local.copy("config", b.id(), false, offsite);
            // simulate an interruption before the manifest: the artifact is there, the manifest is not
            offsite.delete("backups/config/" + b.id() + "/manifest.json");
            CopyResult resumed = local.copy("config", b.id(), false, offsite);
            assertThat(resumed.copied()).containsExactly(b.id());
            // only the manifest travelled again: the artifact and its sidecar were already there
            assertThat(resumed.bytes()).isEqualTo(Files.size(dir.resolve("local/backups/config/" + b.id()
                    + "/manifest.json")));

            BackupResult bad = local.backup(TargetSpec.files("config", data.toString()));
            Path stored = dir.resolve("local/backups/config/" + bad.id() + "/files.tar.zst");
            byte[] bytes = Files.readAllBytes(stored);
            bytes[bytes.length / 2] ^= 1;
            Files.write(stored, bytes);
            assertThatThrownBy(() -> local.copy("config", bad.id(), false, offsite))
                    .isInstanceOf(ChecksumMismatchException.class);
            assertThat(dir.resolve("offsite/backups/config/" + bad.id() + "/manifest.json")).doesNotExist();
            assertThat(dir.resolve("offsite/backups/config/" + bad.id() + "/files.tar.zst")).doesNotExist();
        }
    }
}
