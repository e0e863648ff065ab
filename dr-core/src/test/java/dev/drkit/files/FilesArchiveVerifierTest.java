package dev.drkit.files;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.drkit.BackupResult;
import dev.drkit.CorruptDataException;
import dev.drkit.DrKit;
import dev.drkit.RestoreRequest;
import dev.drkit.Settings;
import dev.drkit.TargetSpec;
import dev.drkit.UnsafeArchiveException;
import dev.drkit.VerificationResult;
import dev.drkit.VerifyLevel;
import dev.drkit.VerifyReport;
import dev.drkit.internal.repo.ManifestCodec;
import dev.drkit.spi.support.Json;
import dev.drkit.spi.support.TarExtractor;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.zip.CRC32C;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveOutputStream;
import org.apache.commons.compress.archivers.tar.TarConstants;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The public path: a files backup whose stored {@code files.tar} is swapped for a hostile one,
 * with the manifest and sidecar fixed up so that only the archive's content is wrong. Decode-level
 * verify must fail on exactly what a restore refuses.
 */
class FilesArchiveVerifierTest {
    @TempDir
    Path dir;

    private DrKit kit() {
        return DrKit.builder()
                .repository(dir.resolve("repo").toString())
                .compression("none")
                .build();
    }

    private BackupResult backupOf(DrKit kit) throws IOException {
        Path data = Files.createDirectories(dir.resolve("data/etc"));
        Files.writeString(data.resolve("app.conf"), "a=1\n");
        Files.createSymbolicLink(data.resolve("current"), Path.of("app.conf"));
        return kit.backup(TargetSpec.files("config", data.toString()));
    }

    @Test
    void anIntactBackupPassesWithItsCounts() throws IOException {
        try (DrKit kit = kit()) {
            BackupResult b = backupOf(kit);
            VerifyReport report = kit.verify("config", b.id(), VerifyLevel.DECODE);
            assertThat(report.passed()).as(String.join("; ", report.problems())).isTrue();
            VerificationResult walk = report.results().stream()
                    .filter(r -> r.verifier().equals(FilesArchiveVerifier.NAME))
                    .findFirst()
                    .orElseThrow();
            assertThat(walk.details())
                    .containsEntry("files", 1L)
                    .containsEntry("symlinks", 1L)
                    .containsEntry("directories", 1L)
                    .containsEntry("bytes", 4L);
        }
    }

    @Test
    void aForgedArchiveFailsVerifyAndRestoreAlike() throws IOException {
        try (DrKit kit = kit()) {
            BackupResult b = backupOf(kit);
            Path outside = Files.createDirectories(dir.resolve("outside"));
            Files.writeString(outside.resolve("secret"), "keep");
            replaceArchive(b.id(), threeEntriesNamedA(outside.resolve("secret")));

            VerifyReport report = kit.verify("config", b.id(), VerifyLevel.DECODE);
            assertThat(report.passed()).isFalse();
            assertThat(report.problems())
                    .anySatisfy(p -> assertThat(p)
                            .contains("files.tar of backup config/" + b.id())
                            .contains("'a'"));

            Path dest = dir.resolve("restored");
            assertThatThrownBy(() -> kit.restore(new RestoreRequest(
                            "config",
                            b.id(),
                            Settings.builder().set("to", dest.toString()).build(),
                            false)))
                    .isInstanceOf(UnsafeArchiveException.class)
                    .hasMessageContaining("'a'");
            assertThat(dest).doesNotExist();
            assertThat(Files.getPosixFilePermissions(outside.resolve("secret")))
                    .isEqualTo(TarExtractor.permissions(0644));
        }
    }

