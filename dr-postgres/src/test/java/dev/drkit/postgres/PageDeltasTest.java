package dev.drkit.postgres;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.drkit.CorruptDataException;
import dev.drkit.spi.support.TarWriter;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.zip.CRC32C;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Page maps and page deltas: a file rebuilt from its old version and the changed pages has the new bytes. */
class PageDeltasTest {
    private static final int PAGE = PageMaps.PAGE;
    private static final String NAME = "base/5/16384";

    @TempDir
    Path dir;

    @Test
    void onlyChangedAndNewPagesAreStoredAndTheRebuiltFileHasTheNewBytes() throws IOException {
        byte[] old = pages(40, 1);
        byte[] now = Arrays.copyOf(old, 46 * PAGE); // grew by 6 pages
        fillPage(now, 3, 7);
        fillPage(now, 17, 8);
        for (int p = 40; p < 46; p++) {
            fillPage(now, p, 100 + p);
        }
        now[39 * PAGE + 5] ^= 1; // a one-bit change (a hint bit) is a change too
        Rebuilt r = rebuild(old, now);
        assertThat(r.stored.pages()).isEqualTo(2 + 1 + 6);
        assertThat(r.bytes).isEqualTo(now);
        assertThat(r.stored.crc32c()).isEqualTo(crc(now));
        assertThat(r.map.get(NAME)).hasSize(46);
    }

    @Test
    void aFileThatShrankIsCutToItsNewSize() throws IOException {
        byte[] old = pages(30, 3);
        byte[] now = Arrays.copyOf(old, 12 * PAGE);
        fillPage(now, 11, 9);
        Rebuilt r = rebuild(old, now);
        assertThat(r.stored.pages()).isEqualTo(1);
        assertThat(r.bytes).isEqualTo(now);
    }

    @Test
    void anUnchangedFileStoresNoPage() throws IOException {
        byte[] old = pages(8, 4);
        Rebuilt r = rebuild(old, old.clone());
        assertThat(r.stored.pages()).isZero();
        assertThat(r.bytes).isEqualTo(old);
    }

    @Test
    void theTarObserverMapsPagesAsTheDeltaWriterDoes() throws IOException {
        byte[] bytes = pages(9, 5);
        Path file = write("obs", bytes);
        ByteArrayOutputStream viaTar = new ByteArrayOutputStream();
        try (PageMaps.Writer map = new PageMaps.Writer(viaTar)) {
            TarWriter.ContentObserver o =
                    map.observer(item(file), new PageMaps.Hasher(), new PageVerification(false, 0));
            // odd chunk sizes: pages cross update calls
            o.update(bytes, 0, 5000);
            o.update(bytes, 5000, 3 * PAGE);
            o.update(bytes, 5000 + 3 * PAGE, bytes.length - 5000 - 3 * PAGE);
            o.end();
        }
        Map<String, long[]> fromTar = readMap(viaTar.toByteArray());
        Rebuilt r = rebuild(new byte[0], bytes);
        assertThat(fromTar.get(NAME)).isEqualTo(r.map.get(NAME));
    }

    @Test
    void aDeltaNamingAFileOutsideTheDataDirectoryIsRefused() throws IOException {
        Files.createDirectories(dir.resolve("staging"));
        byte[] forged = forged("../outside", PAGE, 0);
        assertThatThrownBy(() -> PageDeltas.apply(
                        new ByteArrayInputStream(forged),
                        "pages-0.bin",
                        dir.resolve("staging"),
                        Map.of("../outside", -1L)))
                .isInstanceOf(CorruptDataException.class)
                .hasMessageContaining("outside the data directory");
        assertThat(dir.resolve("outside")).doesNotExist();
    }

