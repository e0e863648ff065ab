package dev.drkit.storage;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.drkit.spi.ObjectUpload;
import dev.drkit.spi.support.Hosts;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class FileStorageBackendTempCleanupTest {
    @TempDir
    Path root;

    private Path leftover(String name, Duration age) throws Exception {
        Path p = Files.createDirectories(root.resolve(FileStorageBackend.TMP_DIR))
                .resolve(name);
        Files.writeString(p, "half an upload");
        Files.setLastModifiedTime(p, FileTime.from(Instant.now().minus(age)));
        return p;
    }

    private List<String> tmpFiles() throws Exception {
        try (Stream<Path> s = Files.list(root.resolve(FileStorageBackend.TMP_DIR))) {
            return s.map(p -> p.getFileName().toString()).sorted().toList();
        }
    }

    @Test
    void theFirstUploadRemovesLeftoversOlderThanTheStaleAgeAndKeepsFreshOnes() throws Exception {
        Path old = leftover("other-host-4242-1b4e28ba.part", Duration.ofHours(2));
        Path fresh = leftover("other-host-4243-6fa459ea.part", Duration.ofMinutes(5));
        FileStorageBackend backend = new FileStorageBackend(root);
        assertThat(old).as("opening alone changes nothing").exists();

        try (ObjectUpload u = backend.create("backups/a/1")) {
            u.stream().write("x".getBytes(StandardCharsets.UTF_8));
            u.commit();
        }

        assertThat(old).doesNotExist();
        assertThat(fresh).exists();
        assertThat(backend.list("backups/")).hasSize(1);
    }

    @Test
    void anOldUploadWhoseWriterStillRunsOnThisHostIsKept() throws Exception {
        FileStorageBackend writer = new FileStorageBackend(root);
        try (ObjectUpload stalled = writer.create("backups/a/slow")) {
            stalled.stream().write("first part".getBytes(StandardCharsets.UTF_8));
            stalled.stream().flush();
            List<String> parts = tmpFiles();
            assertThat(parts)
                    .hasSize(1)
                    .allMatch(n -> n.startsWith(
                            Hosts.name() + "-" + ProcessHandle.current().pid()));
            Files.setLastModifiedTime(
                    root.resolve(FileStorageBackend.TMP_DIR).resolve(parts.get(0)),
                    FileTime.from(Instant.now().minus(Duration.ofHours(3))));

            FileStorageBackend next = new FileStorageBackend(root, Duration.ofMinutes(30));
            try (ObjectUpload other = next.create("backups/b/1")) {
                other.stream().write("y".getBytes(StandardCharsets.UTF_8));
                other.commit();
            }
            assertThat(tmpFiles()).containsExactlyElementsOf(parts);

            stalled.stream().write(" and the rest".getBytes(StandardCharsets.UTF_8));
            stalled.commit();
        }
        try (var in = writer.open("backups/a/slow", 0)) {
            assertThat(new String(in.readAllBytes(), StandardCharsets.UTF_8)).isEqualTo("first part and the rest");
        }
        assertThat(tmpFiles()).isEmpty();
    }

    @Test
    void onlyTheFirstUploadLooks() throws Exception {
        FileStorageBackend backend = new FileStorageBackend(root, Duration.ofMinutes(10));
        backend.createIfAbsent("k1", new byte[] {1});
        Path later = leftover("other-host-1-later.part", Duration.ofHours(5));
        backend.createIfAbsent("k2", new byte[] {2});
        assertThat(later).exists();
        new FileStorageBackend(root, Duration.ofMinutes(10)).createIfAbsent("k3", new byte[] {3});
        assertThat(later).doesNotExist();
    }

    @Test
    void theStaleAgeMustBePositive() {
        assertThatThrownBy(() -> new FileStorageBackend(root, Duration.ZERO))
                .isInstanceOf(IllegalArgumentException.class);
    }
}
