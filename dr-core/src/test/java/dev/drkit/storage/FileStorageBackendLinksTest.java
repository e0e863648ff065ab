package dev.drkit.storage;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.drkit.DrKit;
import dev.drkit.TargetSpec;
import dev.drkit.spi.ObjectUpload;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Duration;
import java.time.Instant;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * drkit makes no symbolic links in a local repository, and whoever can write the repository
 * could plant one: at {@code .drkit-tmp} it made the clean-up of unfinished uploads delete the
 * files of the directory it names, and at an object (or a folder above one) it made a copy carry
 * a file from outside the repository offsite. Links are neither listed, read, written nor
 * deleted through.
 */
class FileStorageBackendLinksTest {
    @TempDir
    Path dir;

    private Path repo;
    private Path outside;
    private Path precious;

    @BeforeEach
    void setUp() throws Exception {
        repo = Files.createDirectories(dir.resolve("repo"));
        outside = Files.createDirectories(dir.resolve("outside"));
        precious = outside.resolve("passwd");
        Files.writeString(precious, "not drkit's");
        Files.setLastModifiedTime(precious, FileTime.from(Instant.now().minus(Duration.ofDays(3))));
    }

    @Test
    void theFirstUploadDeletesNothingThroughAPlantedTemporaryDirectoryLink() throws Exception {
        Files.createSymbolicLink(repo.resolve(".drkit-tmp"), outside);
        FileStorageBackend backend = new FileStorageBackend(repo);
        assertThatThrownBy(() -> {
                    try (ObjectUpload u = backend.create("backups/a/1")) {
                        u.stream().write("x".getBytes(StandardCharsets.UTF_8));
                        u.commit();
                    }
                })
                .hasMessageContaining(".drkit-tmp is not a directory")
                .hasMessageContaining("remove it");
        assertThat(precious).as("a file outside the repository").exists();
        try (var left = Files.list(outside)) {
            assertThat(left).as("nothing written outside the repository").containsExactly(precious);
        }
    }

    @Test
    void cleaningUnfinishedUploadsDeletesNothingThroughAPlantedTemporaryDirectoryLink() throws Exception {
        Files.createSymbolicLink(repo.resolve(".drkit-tmp"), outside);
        FileStorageBackend backend = new FileStorageBackend(repo);
        assertThat(backend.incompleteUploads(Duration.ofDays(1))).isEmpty();
        assertThat(backend.cleanIncompleteUploads(Duration.ofDays(1))).isZero();
        assertThat(precious).as("a file outside the repository").exists();
    }

    @Test
    void aLinkPlantedAsAnObjectIsNeitherListedNorRead() throws Exception {
        FileStorageBackend backend = new FileStorageBackend(repo);
        try (ObjectUpload u = backend.create("backups/a/1/real")) {
            u.stream().write("drkit's".getBytes(StandardCharsets.UTF_8));
            u.commit();
        }
        Files.createSymbolicLink(repo.resolve("backups/a/1/planted"), precious);
        assertThat(backend.list("backups/a/")).extracting(o -> o.key()).containsExactly("backups/a/1/real");
        assertThat(backend.stat("backups/a/1/planted")).isEmpty();
        assertThatThrownBy(() -> backend.open("backups/a/1/planted", 0).readAllBytes())
                .hasMessageContaining("symbolic link");
        assertThat(backend.open("backups/a/1/real", 0).readAllBytes())
                .asString()
                .isEqualTo("drkit's");
    }

    @Test
    void aFolderPlantedAsALinkIsNeitherListedReadWrittenNorDeletedThrough() throws Exception {
        FileStorageBackend backend = new FileStorageBackend(repo);
        Files.createDirectories(repo.resolve("backups"));
        Files.createSymbolicLink(repo.resolve("backups/a"), outside);
        assertThat(backend.list("backups/a/")).isEmpty();
        assertThat(backend.stat("backups/a/passwd")).isEmpty();
        assertThatThrownBy(() -> backend.open("backups/a/passwd", 0)).hasMessageContaining("symbolic link");
        assertThatThrownBy(() -> backend.delete("backups/a/passwd")).hasMessageContaining("symbolic link");
        assertThatThrownBy(() -> {
                    try (ObjectUpload u = backend.create("backups/a/new")) {
                        u.stream().write("x".getBytes(StandardCharsets.UTF_8));
                        u.commit();
                    }
                })
                .hasMessageContaining("symbolic link");
        try (var left = Files.list(outside)) {
            assertThat(left)
                    .as("nothing written or deleted outside the repository")
                    .containsExactly(precious);
        }
    }

    @Test
    void aRepositoryReachedThroughALinkOfItsOwnWorks() throws Exception {
        Path link = Files.createSymbolicLink(dir.resolve("repo-link"), repo);
        FileStorageBackend backend = new FileStorageBackend(link);
        try (ObjectUpload u = backend.create("backups/a/1/x")) {
            u.stream().write("x".getBytes(StandardCharsets.UTF_8));
            u.commit();
        }
        assertThat(backend.list("backups/")).hasSize(1);
        assertThat(backend.open("backups/a/1/x", 0).readAllBytes()).asString().isEqualTo("x");
    }

    @Test
    void aCopyNeverCarriesAFileFromOutsideTheSourceRepository() throws Exception {
        Path data = Files.createDirectories(dir.resolve("etc/app"));
        Files.writeString(data.resolve("a.conf"), "a=1\n");
        Path secret = dir.resolve("secret.key");
        Files.writeString(secret, "-----BEGIN PRIVATE KEY----- root's key");
        try (DrKit local = DrKit.builder().repository(repo.toString()).build()) {
            String id =
                    local.backup(TargetSpec.files("config", data.toString())).id();
            Files.createSymbolicLink(repo.resolve("backups/config/" + id + "/files.tar.zst.sig"), secret);

            FileStorageBackend offsite = new FileStorageBackend(dir.resolve("offsite"));
            local.copy("config", id, false, offsite);

            Path carried = dir.resolve("offsite/backups/config/" + id + "/files.tar.zst.sig");
            assertThat(carried).as("the planted link's file in the destination").doesNotExist();
            assertThat(dir.resolve("offsite/backups/config/" + id + "/manifest.json"))
                    .exists();
        }
    }
}
