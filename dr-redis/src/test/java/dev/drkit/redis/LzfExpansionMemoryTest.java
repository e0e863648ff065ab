package dev.drkit.redis;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * LZF expands up to ~88 times, and two kinds of LZF string are decompressed whole: the listpack
 * of a hash with field TTLs (types 23 and 25, on every parse, verification included) and key
 * names (when keys are read: online, filtered and key-delta restores). A forged dump.rdb of 5 MiB
 * then asks for ~450 MiB of heap: OutOfMemoryError instead of a clear refusal.
 */
class LzfExpansionMemoryTest {
    private static final int REFS = 1_700_000; // 5.1 MB of LZF, 448.8 MB decompressed

    /** An LZF string of one literal byte and {@code REFS} back references of 264 bytes each. */
    static RdbBytes lzf(RdbBytes b) {
        ByteArrayOutputStream lzf = new ByteArrayOutputStream();
        lzf.write(0);
        lzf.write('a');
        for (int i = 0; i < REFS; i++) {
            lzf.write(0xE0);
            lzf.write(0xFF);
            lzf.write(0x00);
        }
        byte[] compressed = lzf.toByteArray();
        return b.raw(0xC3).length(compressed.length).length(1 + 264L * REFS).raw(compressed);
    }

    /** A hash with field TTLs (type 25) whose listpack is such an LZF string. */
    static byte[] listpackExHash() {
        return lzf(RdbBytes.redis(12).selectDb(0).op(25).string("h").u64(0)).eof();
    }

    /** A string key whose name is such an LZF string. */
    static byte[] lzfKey() {
        return lzf(RdbBytes.redis(12).selectDb(0).op(0)).string("v").eof();
    }

    /** Child JVM: parses args[0], with keys when args[1] is "keys". */
    public static void main(String[] args) throws Exception {
        byte[] rdb = Files.readAllBytes(Path.of(args[0]));
        boolean keys = args[1].equals("keys");
        try {
            new RdbParser(new ByteArrayInputStream(rdb), null, "dump.rdb", keys, false).parse(null);
            System.out.println("parsed");
        } catch (OutOfMemoryError e) {
            System.out.println("OutOfMemoryError");
        } catch (Exception e) {
            System.out.println("refused: " + e.getMessage());
        }
    }

    private static String parseInSmallHeap(Path dir, byte[] rdb, String mode) throws Exception {
        assertThat(rdb.length).isLessThan(6 << 20);
        Path file = dir.resolve("dump.rdb");
        Files.write(file, rdb);
        Process p = new ProcessBuilder(
                        Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                        "-Xmx256m",
                        "-cp",
                        System.getProperty("java.class.path"),
                        LzfExpansionMemoryTest.class.getName(),
                        file.toString(),
                        mode)
                .redirectErrorStream(true)
                .start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor(120, TimeUnit.SECONDS)).isTrue();
        return out;
    }

    @Test
    void aForgedListpackOfAHashWithFieldTtlsDoesNotExhaustTheHeapOfAVerification(@TempDir Path dir) throws Exception {
        String out = parseInSmallHeap(dir, listpackExHash(), "no-keys");
        assertThat(out).doesNotContain("OutOfMemoryError").contains("refused: dump.rdb");
    }

    @Test
    void aForgedLzfKeyNameDoesNotExhaustTheHeapOfARestore(@TempDir Path dir) throws Exception {
        String out = parseInSmallHeap(dir, lzfKey(), "keys");
        assertThat(out).doesNotContain("OutOfMemoryError").contains("refused: dump.rdb");
    }
}
