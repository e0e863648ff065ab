package dev.drkit.internal.repo;

import dev.drkit.ArtifactInfo;
import dev.drkit.CorruptDataException;
import dev.drkit.DrException;
import dev.drkit.internal.pipeline.CheckedInputStream;
import dev.drkit.internal.pipeline.ContentHash;
import dev.drkit.internal.pipeline.Futures;
import dev.drkit.internal.pipeline.HashingOutputStream;
import dev.drkit.spi.StorageIOException;
import dev.drkit.spi.support.StorageFailures;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Pattern;

/**
 * Reads a chunked artifact back: its chunk list, checked whole against the manifest's size and
 * sha256 before any byte is returned, then each chunk from its pack, fetched a few ahead on
 * worker threads, decompressed and checked against its id (the SHA-256 of its bytes). A chunk
 * stored in more than one pack is taken from the first copy that checks. Not thread-safe.
 */
final class ChunkedArtifactReader extends InputStream {
    /** A chunk list longer than this (about 3 million chunks, terabytes of raw data) is refused. */
    static final long MAX_LIST = 256L << 20;
    /** The longest line of a chunk list: an id, a space and a length. */
    private static final int LINE_MAX = 64 + 1 + 9;

    private static final AtomicInteger THREADS = new AtomicInteger();
    private static final Pattern SCHEME = Pattern.compile("sha256|hmac-sha256 [0-9a-f]{16}");

    private final Repository repo;
    private final ChunkStore store;
    private final ChunkCodec codec;
    private final String what;
    private final List<String> ids;
    private final int[] lengths;
    private final ExecutorService pool;
    private final int depth;
    private final ArrayDeque<Future<byte[]>> ahead = new ArrayDeque<>();
    private int nextToFetch;
    private byte[] current = new byte[0];
    private int pos;
    private boolean closed;

    private ChunkedArtifactReader(
            Repository repo,
            ChunkStore store,
            ChunkCodec codec,
            String what,
            List<String> ids,
            int[] lengths,
            int threads) {
        this.codec = codec;
        this.repo = repo;
        this.store = store;
        this.what = what;
        this.ids = ids;
        this.lengths = lengths;
        this.depth = threads * 2;
        this.pool = Executors.newFixedThreadPool(threads, r -> {
            Thread t = new Thread(r, "drkit-chunk-read-" + THREADS.incrementAndGet());
            t.setDaemon(true);
            return t;
        });
    }

    /** The decoded bytes of a chunked artifact, with its raw size and crc32c checked at the end. */
    static InputStream open(
            Repository repo,
            ChunkStore store,
            ChunkList list,
            ChunkCodec codec,
            ArtifactInfo a,
            int threads,
            HashingOutputStream.ByteCounter counter,
            String what) {
        InputStream chunks =
                new ChunkedArtifactReader(repo, store, codec, what, list.ids(), list.lengths(), Math.max(1, threads));
        return new CheckedInputStream(
                chunks, a.rawSize(), a.rawCrc32c(), ContentHash.crc32c(), "crc32c", "decoded " + what, counter);
    }

    /**
     * An artifact's chunks, in order.
     *
     * @param scheme how the chunks are named and stored ({@link ChunkCodec#scheme()})
     */
    record ChunkList(String scheme, List<String> ids, int[] lengths) {
        /** The chunk key id of an encrypted artifact's chunks, or null. */
        String keyId() {
            return scheme.startsWith(ChunkCodec.HMAC + " ") ? scheme.substring(ChunkCodec.HMAC.length() + 1) : null;
        }
    }

