package dev.drkit.internal.repo;

import com.github.luben.zstd.Zstd;
import com.github.luben.zstd.ZstdCompressCtx;
import dev.drkit.ArtifactInfo;
import dev.drkit.ObjectExistsException;
import dev.drkit.internal.pipeline.Compression;
import dev.drkit.internal.pipeline.ContentDefinedChunker;
import dev.drkit.internal.pipeline.ContentHash;
import dev.drkit.internal.pipeline.Futures;
import dev.drkit.internal.pipeline.HashingOutputStream;
import dev.drkit.spi.ObjectUpload;
import dev.drkit.spi.support.Sha256;
import dev.drkit.spi.support.StorageFailures;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Writes an artifact into the chunk store: the raw bytes are cut into content-defined chunks;
 * each chunk is hashed (its SHA-256 is its id) and, unless the store already holds it,
 * compressed as a standalone zstd frame and appended to a pack. The artifact's stored object
 * is its chunk list, {@code NAME.chunks}: the line {@value #LIST_HEADER}, then one line
 * {@code ID RAWLENGTH} per chunk in order. Hashing and compression run on worker threads;
 * the list is written in order. Each chunk reaches its worker in the buffer it was cut in, which
 * then goes back to the chunker (no copy per chunk). Memory: at most a few chunk buffers per
 * worker. Not thread-safe.
 */
final class ChunkedArtifactWriter extends ArtifactOutput {
    /** The codec recorded first in a chunked artifact's chain. */
    static final String CODEC = "chunks";

    static final String LIST_SUFFIX = ".chunks";
    /** A chunk list starts with this, a space and the {@link ChunkCodec#scheme()}. */
    static final String LIST_HEADER = "drkit-chunks 1";
    /** The codecs a chunked artifact records: chunked, then each chunk a zstd frame (then encrypted). */
    static final List<String> CHAIN = List.of(CODEC, Compression.ZSTD.codecName());

    private static final AtomicInteger THREADS = new AtomicInteger();

    private final Repository repo;
    private final ChunkStore store;
    /** Whether chunks the store already holds are referred to (false while a collection runs). */
    private final boolean trustStore;

    private final ChunkCodec codec;
    private final StreamCodecs codecs;

    private final String storedName;
    private final String key;
    private final Instant retainUntil;
    private final ObjectUpload listUpload;
    private final HashingOutputStream list;
    private final HashingOutputStream raw;
    private final ChunkStore.PackWriter packs;
    private final ExecutorService pool;
    private final ArrayBlockingQueue<Compressor> contexts;
    /** Chunk buffers the workers are done with, for the chunker to cut in again. */
    private final ArrayBlockingQueue<byte[]> spare;

    private final int depth;
    private final ArrayDeque<Pending> pending = new ArrayDeque<>();
    private final Set<String> claimed = ConcurrentHashMap.newKeySet();
    /** Packs holding chunks this artifact refers to without storing them: they must still be there at the end. */
    private final Set<String> reused = ConcurrentHashMap.newKeySet();

    private final AtomicLong newChunks = new AtomicLong();
    private final AtomicLong newBytes = new AtomicLong();
    private long chunks;
    private boolean closed;

    private record Pending(Future<String> id, int length) {}

    /** A worker's compressor and the buffer it compresses a chunk into (made as large chunks need). */
    private static final class Compressor {
        final ZstdCompressCtx zstd;
        byte[] frame = new byte[0];

        Compressor(ZstdCompressCtx zstd) {
            this.zstd = zstd;
        }

        byte[] frame(int length) {
            long need = Zstd.compressBound(length);
            if (frame.length < need) {
                frame = new byte[(int) need];
            }
            return frame;
        }
    }

    /**
     * At most this many spare chunk buffers are kept (each up to a chunk's maximum size, 4 MiB):
     * the pool stays a few tens of MiB however many workers there are.
     */
    private static final int SPARES = 8;

    private ChunkedArtifactWriter(
            Repository repo,
            ChunkStore store,
            String prefix,
            String name,
            int level,
            int workers,
            boolean trustStore,
            ChunkCodec codec,
            StreamCodecs codecs,
            HashingOutputStream.ByteCounter counter)
            throws IOException {
        super(name);
        this.trustStore = trustStore;
        this.codec = codec;
        this.codecs = codecs;
        this.repo = repo;
        this.store = store;
        this.storedName = name + LIST_SUFFIX;
        this.key = prefix + storedName;
        this.retainUntil = repo.retainUntil();
        int threads = Math.max(1, workers);
        this.depth = threads * 2 + 1;
        this.contexts = new ArrayBlockingQueue<>(threads);
        this.spare = new ArrayBlockingQueue<>(Math.min(depth + 1, SPARES));
        for (int i = 0; i < threads; i++) {
            ZstdCompressCtx c = new ZstdCompressCtx();
            c.setLevel(level < 0 ? Compression.ZSTD.defaultLevel() : level);
            c.setChecksum(true);
            contexts.add(new Compressor(c));
        }
        this.pool = Executors.newFixedThreadPool(threads, r -> {
            Thread t = new Thread(r, "drkit-chunks-" + THREADS.incrementAndGet());
            t.setDaemon(true);
            return t;
        });
        this.packs = store.newPackWriter();
        ObjectUpload up = null;
        try {
            if (trustStore) {
                store.refresh(); // read before the first chunk: its known chunks are not stored again
            }
            up = repo.storage().create(key, retainUntil);
            this.listUpload = up;
            this.list = new HashingOutputStream(up.stream(), ContentHash.sha256(), null);
            list.write((LIST_HEADER + " " + codec.scheme() + "\n").getBytes(StandardCharsets.US_ASCII));
            ContentDefinedChunker chunker =
                    new ContentDefinedChunker(ContentDefinedChunker.Sizes.DEFAULT, this::chunk, this::buffer);
            this.raw = new HashingOutputStream(chunker, ContentHash.crc32c(), counter);
        } catch (IOException | RuntimeException e) {
            if (up != null) {
                up.close();
            }
            release(true);
            if (e instanceof IOException io) {
                throw StorageFailures.classify(io);
            }
            throw e;
        }
    }

    static ChunkedArtifactWriter open(
            Repository repo,
            ChunkStore store,
            String prefix,
            String name,
            StreamCodecs codecs,
            ChunkCodec codec,
            boolean trustStore,
            HashingOutputStream.ByteCounter counter)
            throws IOException {
        return new ChunkedArtifactWriter(
                repo, store, prefix, name, codecs.level(), codecs.workers(), trustStore, codec, codecs, counter);
    }

    /**
     * One chunk, on the writing thread: the first {@code length} bytes of {@code data}, an array
     * now this writer's; queued for hashing and storing, listed in order.
     */
    private void chunk(byte[] data, int length) throws IOException {
        while (!pending.isEmpty()
                && (pending.size() >= depth || pending.peekFirst().id().isDone())) {
            listNext();
        }
        pending.addLast(new Pending(pool.submit(() -> store(data, length)), length));
        chunks++;
    }

    /** A buffer for the chunker: one a worker is done with when it is large enough. */
    private byte[] buffer(int atLeast) {
        byte[] b = spare.poll();
        return b != null && b.length >= atLeast ? b : new byte[atLeast];
    }

    /**
     * On a worker: the id of the chunk (the first {@code length} bytes of {@code data}), after
     * storing it when the store does not hold it yet; {@code data} then goes back to the chunker.
     */
    private String store(byte[] data, int length) throws IOException, InterruptedException {
        try {
            String id = codec.id(data, 0, length);
            String holder = trustStore ? store.holder(id) : null;
            if (holder != null) {
                reused.add(holder);
            } else if (claimed.add(id)) {
                Compressor c = contexts.take();
                byte[] frame;
                try {
                    frame = codec.encode(c.zstd, c.frame(length), data, length, name() + " chunk " + id);
                } finally {
                    contexts.add(c);
                }
                packs.add(id, frame, length);
                newChunks.incrementAndGet();
                newBytes.addAndGet(frame.length);
            }
            return id;
        } finally {
            spare.offer(data); // only once nothing here reads it any more
        }
    }

    private void listNext() throws IOException {
        Pending p = pending.removeFirst();
        String id = Futures.get(p.id(), "storing chunks of " + name());
        list.write((id + " " + p.length() + "\n").getBytes(StandardCharsets.US_ASCII));
    }

    @Override
    public void close() throws IOException {
        if (closed) {
            return;
        }
        closed = true;
        boolean ok = false;
        try {
            raw.close(); // cuts the last chunk
            while (!pending.isEmpty()) {
                listNext();
            }
            packs.finish();
            store.requirePacks(reused, name(), "backup", "the backup is not kept, take it again");
            list.flush();
            listUpload.commit();
            String sha = list.hash();
            if (!repo.storage()
                    .createIfAbsent(
                            key + RepositoryLayout.SHA256_SUFFIX,
                            Sha256.sidecar(sha, storedName).getBytes(StandardCharsets.US_ASCII),
                            retainUntil)) {
                throw new ObjectExistsException(
                        "checksum file " + key + RepositoryLayout.SHA256_SUFFIX + " already exists");
            }
            committed(new ArtifactInfo(
                    name(),
                    storedName,
                    raw.count(),
                    list.count(),
                    sha,
                    raw.hash(),
                    chain(codecs),
                    codecs.recipients()));
            ok = true;
        } catch (FileAlreadyExistsException e) {
            throw new ObjectExistsException("artifact " + key + " already exists in " + repo.describe(), e);
        } catch (IOException e) {
            throw StorageFailures.classify(e);
        } finally {
            if (!ok) {
                packs.abort();
            }
            listUpload.close();
            release(!ok);
        }
    }

    @Override
    public void abort() {
        closed = true;
        packs.abort();
        try {
            listUpload.close();
        } catch (IOException ignored) {
            // best effort: an uncommitted upload is never listed
        }
        release(true);
    }

    /** Stops the workers; frees the compressors once no worker can use them. */
    private void release(boolean now) {
        if (pool == null) {
            freeContexts();
            return;
        }
        if (now) {
            pool.shutdownNow();
        } else {
            pool.shutdown();
        }
        try {
            if (pool.awaitTermination(30, TimeUnit.SECONDS)) {
                freeContexts();
            } // else a worker is stuck on storage: its compressor stays allocated rather than freed under it
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private void freeContexts() {
        if (contexts == null) {
            return;
        }
        Compressor c;
        while ((c = contexts.poll()) != null) {
            c.zstd.close();
        }
    }

    @Override
    OutputStream raw() {
        return raw;
    }

    /** The codecs recorded for a chunked artifact written with {@code codecs}. */
    static List<String> chain(StreamCodecs codecs) {
        if (codecs.encryption() == null) {
            return CHAIN;
        }
        List<String> chain = new ArrayList<>(CHAIN);
        chain.add(codecs.encryption().codecName());
        return List.copyOf(chain);
    }

    @Override
    public long[] dedupCounts() {
        return new long[] {chunks, newChunks.get(), newBytes.get()};
    }

    /** Chunks cut so far. */
    long chunks() {
        return chunks;
    }

    /** Chunks this artifact stored (the rest were in the store already). */
    long newChunks() {
        return newChunks.get();
    }

    /** Stored bytes of the chunks this artifact added. */
    long newBytes() {
        return newBytes.get();
    }
}
