package dev.drkit.internal.pipeline;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.github.luben.zstd.Zstd;
import dev.drkit.ChecksumMismatchException;
import dev.drkit.ConfigException;
import dev.drkit.spi.support.Sha256;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

class CompressionTest {

    private static byte[] sample() {
        StringBuilder sb = new StringBuilder();
        Random r = new Random(3);
        for (int i = 0; i < 20_000; i++) {
            sb.append("row ").append(i).append(' ').append(r.nextInt(1000)).append('\n');
        }
        return sb.toString().getBytes(StandardCharsets.UTF_8);
    }

    @ParameterizedTest
    @EnumSource(Compression.class)
    void everyCodecRoundTrips(Compression c) throws IOException {
        byte[] data = sample();
        ByteArrayOutputStream stored = new ByteArrayOutputStream();
        try (OutputStream out = c.compress(stored, -1, 0)) {
            out.write(data);
        }
        if (c != Compression.NONE) {
            assertThat(stored.size()).isLessThan(data.length * 3 / 4); // lz4 trades ratio for speed
        }
        try (InputStream in = c.decompress(new ByteArrayInputStream(stored.toByteArray()))) {
            assertThat(in.readAllBytes()).isEqualTo(data);
        }
    }

    @Test
    void zstdWithWorkersWritesAStandardFrame() throws IOException {
        byte[] data = sample();
        ByteArrayOutputStream stored = new ByteArrayOutputStream();
        try (OutputStream out = Compression.ZSTD.compress(stored, 3, 2)) {
            out.write(data);
        }
        byte[] s = stored.toByteArray();
        assertThat(s).startsWith(0x28, 0xB5, 0x2F, 0xFD); // zstd frame magic, read by `zstd -d`
        try (InputStream in = Compression.ZSTD.decompress(new ByteArrayInputStream(s))) {
            assertThat(in.readAllBytes()).isEqualTo(data);
        }
    }

    @Test
    void unknownCodecNamesTheKnownOnes() {
        assertThatThrownBy(() -> Compression.parse("brotli"))
                .isInstanceOf(ConfigException.class)
                .hasMessageContaining("zstd, gzip, lz4, xz, none");
    }

    @Test
    void checkedStreamRejectsWrongHashAndWrongSize() throws IOException {
        byte[] data = "hello".getBytes(StandardCharsets.UTF_8);
        String good = Sha256.hex(data, 0, data.length);
        try (InputStream ok = new CheckedInputStream(new ByteArrayInputStream(data), 5, good, "x", null)) {
            assertThat(ok.readAllBytes()).isEqualTo(data);
        }
        assertThatThrownBy(() -> new CheckedInputStream(new ByteArrayInputStream(data), 5, "00".repeat(32), "obj", null)
                        .readAllBytes())
                .isInstanceOf(ChecksumMismatchException.class)
                .hasMessageContaining("obj");
        assertThatThrownBy(() ->
                        new CheckedInputStream(new ByteArrayInputStream(data), 6, good, "obj", null).readAllBytes())
                .isInstanceOf(ChecksumMismatchException.class)
                .hasMessageContaining("truncated");
        assertThatThrownBy(() ->
                        new CheckedInputStream(new ByteArrayInputStream(data), 4, good, "obj", null).readAllBytes())
                .isInstanceOf(ChecksumMismatchException.class)
                .hasMessageContaining("longer");
    }

    @Test
    void sidecarIsWhatSha256sumReads() {
        assertThat(Sha256.sidecar("ab".repeat(32), "files.tar.zst")).isEqualTo("ab".repeat(32) + "  files.tar.zst\n");
    }

    /** Three frames of about 4 MiB of input each, as zstd artifacts are written up to level 6. */
    private static byte[] threeFrames() throws IOException {
        byte[] data = new byte[3 * ZstdFramesOutputStream.FRAME];
        Random r = new Random(7);
        for (int i = 0; i < data.length; i++) {
            data[i] = (byte) (i % 50 == 0 ? '\n' : 'a' + (i % 9 == 0 ? r.nextInt(26) : i % 26));
        }
        ByteArrayOutputStream stored = new ByteArrayOutputStream();
        try (OutputStream out = Compression.ZSTD.compress(stored, 3, 0)) {
            out.write(data);
        }
        return stored.toByteArray();
    }

    @Test
    void zstdCutAtAFrameBoundaryDecodesToAPrefixThatTheStoredSizeAndHashReject() throws IOException {
        byte[] s = threeFrames();
        int boundary = (int) Zstd.findFrameCompressedSize(s, 0);
        byte[] truncated = Arrays.copyOf(s, boundary);
        try (InputStream in = Compression.ZSTD.decompress(new ByteArrayInputStream(truncated))) {
            assertThat(in.readAllBytes()).hasSize(ZstdFramesOutputStream.FRAME); // zstd cannot tell
        }
        // what the repository's reader does: the stored bytes are checked against the manifest, and a
        // cut anywhere (zstd-jni's reader also ends quietly on some cuts inside a later frame) ends short
        String sha = Sha256.hex(s, 0, s.length);
        for (int cut : new int[] {boundary, boundary + 1, boundary + 24, boundary + 5000, s.length - 5}) {
            byte[] cutCopy = Arrays.copyOf(s, cut);
            assertThatThrownBy(() -> {
                        CheckedInputStream stored =
                                new CheckedInputStream(new ByteArrayInputStream(cutCopy), s.length, sha, "obj", null);
                        try (InputStream in = Compression.ZSTD.decompress(stored)) {
                            in.readAllBytes();
                            stored.drainAndCheck(); // as ArtifactReader does at the decoded stream's end
                        }
                    })
                    .as("a copy cut at %d of %d", cut, s.length)
                    .isInstanceOfAny(IOException.class, ChecksumMismatchException.class);
        }
    }
}
