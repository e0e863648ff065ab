package dev.drkit.storage;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.drkit.spi.ObjectUpload;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Path;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Writes larger than one write call of the backend (256 KiB), and writes that break the contract. */
class FileStorageBackendWriteTest {
    @TempDir
    Path root;

    @Test
    void aWriteOfSeveralPiecesFromTheMiddleOfAnArrayStoresExactlyThoseBytes() throws Exception {
        FileStorageBackend backend = new FileStorageBackend(root);
        byte[] source = new byte[3 * 256 * 1024 + 1000];
        new Random(3).nextBytes(source);
        int off = 777;
        int len = source.length - 2 * off; // three pieces and a bit, none of them starting at 0
        // the stream buffers writes below its buffer's size; this one goes through to the backend in one call
        try (ObjectUpload up = backend.create("big")) {
            up.stream().write(source, off, len);
            up.commit();
        }
        byte[] stored;
        try (InputStream in = backend.open("big", 0)) {
            stored = in.readAllBytes();
        }
        byte[] expected = new byte[len];
        System.arraycopy(source, off, expected, 0, len);
        assertThat(stored).isEqualTo(expected);
    }

    @Test
    void aWriteReachingPastItsArrayFailsBeforeAnyOfItIsWritten() throws Exception {
        FileStorageBackend backend = new FileStorageBackend(root);
        byte[] source = new byte[600 * 1024];
        try (ObjectUpload up = backend.create("bad")) {
            OutputStream out = up.stream();
            assertThatThrownBy(() -> out.write(source, 1024, source.length))
                    .isInstanceOf(IndexOutOfBoundsException.class);
            up.commit();
        }
        try (InputStream in = backend.open("bad", 0)) {
            assertThat(in.readAllBytes()).isEmpty();
        }
    }
}