    @Test
    void aDeltaForAFileTheChainDidNotRestoreOrASymlinkIsRefused() throws IOException {
        Path staging = Files.createDirectories(dir.resolve("staging/base/5"))
                .getParent()
                .getParent();
        byte[] forged = forged(NAME, PAGE, 0);
        assertThatThrownBy(() ->
                        PageDeltas.apply(new ByteArrayInputStream(forged), "pages-0.bin", staging, Map.of(NAME, -1L)))
                .isInstanceOf(CorruptDataException.class)
                .hasMessageContaining("backup chain is damaged");
        Path victim = Files.writeString(dir.resolve("victim"), "keep");
        Files.createSymbolicLink(staging.resolve(NAME), victim);
        assertThatThrownBy(() ->
                        PageDeltas.apply(new ByteArrayInputStream(forged), "pages-0.bin", staging, Map.of(NAME, -1L)))
                .isInstanceOf(CorruptDataException.class);
        assertThat(Files.readString(victim)).isEqualTo("keep");
    }

    @Test
    void damagedDeltasAreRefusedWithAClearMessage() throws IOException {
        Path staging = Files.createDirectories(dir.resolve("staging/base/5"))
                .getParent()
                .getParent();
        Files.write(staging.resolve(NAME), new byte[2 * PAGE]);
        // a block past the file's end
        byte[] past = forged(NAME, PAGE, 1);
        assertThatThrownBy(() ->
                        PageDeltas.apply(new ByteArrayInputStream(past), "pages-0.bin", staging, Map.of(NAME, -1L)))
                .isInstanceOf(CorruptDataException.class)
                .hasMessageContaining("past its end");
        // cut short
        byte[] good = forged(NAME, 2 * PAGE, 1);
        byte[] cut = Arrays.copyOf(good, good.length - 100);
        assertThatThrownBy(() ->
                        PageDeltas.apply(new ByteArrayInputStream(cut), "pages-0.bin", staging, Map.of(NAME, -1L)))
                .isInstanceOf(CorruptDataException.class)
                .hasMessageContaining("ends too early");
        // not a delta artifact at all
        byte[] junk = "not a delta".getBytes(StandardCharsets.US_ASCII);
        assertThatThrownBy(() ->
                        PageDeltas.apply(new ByteArrayInputStream(junk), "pages-0.bin", staging, Map.of(NAME, -1L)))
                .isInstanceOf(CorruptDataException.class)
                .hasMessageContaining("magic");
        // a damaged page map
        assertThatThrownBy(() -> readMap(Arrays.copyOf(mapOf(pages(3, 1)), 30)))
                .isInstanceOf(CorruptDataException.class)
                .hasMessageContaining("page map");
    }

    @Test
    void theChainOrderFollowsTheFileLists() {
        FileList.FileEntry a =
                new FileList.FileEntry("base/5/1", PAGE, 1, "0", "F", "data-0.tar", List.of("B/pages-0.bin"));
        FileList.FileEntry b = new FileList.FileEntry(
                "base/5/2", PAGE, 1, "0", "F", "data-0.tar", List.of("A/pages-0.bin", "C/pages-1.bin"));
        FileList.FileEntry c = new FileList.FileEntry(
                "base/5/3", PAGE, 1, "0", "F", "data-0.tar", List.of("C/pages-0.bin", "B/pages-0.bin"));
        assertThat(PhysicalRestore.chainOrder(List.of(a, b, c))).containsExactly("A", "C", "B");
        FileList.FileEntry circle = new FileList.FileEntry(
                "base/5/4", PAGE, 1, "0", "F", "data-0.tar", List.of("B/pages-0.bin", "C/pages-0.bin"));
        assertThatThrownBy(() -> PhysicalRestore.chainOrder(List.of(c, circle)))
                .isInstanceOf(CorruptDataException.class)
                .hasMessageContaining("circle");
    }

