package dev.drkit.storage;

import static org.assertj.core.api.Assertions.assertThat;

import dev.drkit.CheckOptions;
import dev.drkit.CheckReport;
import dev.drkit.DrKit;
import dev.drkit.TargetSpec;
import dev.drkit.spi.ObjectInfo;
import dev.drkit.spi.ObjectUpload;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A repository whose path is a symbolic link: a walk does not enter a start that is a link, so a
 * listing of the whole repository found nothing, and a check through that path reported clean
 * with artifacts missing. Listings walk the real directory now.
 */
class FileStorageBackendLinkedRootTest {
    @TempDir
    Path dir;

    @Test
    void theWholeRepositoryIsListedThroughALinkedRoot() throws Exception {
        Path repo = Files.createDirectories(dir.resolve("repo"));
        Path link = Files.createSymbolicLink(dir.resolve("repo-link"), repo);
        FileStorageBackend backend = new FileStorageBackend(link);
        try (ObjectUpload u = backend.create("backups/a/1/x")) {
            u.stream().write("x".getBytes(StandardCharsets.UTF_8));
            u.commit();
        }
        assertThat(backend.list("backups/")).hasSize(1); // passes
        assertThat(backend.list("")).extracting(ObjectInfo::key).contains("backups/a/1/x"); // fails: empty
    }

    @Test
    void aBackupInALinkedRepositoryIsSeenByTheRootListing() throws Exception {
        Path data = Files.createDirectories(dir.resolve("etc/app"));
        Files.writeString(data.resolve("a.conf"), "a=1\n");
        Path repo = Files.createDirectories(dir.resolve("repo"));
        Path link = Files.createSymbolicLink(dir.resolve("repo-link"), repo);
        try (DrKit kit = DrKit.builder().repository(link.toString()).build()) {
            kit.backup(TargetSpec.files("config", data.toString()));
        }
        FileStorageBackend viaLink = new FileStorageBackend(link);
        FileStorageBackend direct = new FileStorageBackend(repo);
        assertThat(viaLink.list("")).hasSameSizeAs(direct.list("")); // fails: 0 vs. the backup's objects
    }

    @Test
    void checkThroughALinkedRootFindsAMissingArtifact() throws Exception {
        Path data = Files.createDirectories(dir.resolve("etc/app"));
        Files.writeString(data.resolve("a.conf"), "a=1\n");
        Path repo = Files.createDirectories(dir.resolve("repo"));
        Path link = Files.createSymbolicLink(dir.resolve("repo-link"), repo);
        String id;
        try (DrKit kit = DrKit.builder().repository(link.toString()).build()) {
            id = kit.backup(TargetSpec.files("config", data.toString())).id();
        }
        // an artifact lost: every file of the backup's folder but its manifest and checksum
        try (var files = Files.list(repo.resolve("backups/config/" + id))) {
            for (Path f : files.toList()) {
                if (!f.getFileName().toString().startsWith("manifest.json")) {
                    Files.delete(f);
                }
            }
        }
        try (DrKit direct = DrKit.builder().repository(repo.toString()).build()) {
            assertThat(direct.check(CheckOptions.catalogOnly()).clean())
                    .as("through the real path")
                    .isFalse();
        }
        try (DrKit viaLink = DrKit.builder().repository(link.toString()).build()) {
            CheckReport r = viaLink.check(CheckOptions.catalogOnly());
            assertThat(r.clean()).as("through the link: " + r).isFalse(); // fails: clean, 0 backups
        }
    }
}
