package dev.drkit.postgres;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.github.luben.zstd.Zstd;
import dev.drkit.CorruptDataException;
import dev.drkit.spi.support.TarWriter;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Random;
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
        assertThatThrownBy(() -> applyOnly(forged, dir.resolve("staging"), "../outside", PAGE))
                .isInstanceOf(CorruptDataException.class)
                .hasMessageContaining("outside the data directory");
        assertThat(dir.resolve("outside")).doesNotExist();
    }

    @Test
    void aDeltaForAFileWhoseDirectoryIsMissingOrWhosePlaceIsTakenIsRefused() throws IOException {
        Path staging = Files.createDirectories(dir.resolve("staging"));
        byte[] forged = forged(NAME, PAGE, 0);
        assertThatThrownBy(() -> applyOnly(forged, staging, NAME, PAGE))
                .isInstanceOf(CorruptDataException.class)
                .hasMessageContaining("backup chain is damaged");
        Files.createDirectories(staging.resolve(NAME).getParent());
        Path victim = Files.writeString(dir.resolve("victim"), "keep");
        Files.createSymbolicLink(staging.resolve(NAME), victim);
        assertThatThrownBy(() -> applyOnly(forged, staging, NAME, PAGE))
                .isInstanceOf(CorruptDataException.class)
                .hasMessageContaining("already stands");
        assertThat(Files.readString(victim)).isEqualTo("keep");
        // a directory of the path swapped for a link to elsewhere
        Path elsewhere = Files.createDirectories(dir.resolve("elsewhere"));
        Files.createSymbolicLink(staging.resolve("base/6"), elsewhere);
        assertThatThrownBy(() -> applyOnly(forged("base/6/1", PAGE, 0), staging, "base/6/1", PAGE))
                .isInstanceOf(CorruptDataException.class);
        assertThat(elsewhere).isEmptyDirectory();
    }

    @Test
    void damagedDeltasAreRefusedWithAClearMessage() throws IOException {
        Path staging = Files.createDirectories(dir.resolve("staging/base/5"))
                .getParent()
                .getParent();
        // a block past the file's end
        byte[] past = forged(NAME, PAGE, 1);
        assertThatThrownBy(() -> applyOnly(past, staging, NAME, PAGE))
                .isInstanceOf(CorruptDataException.class)
                .hasMessageContaining("past its end");
        // cut short
        byte[] good = framed(NAME, 2 * PAGE, 1);
        byte[] cut = Arrays.copyOf(good, good.length - 10);
        assertThatThrownBy(() -> applyOnly(cut, fresh(), NAME, 2 * PAGE))
                .isInstanceOf(CorruptDataException.class)
                .hasMessageContaining("ends too early");
        // not a delta artifact at all
        byte[] junk = "not a delta".getBytes(StandardCharsets.US_ASCII);
        assertThatThrownBy(() -> applyOnly(junk, fresh(), NAME, PAGE))
                .isInstanceOf(CorruptDataException.class)
                .hasMessageContaining("magic");
        // a frame that does not decompress to its pages: garbage, or one page short
        byte[] garbled = good.clone();
        garbled[garbled.length - 8] ^= 0x55;
        assertThatThrownBy(() -> applyOnly(garbled, fresh(), NAME, 2 * PAGE))
                .isInstanceOf(CorruptDataException.class)
                .hasMessageContaining("damaged");
        byte[] twoClaimed = framedClaiming(NAME, 3 * PAGE, new int[] {0, 1}, new byte[PAGE]);
        assertThatThrownBy(() -> applyOnly(twoClaimed, fresh(), NAME, 3 * PAGE))
                .isInstanceOf(CorruptDataException.class)
                .hasMessageContaining("frame");
        // a huge frame length is refused before anything is allocated
        byte[] huge = framedClaiming(NAME, 3 * PAGE, new int[] {0}, new byte[PAGE]);
        int at = huge.length - 2 - 4 - Zstd.compress(new byte[PAGE], 3).length - 4;
        huge[at] = 0x7f;
        assertThatThrownBy(() -> applyOnly(huge, fresh(), NAME, 3 * PAGE))
                .isInstanceOf(CorruptDataException.class)
                .hasMessageContaining("frame of");
        // a damaged page map
        assertThatThrownBy(() -> readMap(Arrays.copyOf(mapOf(pages(3, 1)), 30)))
                .isInstanceOf(CorruptDataException.class)
                .hasMessageContaining("page map");
    }

    @Test
    void aChainAppliedNewestFirstGivesTheNewestBytesThroughShrinkingAndGrowing() throws IOException {
        byte[] v0 = pages(40, 1);
        byte[] v1 = Arrays.copyOf(v0, 10 * PAGE); // shrank to 10 pages
        fillPage(v1, 2, 11);
        byte[] v2 = Arrays.copyOf(v1, 30 * PAGE); // grew to 30: pages 10-29 new (zeros in 20-29)
        for (int p = 10; p < 20; p++) {
            fillPage(v2, p, 200 + p);
        }
        fillPage(v2, 5, 12);
        byte[] d1 = delta(v0, v1).bytes;
        byte[] d2 = delta(v1, v2).bytes;
        byte[] rebuilt = applyChain(List.of(d2, d1), v0, v2.length, crc(v2));
        assertThat(rebuilt).isEqualTo(v2);
    }

    @Test
    void aFrameWhosePagesANewerBackupReplacedIsNotEvenDecompressed() throws IOException {
        byte[] v0 = pages(64, 1);
        byte[] v1 = v0.clone();
        for (int p = 16; p < 32; p++) {
            fillPage(v1, p, 300 + p); // window 1 of v1
        }
        fillPage(v1, 40, 41);
        byte[] v2 = v1.clone();
        for (int p = 16; p < 32; p++) {
            fillPage(v2, p, 400 + p); // the same window again: v1's frame for it is not needed
        }
        byte[] d1 = delta(v0, v1).bytes;
        byte[] d2 = delta(v1, v2).bytes;
        // garble the inside of d1's first frame (window 1): the restore must not touch it
        int frameStart = 8 + 2 + NAME.length() + 8 + 4 + 4 + 16 * 4 + 4;
        byte[] garbled = d1.clone();
        for (int i = frameStart + 20; i < frameStart + 60; i++) {
            garbled[i] ^= 0x5a;
        }
        assertThat(applyChain(List.of(d2, garbled), v0, v2.length, crc(v2))).isEqualTo(v2);
        // a frame that is still needed (window 2, page 40) is checked: garbling it fails the restore
        int second = frameStart + readInt(d1, frameStart - 4);
        byte[] garbled2 = d1.clone();
        garbled2[second + 4 + 4 + 4 + 10] ^= 0x5a;
        assertThatThrownBy(() -> applyChain(List.of(d2, garbled2), v0, v2.length, crc(v2)))
                .isInstanceOf(CorruptDataException.class);
    }

    @Test
    void deltasInTheFirstFormatStillRestore() throws IOException {
        byte[] v0 = pages(4, 1);
        byte[] v1 = v0.clone();
        byte[] page = new byte[PAGE];
        new Random(9).nextBytes(page);
        System.arraycopy(page, 0, v1, 2 * PAGE, PAGE);
        byte[] v1Format = forged(NAME, 4 * PAGE, 2, page);
        assertThat(applyChain(List.of(v1Format), v0, v1.length, crc(v1))).isEqualTo(v1);
    }

    @Test
    void aRebuiltFileWhoseBytesDifferFromTheRecordedChecksumIsRefused() throws IOException {
        byte[] v0 = pages(4, 1);
        byte[] v1 = v0.clone();
        fillPage(v1, 1, 5);
        byte[] d1 = delta(v0, v1).bytes;
        assertThatThrownBy(() -> applyChain(List.of(d1), pages(4, 2), v1.length, crc(v1)))
                .isInstanceOf(CorruptDataException.class)
                .hasMessageContaining("CRC-32C")
                .hasMessageContaining("restore a full backup");
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

    private record Delta(PageDeltas.Stored stored, byte[] bytes, byte[] map) {}

    /** The page deltas of {@code now} against the page map of {@code old}. */
    private Delta delta(byte[] old, byte[] now) throws IOException {
        long[] parent = readMap(mapOf(old)).get(NAME);
        Path file = write("now", now);
        ByteArrayOutputStream deltas = new ByteArrayOutputStream();
        ByteArrayOutputStream map = new ByteArrayOutputStream();
        PageDeltas.Stored stored;
        try (PageMaps.Writer m = new PageMaps.Writer(map);
                PageDeltas.Writer w = new PageDeltas.Writer(deltas, m, new PageVerification(false, 0))) {
            stored = w.write(item(file), parent);
        }
        return new Delta(stored, deltas.toByteArray(), map.toByteArray());
    }

    /** Maps {@code old}, writes the delta of {@code now} against it, rebuilds {@code now} from {@code old} and it. */
    private Rebuilt rebuild(byte[] old, byte[] now) throws IOException {
        Delta d = delta(old, now);
        byte[] bytes = applyChain(List.of(d.bytes), old, now.length, d.stored.crc32c());
        return new Rebuilt(d.stored, bytes, readMap(d.map));
    }

    /** Rebuilds NAME from {@code deltas} (newest first) over {@code base}, as a chain restore does. */
    private byte[] applyChain(List<byte[]> deltas, byte[] base, long size, String crc) throws IOException {
        Path staging = fresh();
        List<String> ids = new ArrayList<>();
        for (int i = deltas.size(); i > 0; i--) {
            ids.add("I" + i + "/pages-0.bin"); // oldest first, as the file list has them
        }
        FileList.FileEntry entry = new FileList.FileEntry(NAME, size, 1_000_000L, crc, "F", "data-0.tar", ids);
        try (ChainRebuild rebuild = new ChainRebuild(staging, List.of(entry))) {
            for (int i = 0; i < deltas.size(); i++) {
                rebuild.delta(
                        new ByteArrayInputStream(deltas.get(i)),
                        ids.get(ids.size() - 1 - i),
                        Map.of(NAME, i == 0 ? size : -1L));
            }
            rebuild.base(NAME).write(staging.resolve(NAME), new ByteArrayInputStream(base));
            rebuild.finish();
        }
        assertThat(Files.getLastModifiedTime(staging.resolve(NAME)).toMillis()).isEqualTo(1_000_000L);
        return Files.readAllBytes(staging.resolve(NAME));
    }

    /** Applies one artifact for a file {@code size} bytes long over an empty base version, then finishes. */
    private static void applyOnly(byte[] deltas, Path staging, String name, long size) throws IOException {
        FileList.FileEntry entry =
                new FileList.FileEntry(name, size, 1, "00000000", "F", "data-0.tar", List.of("I/pages-0.bin"));
        try (ChainRebuild rebuild = new ChainRebuild(staging, List.of(entry))) {
            rebuild.delta(new ByteArrayInputStream(deltas), "I/pages-0.bin", Map.of(name, -1L));
            rebuild.base(name).write(staging.resolve(name), new ByteArrayInputStream(new byte[0]));
            rebuild.finish();
        }
    }

    private Path fresh() throws IOException {
        Path staging = dir.resolve("staging-" + System.nanoTime());
        Files.createDirectories(staging.resolve(NAME).getParent());
        return staging;
    }

    private static int readInt(byte[] b, int at) {
        return ((b[at] & 0xff) << 24) | ((b[at + 1] & 0xff) << 16) | ((b[at + 2] & 0xff) << 8) | (b[at + 3] & 0xff);
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

    /** A first-format delta artifact with one file of {@code size} bytes and a page of zeros at {@code block} (none when negative). */
    static byte[] forged(String name, long size, int block) throws IOException {
        return forged(name, size, block, new byte[PAGE]);
    }

    /** A first-format ({@code DRKPAGE1}) delta artifact with one file and {@code page} at {@code block}. */
    static byte[] forged(String name, long size, int block, byte[] page) throws IOException {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        DataOutputStream out = start(bytes, "DRKPAGE1", name, size);
        if (block >= 0) {
            out.writeInt(block);
            out.write(page);
        }
        out.writeInt(-1);
        out.writeShort(0);
        return bytes.toByteArray();
    }

    /** A {@code DRKPAGE2} artifact with one file and one frame of a zero page at {@code block}. */
    static byte[] framed(String name, long size, int block) throws IOException {
        return framedClaiming(name, size, new int[] {block}, new byte[PAGE]);
    }

    /** A {@code DRKPAGE2} artifact whose one frame claims {@code blocks} but holds {@code content}. */
    static byte[] framedClaiming(String name, long size, int[] blocks, byte[] content) throws IOException {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        DataOutputStream out = start(bytes, "DRKPAGE2", name, size);
        writeFrame(out, blocks, content);
        out.writeInt(0);
        out.writeShort(0);
        return bytes.toByteArray();
    }

    /** One frame of a {@code DRKPAGE2} file record: claims {@code blocks}, holds {@code content}. */
    static void writeFrame(DataOutputStream out, int[] blocks, byte[] content) throws IOException {
        out.writeInt(blocks.length);
        for (int b : blocks) {
            out.writeInt(b);
        }
        byte[] frame = Zstd.compress(content, 3);
        out.writeInt(frame.length);
        out.write(frame);
    }

    /** Frames of the pages of {@code file} at the blocks of each of {@code frames}. */
    static void writeFrames(DataOutputStream out, byte[] file, List<int[]> frames) throws IOException {
        for (int[] frame : frames) {
            byte[] content = new byte[frame.length * PAGE];
            for (int i = 0; i < frame.length; i++) {
                System.arraycopy(file, frame[i] * PAGE, content, i * PAGE, PAGE);
            }
            writeFrame(out, frame, content);
        }
    }

    /** A delta artifact's magic and the header of its one file. */
    static DataOutputStream start(ByteArrayOutputStream bytes, String magic, String name, long size)
            throws IOException {
        DataOutputStream out = new DataOutputStream(bytes);
        out.write(magic.getBytes(StandardCharsets.US_ASCII));
        byte[] n = name.getBytes(StandardCharsets.UTF_8);
        out.writeShort(n.length);
        out.write(n);
        out.writeLong(size);
        out.writeInt(PAGE);
        return out;
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
