package dev.drkit.storage;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.drkit.spi.ObjectUpload;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Uploads abandoned while the disk hangs in a background fsync (a network file system gone
 * away): the abort returns, the channel stays open for the flush that runs, and a writer still
 * holding the stream (a compression thread of the pipeline) fails at once, as it did when
 * close() closed the channel, rather than fill a removed file.
 */
class FileStorageBackendAbandonedUploadTest {
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
        try (var s = Files.walk(root)) {
            assertThat(s.filter(p -> p.toString().endsWith(".part")).toList()).isEmpty();
        }
    }

    @Test
    void anAbandonedUploadReturnsWhileItsBackgroundFlushHangsAndTheFlushClosesTheFileAfter() throws Exception {
        CountDownLatch flushing = new CountDownLatch(1);
        CountDownLatch disk = new CountDownLatch(1);
        CompletableFuture<Boolean> openAfterFlush = new CompletableFuture<>();
        FileStorageBackend.backgroundForce = channel -> {
            flushing.countDown();
            try {
                disk.await(); // the disk answers when the test says so
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            openAfterFlush.complete(channel.isOpen());
        };
        FileStorageBackend backend = new FileStorageBackend(root);
        ObjectUpload upload = backend.create("packs/p.pack");
        byte[] block = new byte[1 << 20];
        for (int i = 0; i < 33; i++) { // past the 32 MiB that start a background flush
            upload.stream().write(block);
        }
        assertThat(flushing.await(10, TimeUnit.SECONDS))
                .as("a background flush started")
                .isTrue();

        CompletableFuture<Void> abort = CompletableFuture.runAsync(() -> {
            try {
                upload.close();
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        });
        try {
            abort.get(10, TimeUnit.SECONDS); // before the fix: waited for the flush, for ever
            assertThat(partFiles())
                    .as("the half-written upload is gone at once")
                    .isEmpty();
            assertThat(backend.stat("packs/p.pack")).isEmpty();
        } finally {
            disk.countDown();
        }
        // the flush found the channel still open (it was not closed under it), and the new flush
        // of another upload works as before
        assertThat(openAfterFlush.get(10, TimeUnit.SECONDS)).isTrue();
        FileStorageBackend.backgroundForce = realForce;
        try (ObjectUpload next = backend.create("packs/q.pack")) {
            next.stream().write("after".getBytes(StandardCharsets.US_ASCII));
            next.commit();
        }
        assertThat(backend.stat("packs/q.pack")).isPresent();
    }

    private List<Path> partFiles() throws Exception {
        try (Stream<Path> s = Files.walk(root)) {
            return s.filter(p -> p.getFileName().toString().endsWith(".part")).toList();
        }
    }
}
