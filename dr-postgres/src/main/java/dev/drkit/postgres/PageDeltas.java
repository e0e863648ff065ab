package dev.drkit.postgres;

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
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.Arrays;
import java.util.BitSet;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import java.util.zip.CRC32C;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The page deltas of an incremental physical backup ({@code pages-N.bin}): for each relation
 * file that changed since the parent backup, the pages whose hash differs from the parent's
 * page map (every page past the parent's end among them), so that the file is rebuilt from its
 * previous version in the chain plus these pages.
 *
 * <p>Format, big-endian: the magic {@code DRKPAGE1}; then per file a u16 name length (1 to
 * 4096), the name (UTF-8, relative to the data directory), a u64 size of the rebuilt file (a
 * multiple of 8192), a u32 page size (8192), then for each stored page a u32 block number
 * (ascending, below size / 8192) followed by the page's 8192 bytes, and a u32 {@code 0xFFFFFFFF}
 * closing the file; after the last file a u16 0. To rebuild a file: take its previous version,
 * cut or extend it (with zeros) to the size, and write each stored page at block number × 8192.
 */
final class PageDeltas {
    /** Artifact names of page deltas start with this. */
    static final String PREFIX = "pages-";

    private static final Logger LOG = LoggerFactory.getLogger(PageDeltas.class);
    private static final byte[] MAGIC = "DRKPAGE1".getBytes(StandardCharsets.US_ASCII);
    private static final int PAGE = PageMaps.PAGE;
    private static final int END_OF_FILE = 0xFFFFFFFF;
    /** Pages read from the data directory per call. */
    private static final int CHUNK_PAGES = 128;

    private PageDeltas() {}

    /** The artifact name of the deltas written by copy stream {@code part}. */
    static String artifact(String part) {
        return PREFIX + part + ".bin";
    }

    /** The blocks of a file already written by newer backups of a chain, and its final page count. */
    record Written(BitSet blocks, long pages) {}

    /** What was stored for one file: the CRC-32C (hex) of the rebuilt file and how many pages it stored. */
    record Stored(String crc32c, long pages) {}

    /** Writes the deltas of one copy stream; not thread-safe. */
    static final class Writer implements AutoCloseable {
        private final DataOutputStream out;
        private final PageMaps.Writer map;
        private final PageVerification verification;
        private final PageMaps.Hasher hasher = new PageMaps.Hasher();
        private final byte[] buffer = new byte[CHUNK_PAGES * PAGE];
        private boolean closed;

        /** Deltas go to {@code out}; the hash of every page read goes to {@code map}, each page is checked by {@code verification}. */
        Writer(OutputStream out, PageMaps.Writer map, PageVerification verification) throws IOException {
            this.out = new DataOutputStream(out);
            this.out.write(MAGIC);
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
                            out.writeInt((int) block);
                            out.write(buffer, offset, PAGE);
                            stored++;
                        }
                    }
                }
            }
            out.writeInt(END_OF_FILE);
            return new Stored(String.format("%08x", crc.getValue()), stored);
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
                PageStreams.end(out);
            }
        }
    }

    /**
     * Applies the deltas of one artifact to the files {@code wanted} names under
     * {@code staging}, each of which must already hold its previous version; the others are
     * read past. Reads the stream to its end, so that the repository's check of it runs.
     *
     * @param wanted the names of the files to rebuild, each with the size the file list records
     *     for it when these are its last deltas (the size they must give it), or -1
     * @return the names of the files it rebuilt
     * @throws CorruptDataException when the artifact is damaged or names a file it cannot rebuild
     */
    static Set<String> apply(InputStream raw, String what, Path staging, Map<String, Long> wanted) throws IOException {
        return apply(raw, what, staging, wanted, null);
    }

    /**
     * {@link #apply(InputStream, String, Path, Map)} for a chain applied newest first: a page is
     * written only when no newer backup wrote it ({@code written}, one set of blocks per file,
     * each sized to the file's final page count, pages past it are skipped) and files keep their
     * length; the caller gives each file its final length once every backup is applied. Null
     * {@code written} applies oldest first, every page, each step giving the file its size.
     */
    static Set<String> apply(
            InputStream raw, String what, Path staging, Map<String, Long> wanted, Map<String, Written> written)
            throws IOException {
        DataInputStream in = new DataInputStream(new BufferedInputStream(raw, 1 << 20));
        Set<String> rebuilt = new HashSet<>();
        byte[] page = new byte[PAGE];
        try {
            PageStreams.expectMagic(in, MAGIC, why -> damaged(what, why));
            for (String name; (name = PageStreams.nextName(in, why -> damaged(what, why))) != null; ) {
                long size = in.readLong();
                int pageSize = in.readInt();
                if (pageSize != PAGE || size < 0 || size % PAGE != 0 || size / PAGE > PageMaps.MAX_PAGES) {
                    throw damaged(what, "file " + name + " has an impossible size " + size + " or page size");
                }
                FileChannel channel = null;
                Written done = written == null ? null : written.get(name);
                Long recorded = wanted.get(name);
                if (recorded != null) {
                    if (recorded >= 0 && recorded != size) {
                        throw damaged(
                                what,
                                "they give file " + name + " a size of " + size + " bytes, but the file list records "
                                        + recorded);
                    }
                    if (!rebuilt.add(name)) {
                        throw damaged(what, "it holds file " + name + " twice");
                    }
                    channel = open(staging, name, what);
                }
                try {
                    long previous = -1;
                    while (true) {
                        long block = Integer.toUnsignedLong(in.readInt());
                        if (block == Integer.toUnsignedLong(END_OF_FILE)) {
                            break;
                        }
                        if (block <= previous || block >= size / PAGE) {
                            throw damaged(
                                    what, "file " + name + " has block " + block + " out of order or past its end");
                        }
                        previous = block;
                        in.readFully(page);
                        if (channel != null && done != null) {
                            if (block >= done.pages() || done.blocks().get((int) block)) {
                                continue; // past the file's end, or a newer backup's page is there
                            }
                            done.blocks().set((int) block);
                        }
                        if (channel != null) {
                            ByteBuffer b = ByteBuffer.wrap(page);
                            long position = block * PAGE;
                            while (b.hasRemaining()) {
                                position += channel.write(b, position);
                            }
                        }
                    }
                    if (channel != null && done == null) {
                        if (channel.size() > size) {
                            channel.truncate(size);
                        } else if (channel.size() < size) {
                            channel.write(ByteBuffer.wrap(new byte[1]), size - 1); // the rest reads as zeros
                        }
                    }
                } finally {
                    if (channel != null) {
                        channel.close();
                    }
                }
            }
            in.transferTo(OutputStream.nullOutputStream()); // the repository checks the stream at its end
        } catch (EOFException e) {
            throw damaged(what, "it ends too early");
        }
        return rebuilt;
    }

    /** Opens a file of the staging tree that an earlier backup of the chain put there, refusing anything else. */
    private static FileChannel open(Path staging, String name, String what) throws IOException {
        Path file = staging.resolve(name).normalize();
        if (!file.startsWith(staging) || file.equals(staging) || name.startsWith("/")) {
            throw damaged(what, "it names " + name + ", outside the data directory");
        }
        if (!Files.isRegularFile(file, LinkOption.NOFOLLOW_LINKS)
                || !file.toRealPath().equals(staging.toRealPath().resolve(name).normalize())) {
            throw new CorruptDataException(name + " should have been restored from an earlier backup of the chain "
                    + "before " + what + " is applied to it, but it is not there; the backup chain is damaged, "
                    + "restore a full backup");
        }
        return FileChannel.open(file, StandardOpenOption.WRITE, LinkOption.NOFOLLOW_LINKS);
    }

    private static CorruptDataException damaged(String what, String why) {
        return new CorruptDataException("the page deltas " + what + " are damaged (" + why
                + "); restore an earlier backup and check the " + "repository");
    }
}
