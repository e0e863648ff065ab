package dev.drkit.storage;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.drkit.spi.ObjectUpload;
import java.io.IOException;
import java.nio.file.Path;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * An upload closed (abandoned) while a background flush runs keeps its channel open for that
 * flush; a writer still holding its stream (a compression thread of the pipeline) must fail at
 * once all the same, as it did when close() closed the channel, not fill a removed file.
 */
class FileStorageBackendAbandonedWriteTest {
    @TempDir
    Path root;

    private final FileStorageBackend.Forcer realForce = FileStorageBackend.backgroundForce;

    @AfterEach
    void restore() {
        FileStorageBackend.backgroundForce = realForce;
    }

    @Test
    void writesToAnAbandonedUploadFail() throws Exception {
        CountDownLatch flushing = new CountDownLatch(1);
        CountDownLatch disk = new CountDownLatch(1);
        FileStorageBackend.backgroundForce = channel -> {
            flushing.countDown();
            try {
                disk.await(30, TimeUnit.SECONDS); // a slow disk
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        };
        FileStorageBackend backend = new FileStorageBackend(root);
        ObjectUpload upload = backend.create("packs/p.pack");
        byte[] block = new byte[1 << 20];
        for (int i = 0; i < 33; i++) {
            upload.stream().write(block);
        }
        assertThat(flushing.await(10, TimeUnit.SECONDS)).isTrue();
        try {
            upload.close(); // abandoned, e.g. ArtifactWriter.abort() on the backup's thread
            assertThatThrownBy(() -> {
                        for (int i = 0; i < 8; i++) { // the pipeline thread still writing
                            upload.stream().write(block);
                        }
                        upload.stream().flush();
                    })
                    .as("a write after the upload was closed")
                    .isInstanceOf(IOException.class);
        } finally {
            disk.countDown();
        }
    }

    /** A failed background flush fails the commit with the disk's own IOException, and leaves nothing. */
    @Test
    void aFailedBackgroundFlushFailsTheCommitWithItsOwnException() throws Exception {
        FileStorageBackend.backgroundForce = channel -> {
            throw new IOException("EIO from the disk");
        };
        FileStorageBackend backend = new FileStorageBackend(root);
        ObjectUpload upload = backend.create("packs/p.pack");
        byte[] block = new byte[1 << 20];
        for (int i = 0; i < 33; i++) {
            upload.stream().write(block);
        }
        assertThatThrownBy(upload::commit).isInstanceOf(IOException.class).hasMessage("EIO from the disk");
        assertThat(backend.stat("packs/p.pack")).isEmpty();
        try (var s = java.nio.file.Files.walk(root)) {
            assertThat(s.filter(p -> p.toString().endsWith(".part")).toList()).isEmpty();
        }
    }
}