    @Test
    void fileListLinesWithDeltasRoundTripAndForgedOnesAreRefused() {
        FileList.FileEntry e = new FileList.FileEntry(
                NAME,
                3 * PAGE,
                12,
                "0a0b0c0d",
                "20261202T010000Z-aaaaaa",
                "data-1.tar",
                List.of("20261202T020000Z-bbbbbb/pages-0.bin", "20261202T030000Z-cccccc/pages-1.bin"));
        assertThat(FileList.FileEntry.parse(e.line())).isEqualTo(e);
        assertThatThrownBy(() -> FileList.FileEntry.parse(e.line().replace("pages-1.bin", "../../etc/passwd")))
                .isInstanceOf(CorruptDataException.class);
        assertThatThrownBy(() -> FileList.FileEntry.parse("a\tb"))
                .isInstanceOf(CorruptDataException.class)
                .hasMessageContaining("fields");
    }

    private record Rebuilt(PageDeltas.Stored stored, byte[] bytes, Map<String, long[]> map) {}

    /** Maps {@code old}, writes the delta of {@code now} against it, applies it to {@code old}. */
    private Rebuilt rebuild(byte[] old, byte[] now) throws IOException {
        long[] parent = readMap(mapOf(old)).get(NAME);
        Path file = write("now", now);
        ByteArrayOutputStream deltas = new ByteArrayOutputStream();
        ByteArrayOutputStream map = new ByteArrayOutputStream();
        PageDeltas.Stored stored;
        try (PageMaps.Writer m = new PageMaps.Writer(map);
                PageDeltas.Writer w = new PageDeltas.Writer(deltas, m, new PageVerification(false, 0))) {
            stored = w.write(item(file), parent);
        }
        Path staging = dir.resolve("staging-" + System.nanoTime());
        Files.createDirectories(staging.resolve(NAME).getParent());
        Files.write(staging.resolve(NAME), old);
        Set<String> rebuilt = PageDeltas.apply(
                new ByteArrayInputStream(deltas.toByteArray()), "pages-0.bin", staging, Map.of(NAME, -1L));
        assertThat(rebuilt).containsExactly(NAME);
        return new Rebuilt(stored, Files.readAllBytes(staging.resolve(NAME)), readMap(map.toByteArray()));
    }

    private byte[] mapOf(byte[] bytes) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (PageMaps.Writer map = new PageMaps.Writer(out)) {
            map.begin(NAME, bytes.length);
            PageMaps.Hasher h = new PageMaps.Hasher();
            for (int p = 0; p < bytes.length / PAGE; p++) {
                map.hash(h.hash(bytes, p * PAGE));
            }
        }
        return out.toByteArray();
    }

    private static Map<String, long[]> readMap(byte[] map) throws IOException {
        return PageMaps.read(new ByteArrayInputStream(map), "pagemap-0.bin", n -> Long.MAX_VALUE, null, null);
    }

    private TarWriter.Item item(Path file) throws IOException {
        return TarWriter.Item.of(file, NAME);
    }

    private Path write(String name, byte[] bytes) throws IOException {
        return Files.write(dir.resolve(name + System.nanoTime()), bytes);
    }

    /** A delta artifact with one file of {@code size} bytes and one page at {@code block} (none when negative). */
    static byte[] forged(String name, long size, int block) throws IOException {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        DataOutputStream out = new DataOutputStream(bytes);
        out.write("DRKPAGE1".getBytes(StandardCharsets.US_ASCII));
        byte[] n = name.getBytes(StandardCharsets.UTF_8);
        out.writeShort(n.length);
        out.write(n);
        out.writeLong(size);
        out.writeInt(PAGE);
        if (block >= 0) {
            out.writeInt(block);
            out.write(new byte[PAGE]);
        }
        out.writeInt(-1);
        out.writeShort(0);
        return bytes.toByteArray();
    }

    static byte[] pages(int count, long seed) {
        byte[] b = new byte[count * PAGE];
        new Random(seed).nextBytes(b);
        return b;
    }

    static void fillPage(byte[] b, int page, long seed) {
        byte[] p = new byte[PAGE];
        new Random(seed).nextBytes(p);
        System.arraycopy(p, 0, b, page * PAGE, PAGE);
    }

    static String crc(byte[] b) {
        CRC32C c = new CRC32C();
        c.update(b);
        return String.format("%08x", c.getValue());
    }
}
