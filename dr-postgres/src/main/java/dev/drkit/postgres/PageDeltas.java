package dev.drkit.postgres;

import com.github.luben.zstd.Zstd;
import com.github.luben.zstd.ZstdCompressCtx;
import com.github.luben.zstd.ZstdDecompressCtx;
import com.github.luben.zstd.ZstdException;
import dev.drkit.CorruptDataException;
import dev.drkit.spi.support.SourceErrors;
import dev.drkit.spi.support.TarWriter;
import java.io.BufferedInputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.Arrays;
import java.util.function.Function;
import java.util.zip.CRC32C;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The page deltas of an incremental physical backup ({@code pages-N.bin}): for each relation
 * file that changed since the parent backup, the pages whose hash differs from the parent's
 * page map (every page past the parent's end among them), so that the file is rebuilt from its
 * previous version in the chain plus these pages.
 *
 * <p>Format {@code DRKPAGE2}, big-endian: the magic; then per file a u16 name length (1 to
 * 4096), the name (UTF-8, relative to the data directory), a u64 size of the rebuilt file (a
 * multiple of 8192) and a u32 page size (8192); then groups of pages, each a u32 count {@code n}
 * (1 to 64), {@code n} u32 block numbers (ascending across the file, below size / 8192), a u32
 * length and that many bytes: one zstd frame holding the {@code n} pages, 8192 bytes each, in the
 * order of their block numbers; a u32 0 closes the file, and after the last file a u16 0. drkit
 * groups the stored pages of each 16-page window (128 KiB) of the file into one frame, so that a
 * chain restore can pass over a frame whose pages a newer backup replaced without decompressing
 * it. A frame per page would pass over every replaced page, but measured on the bench's chain
 * (scale 60, full + 7 incrementals) each incremental stored 2-6% more and took 0.35-0.6 s longer,
 * and the chain restore spent more CPU, not less: zstd's per-frame set-up outweighs the pages it
 * saves decompressing. The artifact as a whole then goes through the repository's compression and encryption
 * like any other. The frames themselves barely compress again, but their headers do: measured on
 * the bench's chain, compressing the artifact again stores 8% less for its largest stream and
 * 38% less for a stream of small files, and costs a chain restore of 7 incrementals about 0.08 s
 * of CPU (3%), so it is kept. To rebuild a file: take its previous
 * version, cut or extend it (with zeros) to the size, and write each stored page at block
 * number × 8192.
 *
 * <p>Backups of drkit 0.x wrote {@code DRKPAGE1}, still read: the same, but each stored page is
 * a u32 block number followed by its 8192 bytes, uncompressed, and a u32 {@code 0xFFFFFFFF}
 * closes the file.
 */
final class PageDeltas {
    /** Artifact names of page deltas start with this. */
    static final String PREFIX = "pages-";

    private static final Logger LOG = LoggerFactory.getLogger(PageDeltas.class);
    private static final byte[] MAGIC_1 = "DRKPAGE1".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] MAGIC_2 = "DRKPAGE2".getBytes(StandardCharsets.US_ASCII);
    private static final int PAGE = PageMaps.PAGE;
    private static final int END_OF_FILE_1 = 0xFFFFFFFF;
    /** Pages read from the data directory per call. */
    private static final int CHUNK_PAGES = 128;
    /** The window whose stored pages share one frame. */
    static final int GROUP_PAGES = 16;
    /** The most pages a frame may hold when read. */
    static final int MAX_GROUP = 64;

    private static final int LEVEL = 3;

    private PageDeltas() {}

    /** The artifact name of the deltas written by copy stream {@code part}. */
    static String artifact(String part) {
        return PREFIX + part + ".bin";
    }

    /** What was stored for one file: the CRC-32C (hex) of the rebuilt file and how many pages it stored. */
    record Stored(String crc32c, long pages) {}

    /** Writes the deltas of one copy stream; not thread-safe. */
    static final class Writer implements AutoCloseable {
        private final DataOutputStream out;
        private final PageMaps.Writer map;
        private final PageVerification verification;
        private final PageMaps.Hasher hasher = new PageMaps.Hasher();
        private final byte[] buffer = new byte[CHUNK_PAGES * PAGE];
        private final byte[] group = new byte[GROUP_PAGES * PAGE];
        private final int[] groupBlocks = new int[GROUP_PAGES];
        private final byte[] frame = new byte[(int) Zstd.compressBound(GROUP_PAGES * PAGE)];
        private final ZstdCompressCtx zstd = new ZstdCompressCtx().setLevel(LEVEL);
        private int grouped;
        private boolean closed;

        /** Deltas go to {@code out}; the hash of every page read goes to {@code map}, each page is checked by {@code verification}. */
        Writer(OutputStream out, PageMaps.Writer map, PageVerification verification) throws IOException {
            this.out = new DataOutputStream(out);
            this.out.write(MAGIC_2);
            this.map = map;
            this.verification = verification;
        }

        /**
         * Reads a relation file up to its scanned size (zeros stand for the end of a file that
         * shrank since: WAL replay restores it, as for a full copy) and stores the pages whose
         * hash is not the one at the same block of {@code parent}.
         *
         * @return what was stored, or null when the file vanished before it was read
         */
        Stored write(TarWriter.Item item, long[] parent) throws IOException {
            InputStream file;
            try {
                // the type first: opening a FIFO put in its place would block for good
                if (!Files.readAttributes(item.path(), BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS)
                        .isRegularFile()) {
                    LOG.warn("{} is no longer a regular file; left out, as a file dropped since the scan", item.name());
                    return null;
                }
                file = Files.newInputStream(item.path(), LinkOption.NOFOLLOW_LINKS);
            } catch (NoSuchFileException e) {
                return null; // dropped since the scan: WAL replay drops it too
            }
            long size = item.size();
            PageStreams.writeName(out, item.name());
            out.writeLong(size);
            out.writeInt(PAGE);
            map.begin(item.name(), size);
            CRC32C crc = new CRC32C();
            PageVerification.FilePages checked = verification.forFile(item);
            long stored = 0;
            long pages = size / PAGE;
            try (file) {
                for (long block = 0; block < pages; ) {
                    int n = (int) Math.min(CHUNK_PAGES, pages - block);
                    int got = readFully(item, file, n * PAGE);
                    Arrays.fill(buffer, got, n * PAGE, (byte) 0);
                    for (int i = 0; i < n; i++, block++) {
                        int offset = i * PAGE;
                        checked.check(buffer, offset, block);
                        long hash = hasher.hash(buffer, offset);
                        map.hash(hash);
                        crc.update(buffer, offset, PAGE);
                        if (parent == null || block >= parent.length || parent[(int) block] != hash) {
                            if (grouped > 0 && groupBlocks[0] / GROUP_PAGES != block / GROUP_PAGES) {
                                flushGroup();
                            }
                            groupBlocks[grouped] = (int) block;
                            System.arraycopy(buffer, offset, group, grouped * PAGE, PAGE);
                            grouped++;
                            stored++;
                        }
                    }
                }
            }
            if (grouped > 0) {
                flushGroup();
            }
            out.writeInt(0);
            return new Stored(String.format("%08x", crc.getValue()), stored);
        }

        private void flushGroup() throws IOException {
            int length = zstd.compressByteArray(frame, 0, frame.length, group, 0, grouped * PAGE);
            out.writeInt(grouped);
            for (int i = 0; i < grouped; i++) {
                out.writeInt(groupBlocks[i]);
            }
            out.writeInt(length);
            out.write(frame, 0, length);
            grouped = 0;
        }

        private int readFully(TarWriter.Item item, InputStream in, int length) {
            int got = 0;
            try {
                while (got < length) {
                    int n = in.read(buffer, got, length - got);
                    if (n < 0) {
                        break;
                    }
                    got += n;
                }
            } catch (IOException e) {
                throw SourceErrors.unreadable(
                        item.path(), e, "check that the user running the backup may read the data directory");
            }
            return got;
        }

        @Override
        public void close() throws IOException {
            if (!closed) {
                closed = true;
                zstd.close();
                PageStreams.end(out);
            }
        }
    }

    /** What reading deltas hands on: where each file's records start and end, and its pages. */
    interface Sink {
        /**
         * A file's record starts; returns whether its pages are wanted (else they are read past).
         *
         * @param size the size the record gives the file
         */
        boolean file(String name, long size) throws IOException;

        /**
         * Whether any of these blocks of the current file is wanted; a frame none of whose
         * blocks is wanted is read past without decompressing it.
         */
        boolean wantsAny(int[] blocks, int count) throws IOException;

        /** A frame of {@code count} pages at {@code blocks} ({@code DRKPAGE2}), not yet decompressed. */
        void frame(int[] blocks, int count, byte[] compressed) throws IOException;

        /** One uncompressed page ({@code DRKPAGE1}). */
        void page(int block, byte[] page) throws IOException;

        /** The current file's record ended. */
        void endFile() throws IOException;
    }

    /**
     * Reads one artifact of page deltas, checking its structure strictly (the repository may
     * have been forged), and hands what it holds to {@code sink}. Reads the stream to its end,
     * so that the repository's check of it runs.
     *
     * @throws CorruptDataException when the artifact is damaged
     */
    static void read(InputStream raw, String what, Sink sink) throws IOException {
        DataInputStream in = new DataInputStream(new BufferedInputStream(raw, 1 << 20));
        Function<String, CorruptDataException> damaged = why -> damaged(what, why);
        try {
            byte[] magic = in.readNBytes(MAGIC_2.length);
            boolean framed = Arrays.equals(magic, MAGIC_2);
            if (!framed && !Arrays.equals(magic, MAGIC_1)) {
                throw damaged.apply("it does not start with the magic DRKPAGE2 or DRKPAGE1");
            }
            int[] blocks = new int[MAX_GROUP];
            byte[] page = new byte[PAGE];
            for (String name; (name = PageStreams.nextName(in, damaged)) != null; ) {
                long size = in.readLong();
                int pageSize = in.readInt();
                if (pageSize != PAGE || size < 0 || size % PAGE != 0 || size / PAGE > PageMaps.MAX_PAGES) {
                    throw damaged.apply("file " + name + " has an impossible size " + size + " or page size");
                }
                boolean wanted = sink.file(name, size);
                long pages = size / PAGE;
                long previous = -1;
                while (true) {
                    int count;
                    if (framed) {
                        count = in.readInt();
                        if (count == 0) {
                            break;
                        }
                        if (count < 0 || count > MAX_GROUP) {
                            throw damaged.apply(
                                    "file " + name + " has a frame of " + Integer.toUnsignedString(count) + " pages");
                        }
                    } else {
                        count = 1;
                    }
                    for (int i = 0; i < count; i++) {
                        long block = Integer.toUnsignedLong(in.readInt());
                        if (!framed && i == 0 && block == Integer.toUnsignedLong(END_OF_FILE_1)) {
                            count = 0;
                            break;
                        }
                        if (block <= previous || block >= pages) {
                            throw damaged.apply(
                                    "file " + name + " has block " + block + " out of order or past its end");
                        }
                        previous = block;
                        blocks[i] = (int) block;
                    }
                    if (count == 0) {
                        break;
                    }
                    if (!framed) {
                        in.readFully(page);
                        if (wanted) {
                            sink.page(blocks[0], page);
                        }
                        continue;
                    }
                    int length = in.readInt();
                    if (length <= 0 || length > Zstd.compressBound((long) count * PAGE)) {
                        throw damaged.apply("file " + name + " has a frame of " + Integer.toUnsignedString(length)
                                + " bytes for " + count + " pages");
                    }
                    if (wanted && sink.wantsAny(blocks, count)) {
                        byte[] compressed = new byte[length]; // handed on: the sink may decompress it later
                        in.readFully(compressed);
                        sink.frame(blocks, count, compressed);
                    } else {
                        in.skipNBytes(length);
                    }
                }
                if (wanted) {
                    sink.endFile();
                }
            }
            in.transferTo(OutputStream.nullOutputStream()); // the repository checks the stream at its end
        } catch (EOFException e) {
            throw damaged(what, "it ends too early");
        }
    }

    /**
     * Decompresses a frame of {@code count} pages into {@code into} (at least count × 8192
     * bytes, from 0), refusing a frame that does not hold exactly that.
     */
    static void decompress(ZstdDecompressCtx zstd, byte[] compressed, int count, byte[] into, String what) {
        int expected = count * PAGE;
        int got;
        try {
            got = zstd.decompressByteArray(into, 0, expected, compressed, 0, compressed.length);
        } catch (ZstdException e) {
            throw damaged(what, "a frame does not decompress");
        }
        if (got != expected) {
            throw damaged(what, "a frame holds " + got + " bytes for " + count + " pages");
        }
    }

    static CorruptDataException damaged(String what, String why) {
        return new CorruptDataException("the page deltas " + what + " are damaged (" + why
                + "); restore an earlier backup and check the " + "repository");
    }
}
