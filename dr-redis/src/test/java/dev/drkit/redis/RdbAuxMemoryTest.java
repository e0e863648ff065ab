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
 * Aux fields are LZF strings of up to 16 MiB that a few bytes expand to, and every one was kept
 * for the whole parse: a forged dump.rdb (or a hostile server's snapshot) of a few MiB held GiBs
 * of heap. Only the writer's version is kept now; the rest are checked and passed over.
 */
class RdbAuxMemoryTest {

    /** An RDB of {@code fields} distinct aux fields, each an LZF string that expands to ~16 MiB. */
    static byte[] forged(int fields) {
        int refs = 63_550; // 1 literal byte + 63550 back references of 264 bytes = 16,777,201 bytes <= AUX_MAX
        ByteArrayOutputStream lzf = new ByteArrayOutputStream();
        lzf.write(0); // literal run of 1 byte
        lzf.write('a');
        for (int i = 0; i < refs; i++) {
            lzf.write(0xE0); // len 7 (+ next byte), offset high 0
            lzf.write(0xFF); // len 7 + 255 = 262, copies 264
            lzf.write(0x00); // offset low 0: repeat the previous byte
        }
        byte[] compressed = lzf.toByteArray();
        int plain = 1 + 264 * refs;
        RdbBytes rdb = RdbBytes.redis(9);
        for (int f = 0; f < fields; f++) {
            rdb.op(RdbParser.OP_AUX).string("k" + f);
            rdb.raw(0xC3).length(compressed.length).length(plain).raw(compressed);
        }
        return rdb.eof();
    }

    /** Run in a child JVM with a small heap: parse a forged file. */
    public static void main(String[] args) throws Exception {
        byte[] rdb = Files.readAllBytes(Path.of(args[0]));
        new RdbParser(new ByteArrayInputStream(rdb), null, "dump.rdb", false, false).parse(null);
        System.out.println("parsed " + rdb.length + " bytes");
    }

    @Test
    void aForgedRdbOfAFewMegabytesDoesNotExhaustTheHeap(@TempDir Path dir) throws Exception {
        byte[] rdb = forged(24);
        assertThat(rdb.length).isLessThan(5 << 20); // 4.6 MiB on disk
        Path file = dir.resolve("dump.rdb");
        Files.write(file, rdb);
        Process p = new ProcessBuilder(
                        Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                        "-Xmx256m",
                        "-cp",
                        System.getProperty("java.class.path"),
                        RdbAuxMemoryTest.class.getName(),
                        file.toString())
                .redirectErrorStream(true)
                .start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor(120, TimeUnit.SECONDS)).isTrue();
        // a 4.6 MiB file in a 256 MiB heap: should parse, or fail as corrupt, never OutOfMemoryError
        assertThat(out).doesNotContain("OutOfMemoryError");
    }
}