    /**
     * Reads a chunked artifact's chunk list from its stored object, checked whole against the
     * manifest's size and sha256, then parsed strictly. Closes {@code listSource}.
     */
    static ChunkList readList(InputStream listSource, ArtifactInfo a, String what) throws IOException {
        boolean encrypted = a.codecs().size() == ChunkedArtifactWriter.CHAIN.size() + 1;
        if (!a.codecs().subList(0, Math.min(a.codecs().size(), 2)).equals(ChunkedArtifactWriter.CHAIN)
                || a.codecs().size() > ChunkedArtifactWriter.CHAIN.size() + 1) {
            listSource.close();
            throw new CorruptDataException(what + " records the codecs " + a.codecs()
                    + ", which this version of drkit cannot read; restore it with the version that wrote it");
        }
        if (a.storedSize() > MAX_LIST || a.storedSize() < 0) {
            listSource.close();
            throw new CorruptDataException(what + " records a chunk list of " + a.storedSize()
                    + " bytes, more than drkit writes; " + "the backup is damaged, use another one");
        }
        byte[] listBytes;
        try (CheckedInputStream in =
                new CheckedInputStream(listSource, a.storedSize(), a.sha256(), "stored " + what, null)) {
            listBytes = in.readNBytes((int) a.storedSize() + 1);
            in.drainAndCheck();
        } catch (DrException e) {
            throw e;
        } catch (IOException e) {
            StorageIOException failure = StorageFailures.find(e);
            if (failure != null) {
                throw failure;
            }
            throw e;
        }
        List<String> ids = new ArrayList<>();
        String[] scheme = new String[1];
        int[] lengths = parseList(listBytes, a.rawSize(), ids, scheme, what);
        if (encrypted != scheme[0].startsWith(ChunkCodec.HMAC + " ")) {
            throw new CorruptDataException(what + ": its chunk list names its chunks as "
                    + (encrypted ? "unencrypted" : "encrypted") + " ones, its manifest says otherwise; "
                    + "the backup is damaged, use another one");
        }
        return new ChunkList(scheme[0], List.copyOf(ids), lengths);
    }

    /** Parses a chunk list (already checked against the manifest's sha256) strictly. */
    static int[] parseList(byte[] content, long rawSize, List<String> ids, String[] scheme, String what) {
        String text = new String(content, StandardCharsets.US_ASCII);
        int first = text.indexOf('\n');
        String head = ChunkedArtifactWriter.LIST_HEADER + " ";
        String line0 = first < 0 ? "" : text.substring(0, first);
        if (!text.endsWith("\n")
                || !line0.startsWith(head)
                || !SCHEME.matcher(line0.substring(head.length())).matches()) {
            throw new CorruptDataException(
                    what + " is not a chunk list drkit writes; the backup is damaged, use another one");
        }
        scheme[0] = line0.substring(head.length());
        // line by line: a split of a list of empty lines would take gigabytes
        int[] lengths = new int[16];
        int n = 0;
        long total = 0;
        for (int i = 1, start = first + 1, eol; start < text.length(); i++, start = eol + 1) {
            eol = text.indexOf('\n', start);
            String line = text.substring(start, Math.min(eol, start + LINE_MAX));
            int space = line.indexOf(' ');
            String id = space < 0 ? line : line.substring(0, space);
            String len = space < 0 ? "" : line.substring(space + 1);
            if (eol - start > LINE_MAX
                    || !ChunkStore.isChunkId(id)
                    || len.isEmpty()
                    || len.length() > 9
                    || !len.chars().allMatch(c -> c >= '0' && c <= '9')
                    || Integer.parseInt(len) == 0
                    || Integer.parseInt(len) > ChunkStore.MAX_RAW) {
                throw new CorruptDataException(what + ": line " + (i + 1)
                        + " of its chunk list is malformed; the backup is damaged, use another one");
            }
            ids.add(id);
            if (n == lengths.length) {
                lengths = Arrays.copyOf(lengths, n * 2);
            }
            lengths[n] = Integer.parseInt(len);
            total += lengths[n++];
        }
        if (total != rawSize) {
            throw new CorruptDataException(what + ": its chunks add up to " + total + " bytes, the manifest says "
                    + rawSize + "; the backup is damaged, use another one");
        }
        return Arrays.copyOf(lengths, n);
    }

    @Override
    public int read() throws IOException {
        while (pos == current.length) {
            if (!advance()) {
                return -1;
            }
        }
        return current[pos++] & 0xff;
    }

    @Override
    public int read(byte[] b, int off, int len) throws IOException {
        if (len == 0) {
            return 0;
        }
        while (pos == current.length) {
            if (!advance()) {
                return -1;
            }
        }
        int n = Math.min(len, current.length - pos);
        System.arraycopy(current, pos, b, off, n);
        pos += n;
        return n;
    }

    private boolean advance() throws IOException {
        if (closed) {
            throw new IOException(what + " is closed");
        }
        while (ahead.size() < depth && nextToFetch < ids.size()) {
            int i = nextToFetch++;
            ahead.addLast(pool.submit(() -> fetch(i)));
        }
        Future<byte[]> next = ahead.pollFirst();
        if (next == null) {
            return false;
        }
        current = Futures.get(next, "reading " + what);
        pos = 0;
        return true;
    }

    private byte[] fetch(int i) throws IOException {
        return store.read(ids.get(i), lengths[i], what, codec).raw();
    }

    @Override
    public void close() {
        closed = true;
        ahead.forEach(f -> f.cancel(true));
        ahead.clear();
        pool.shutdownNow();
    }
}
