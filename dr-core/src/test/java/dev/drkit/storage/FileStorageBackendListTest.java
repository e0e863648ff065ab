package dev.drkit.storage;

import static org.assertj.core.api.Assertions.assertThat;

import dev.drkit.spi.ObjectInfo;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A listing of a local repository while another process prunes it holds every object that stays. */
class FileStorageBackendListTest {
    @TempDir
    Path root;

    @Test
    void aListingWhileObjectsAreDeletedStillHoldsEveryObjectThatStays() throws Exception {
        FileStorageBackend backend = new FileStorageBackend(root);
        byte[] content = "m".getBytes(StandardCharsets.US_ASCII);
        for (int i = 0; i < 100; i++) {
            assertThat(backend.createIfAbsent(String.format("backups/db/b%03d/manifest.json", i), content))
                    .isTrue();
        }
        // as a prune of other backups: objects (and their folders) made and removed all the time
        AtomicBoolean stop = new AtomicBoolean();
        Thread prune = new Thread(() -> {
            for (long n = 0; !stop.get(); n++) {
                String key = "backups/db/a" + (n % 40) + "/manifest.json";
                try {
                    backend.createIfAbsent(key, content);
                    backend.delete(key);
                } catch (Exception e) {
                    // this thread's own races with itself only
                }
            }
        });
        prune.start();
        try {
            for (int round = 0; round < 300; round++) {
                List<String> keys = backend.list("backups/db/").stream()
                        .map(ObjectInfo::key)
                        .filter(k -> k.startsWith("backups/db/b"))
                        .toList();
                assertThat(keys).as("round " + round).hasSize(100);
            }
        } finally {
            stop.set(true);
            prune.join();
        }
    }
}
