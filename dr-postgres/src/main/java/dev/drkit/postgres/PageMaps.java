package dev.drkit.postgres;

import dev.drkit.ArtifactInfo;
import dev.drkit.BackupManifest;
import dev.drkit.CorruptDataException;
import dev.drkit.spi.support.TarWriter;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.Map;
import java.util.function.Predicate;
import java.util.function.ToLongFunction;
import java.util.regex.Pattern;
import java.util.zip.CRC32;
import java.util.zip.CRC32C;

/**
 * The page maps of a physical backup ({@code pagemap-*.bin}): for every relation file whose
 * size is a whole number of 8 KiB pages, a 64-bit hash of each page as the backup holds it
 * (CRC-32C in the high half, CRC-32 in the low half: two different polynomials, both computed
 * in hardware). The next incremental backup hashes the pages of a changed file and stores only
 * those whose hash differs from its parent's, whatever changed them (WAL-logged changes, hint
 * bits, the visibility map), so a rebuilt file has exactly the bytes the backup read.
 *
 * <p>Format, big-endian: the magic {@code DRKPMAP1}; then per file a u16 name length (1 to
 * 4096), the name (UTF-8, relative to the data directory), a u64 size (a multiple of 8192) and
 * size / 8192 hashes of 8 bytes; then a u16 0.
 */
final class PageMaps {
    /** PostgreSQL's page size (BLCKSZ), the only one drkit compares by page. */
    static final int PAGE = 8192;
    /** Artifact names of page maps start with this. */
    static final String PREFIX = "pagemap-";

    private static final byte[] MAGIC = "DRKPMAP1".getBytes(StandardCharsets.US_ASCII);
    /** 2^24 pages: a 128 GiB file, far above PostgreSQL's 1 GiB relation segments. */
    static final long MAX_PAGES = 1L << 24;
    /** Relation files of every fork and segment, in the default tablespace, global or another tablespace. */
    private static final Pattern RELATION =
            Pattern.compile("(base/\\d+/|global/|pg_tblspc/\\d+/[^/]+/\\d+/)\\d+(_(fsm|vm|init))?(\\.\\d+)?");

    private PageMaps() {}

    /** Whether a data file (name relative to the data directory) is a relation file, compared page by page. */
    static boolean relationFile(String name) {
        return RELATION.matcher(name).matches();
    }

    /** The artifact name of the page map written by copy stream {@code part}. */
    static String artifact(String part) {
        return PREFIX + part + ".bin";
    }

    /** Hashes pages; one per thread. */
    static final class Hasher {
        private final CRC32C crc32c = new CRC32C();
        private final CRC32 crc32 = new CRC32();

        /** The hash of the page at {@code offset}. */
        long hash(byte[] bytes, int offset) {
            crc32c.reset();
            crc32c.update(bytes, offset, PAGE);
            crc32.reset();
            crc32.update(bytes, offset, PAGE);
            return crc32c.getValue() << 32 | crc32.getValue();
        }
    }

    /** Writes a page map; not thread-safe. */
    static final class Writer implements AutoCloseable {
        private final DataOutputStream out;
        private long expected;
        private boolean closed;

        Writer(OutputStream out) throws IOException {
            this.out = new DataOutputStream(out);
            this.out.write(MAGIC);
        }

        /** Starts a file of {@code size} bytes (a multiple of {@link #PAGE}); its hashes follow. */
        void begin(String name, long size) throws IOException {
            if (expected != 0) {
                throw new IllegalStateException("page map entry left unfinished");
            }
            PageStreams.writeName(out, name);
            out.writeLong(size);
            expected = size / PAGE;
        }

        /** The next page's hash. */
        void hash(long hash) throws IOException {
            if (expected <= 0) {
                throw new IllegalStateException("more page hashes than pages");
            }
            out.writeLong(hash);
            expected--;
        }

