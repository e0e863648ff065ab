package dev.drkit.internal.pipeline;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.util.Arrays;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

class AsyncOutputStreamTest {

    private static boolean writerAlive(String name) {
        return Thread.getAllStackTraces().keySet().stream()
                .anyMatch(t -> t.getName().equals(name) && t.isAlive());
    }

    @Test
    void whatIsWrittenReachesTheStreamInOrderAndTheWriterEnds() throws IOException {
        ByteArrayOutputStream sink = new ByteArrayOutputStream();
        byte[] data = new byte[3 << 20];
        Arrays.fill(data, (byte) 7);
        data[12345] = 1;
        AsyncOutputStream out = new AsyncOutputStream(sink, "drkit-pipeline-test-ok");
        out.write(data, 0, 1000);
        out.write(data, 1000, data.length - 1000);
        out.close();
        assertThat(sink.toByteArray()).isEqualTo(data);
        assertThat(writerAlive("drkit-pipeline-test-ok")).isFalse();
    }

    @Test
    void aProducerInterruptedBeforeCloseLeavesNoWriterThreadWaitingForever() throws Exception {
        String name = "drkit-pipeline-test-interrupted";
        AsyncOutputStream out = new AsyncOutputStream(new ByteArrayOutputStream(), name);
        out.write(new byte[100_000]);
        Thread.currentThread().interrupt(); // a cancelled backup
        try {
            assertThatThrownBy(out::close).isInstanceOf(InterruptedIOException.class);
        } finally {
            Thread.interrupted();
        }
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (writerAlive(name)) {
            assertThat(System.nanoTime()).as("the writer thread ended").isLessThan(deadline);
            Thread.sleep(20);
        }
    }
}
