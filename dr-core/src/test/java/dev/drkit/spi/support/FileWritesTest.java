package dev.drkit.spi.support;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class FileWritesTest {
    @TempDir
    Path dir;

    private static byte[] random(int n) {
        byte[] b = new byte[n];
        new Random(n).nextBytes(b);
        return b;
    }

    @Test
    void aWriteAtAPositionOfSeveralPiecesLandsWholeAndLeavesTheLimitAsItWas() throws Exception {
        byte[] source = random(3 * FileWrites.MAX_WRITE + 999);
        ByteBuffer b = ByteBuffer.wrap(source, 100, source.length - 200).slice(); // a non-zero array offset
        int limit = b.limit();
        Path file = dir.resolve("f");
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
            FileWrites.write(ch, b, 4096);
        }
        assertThat(b.limit()).isEqualTo(limit);
        assertThat(b.hasRemaining()).isFalse();
        byte[] written = Files.readAllBytes(file);
        assertThat(written).hasSize(4096 + source.length - 200);
        assertThat(Arrays.copyOfRange(written, 4096, written.length))
                .isEqualTo(Arrays.copyOfRange(source, 100, source.length - 100));
    }

    @Test
    void aWriteOfAnArrayRangeLandsWholeAndOneReachingPastItsArrayWritesNothing() throws Exception {
        byte[] source = random(2 * FileWrites.MAX_WRITE + 17);
        Path file = dir.resolve("g");
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
            FileWrites.write(ch, source, 5, source.length - 5);
            assertThatThrownBy(() -> FileWrites.write(ch, source, 1024, source.length))
                    .isInstanceOf(IndexOutOfBoundsException.class);
        }
        assertThat(Files.readAllBytes(file)).isEqualTo(Arrays.copyOfRange(source, 5, source.length));
    }
}