        /** An observer for {@link TarWriter} that maps the pages of a relation file it copies; null for other files. */
        TarWriter.ContentObserver observer(TarWriter.Item item, Hasher hasher, PageVerification verification)
                throws IOException {
            if (!relationFile(item.name()) || item.size() % PAGE != 0) {
                return null;
            }
            begin(item.name(), item.size());
            byte[] page = new byte[PAGE];
            PageVerification.FilePages pages = verification.forFile(item);
            return new TarWriter.ContentObserver() {
                private int filled;
                private long block;

                private void page(byte[] bytes, int offset) throws IOException {
                    pages.check(bytes, offset, block++);
                    hash(hasher.hash(bytes, offset));
                }

                @Override
                public void update(byte[] bytes, int offset, int length) throws IOException {
                    while (length > 0) {
                        if (filled == 0 && length >= PAGE) {
                            page(bytes, offset);
                            offset += PAGE;
                            length -= PAGE;
                            continue;
                        }
                        int n = Math.min(PAGE - filled, length);
                        System.arraycopy(bytes, offset, page, filled, n);
                        filled += n;
                        offset += n;
                        length -= n;
                        if (filled == PAGE) {
                            page(page, 0);
                            filled = 0;
                        }
                    }
                }

                @Override
                public void end() {
                    if (filled != 0 || expected != 0) {
                        throw new IllegalStateException("page map of " + item.name() + " is short");
                    }
                }
            };
        }

        @Override
        public void close() throws IOException {
            if (!closed) {
                closed = true;
                PageStreams.end(out);
            }
        }
    }

    /** Opens an artifact of one backup by name. */
    @FunctionalInterface
    interface ArtifactOpener {
        InputStream open(String name) throws IOException;
    }

    /**
     * Reads every page map of {@code backup} to its end, keeping nothing, so that each is parsed
     * and the repository's check of its stream runs.
     *
     * @throws CorruptDataException when a map is damaged
     */
    static void readAllThrough(BackupManifest backup, ArtifactOpener open) throws IOException {
        for (ArtifactInfo a : backup.artifacts()) {
            if (a.name().startsWith(PREFIX)) {
                try (InputStream in = open.open(a.name())) {
                    read(in, a.name() + " of backup " + backup.id(), n -> -1, null, null);
                    in.transferTo(OutputStream.nullOutputStream());
                }
            }
        }
    }

    /**
     * Reads a page map, keeping the hashes of the files {@code keep} gives a page count for (at
     * most that many: memory follows the files compared, not what the map claims; negative for
     * none) and copying the entries {@code copy} accepts (when it is not null) into {@code to}.
     *
     * @throws CorruptDataException when the map is damaged
     */
    static Map<String, long[]> read(
            InputStream raw, String what, ToLongFunction<String> keep, Predicate<String> copy, Writer to)
            throws IOException {
        Map<String, long[]> kept = new HashMap<>();
        DataInputStream in = new DataInputStream(raw);
        try {
            PageStreams.expectMagic(in, MAGIC, why -> damaged(what, why));
            for (String name; (name = PageStreams.nextName(in, why -> damaged(what, why))) != null; ) {
                long size = in.readLong();
                if (size < 0 || size % PAGE != 0 || size / PAGE > MAX_PAGES) {
                    throw damaged(what, "file " + name + " has an impossible size " + size);
                }
                int pages = (int) (size / PAGE);
                long wanted = keep.applyAsLong(name);
                boolean keeping = wanted >= 0;
                boolean copying = copy != null && copy.test(name);
                long[] hashes = keeping ? new long[(int) Math.min(pages, wanted)] : null;
                if (copying) {
                    to.begin(name, size);
                }
                for (int i = 0; i < pages; i++) {
                    long h = in.readLong();
                    if (keeping && i < hashes.length) {
                        hashes[i] = h;
                    }
                    if (copying) {
                        to.hash(h);
                    }
                }
                if (keeping) {
                    kept.put(name, hashes);
                }
            }
        } catch (EOFException e) {
            throw damaged(what, "it ends too early");
        }
        return kept;
    }

    private static CorruptDataException damaged(String what, String why) {
        return new CorruptDataException("the page map " + what + " is damaged (" + why
                + "); take a full backup (setting 'incremental' " + "false) and check the repository");
    }
}