    @Test
    void aTruncatedOrPaddedArchiveAndWrongCountsFailVerify() throws IOException {
        try (DrKit kit = kit()) {
            BackupResult b = backupOf(kit);
            byte[] good = Files.readAllBytes(storedArchive(b.id()));

            replaceArchive(b.id(), Arrays.copyOf(good, 1024));
            assertThat(kit.verify("config", b.id(), VerifyLevel.DECODE).problems())
                    .anySatisfy(p -> assertThat(p).contains("files.tar of backup config/" + b.id()));

            byte[] garbage = Arrays.copyOf(good, good.length + 100);
            garbage[good.length + 50] = 1;
            replaceArchive(b.id(), garbage);
            assertThat(kit.verify("config", b.id(), VerifyLevel.DECODE).problems())
                    .anySatisfy(p -> assertThat(p).contains("after its end-of-archive marker"));
            assertThatThrownBy(() -> kit.restore(new RestoreRequest(
                            "config",
                            b.id(),
                            Settings.builder()
                                    .set("to", dir.resolve("r").toString())
                                    .build(),
                            false)))
                    .isInstanceOf(CorruptDataException.class);

            replaceArchive(b.id(), oneFile("etc/other.conf", "b=22\n"));
            assertThat(kit.verify("config", b.id(), VerifyLevel.DECODE).problems())
                    .anySatisfy(p -> assertThat(p).contains("holds 0 symlinks but the manifest records 1"))
                    .anySatisfy(p -> assertThat(p).contains("holds 5 bytes but the manifest records 4"));
        }
    }

    private static byte[] threeEntriesNamedA(Path outsideFile) throws IOException {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (TarArchiveOutputStream tar = new TarArchiveOutputStream(bytes)) {
            TarArchiveEntry d = new TarArchiveEntry("a/", TarConstants.LF_DIR);
            d.setMode(0777);
            tar.putArchiveEntry(d);
            tar.closeArchiveEntry();
            tar.putArchiveEntry(new TarArchiveEntry("a"));
            tar.closeArchiveEntry();
            TarArchiveEntry l = new TarArchiveEntry("a", TarConstants.LF_SYMLINK);
            l.setLinkName(outsideFile.toString());
            tar.putArchiveEntry(l);
            tar.closeArchiveEntry();
        }
        return bytes.toByteArray();
    }

    private static byte[] oneFile(String name, String content) throws IOException {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (TarArchiveOutputStream tar = new TarArchiveOutputStream(bytes)) {
            TarArchiveEntry e = new TarArchiveEntry(name);
            byte[] b = content.getBytes(StandardCharsets.UTF_8);
            e.setSize(b.length);
            tar.putArchiveEntry(e);
            tar.write(b);
            tar.closeArchiveEntry();
        }
        return bytes.toByteArray();
    }

    private Path backupDir(String id) {
        return dir.resolve("repo/backups/config/" + id);
    }

    private Path storedArchive(String id) {
        return backupDir(id).resolve(FilesBackupTarget.ARTIFACT);
    }

    /**
     * Stores {@code tar} (uncompressed, as the repository was set up) as the backup's archive and
     * makes the manifest and the sidecar agree with it: the one place that knows how a repository
     * vouches for an artifact.
     */
    private void replaceArchive(String id, byte[] tar) throws IOException {
        Files.write(storedArchive(id), tar);
        String sha256;
        try {
            sha256 = HexFormat.of()
                    .formatHex(MessageDigest.getInstance("SHA-256").digest(tar));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
        CRC32C crc = new CRC32C();
        crc.update(tar);
        Files.writeString(
                backupDir(id).resolve(FilesBackupTarget.ARTIFACT + ".sha256"),
                sha256 + "  " + FilesBackupTarget.ARTIFACT + "\n");
        Path manifest = backupDir(id).resolve("manifest.json");
        ObjectNode m = (ObjectNode) Json.mapper().readTree(manifest.toFile());
        for (var a : m.withArray("artifacts")) {
            if (a.get("name").asText().equals(FilesBackupTarget.ARTIFACT)) {
                ((ObjectNode) a)
                        .put("storedSize", tar.length)
                        .put("rawSize", tar.length)
                        .put("sha256", sha256)
                        .put("rawCrc32c", String.format("%08x", crc.getValue()));
            }
        }
        byte[] forged = Json.mapper().writeValueAsBytes(m);
        Files.write(manifest, forged);
        // and its checksum file, as an attacker who can write the repository would
        Files.write(
                manifest.resolveSibling("manifest.json.sha256"), ManifestCodec.checksumFile(forged, "manifest.json"));
    }
}
