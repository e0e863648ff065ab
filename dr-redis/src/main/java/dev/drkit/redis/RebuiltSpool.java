package dev.drkit.redis;

import com.github.luben.zstd.ZstdInputStream;
import com.github.luben.zstd.ZstdOutputStream;
import dev.drkit.spi.support.PrivateScratch;
import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.FilterInputStream;
import java.io.FilterOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.file.FileStore;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Keeps the RDB a key-delta chain rebuilds while an online restore reads it the first time (to
 * check it), so that the second read, which sends the keys, reads it back instead of rebuilding
 * the chain again (reading the full snapshot and every delta a second time, about as long as
 * the first).
 *
 * <p>The copy is a zstd stream (level 1) in a file of drkit's private scratch directory (see
 * {@link PrivateScratch}), unlinked as soon as it is open: nothing of it is left after the
 * restore, a failure or a crash, and no other user can read it. It is never made on a tmpfs
 * (that would take the memory the server being restored needs) or with less than
 * {@value #MIN_FREE_MIB} MiB free, and it is given up (its space freed at once) when the free
 * space falls below that while it is written, or a write fails: the chain is then rebuilt for
 * the second read, as without it. The second read is checked against the first as any second
 * read is ({@link VerifiedReread}). Not thread-safe.
 */
final class RebuiltSpool implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(RebuiltSpool.class);
    static final long MIN_FREE_MIB = 1024;
    /** How many bytes are written between two looks at the free space. */
    private static final long CHECK_EVERY = 64L << 20;

    private final String what;
    /** The free space where the copy is, in bytes. */
    private final Free free;

    private final long minFree;
    private final long checkEvery;
    private FileChannel channel;
    private OutputStream out;
    private long sinceCheck;
    private boolean complete;

    /** The free space of a file system, in bytes. */
    interface Free {
        long bytes() throws IOException;
    }

    private RebuiltSpool(String what, FileChannel channel, Free free, long minFree, long checkEvery)
            throws IOException {
        this.what = what;
        this.checkEvery = checkEvery;
        this.channel = channel;
        this.free = free;
        this.minFree = minFree;
        this.out = new ZstdOutputStream(
                new BufferedOutputStream(unclosable(Channels.newOutputStream(channel)), 1 << 16), 1);
    }

    /**
     * A spool in drkit's private scratch directory; null, with a line in the log, where none may
     * be made.
     */
    static RebuiltSpool open(String what) {
        return open(what, null, null, MIN_FREE_MIB << 20, CHECK_EVERY);
    }

    /**
     * A spool in {@code dir} (tests), else in the private scratch directory, kept while {@code
     * minFree} bytes stay free (as {@code free} tells, else the file system), looked at every
     * {@code checkEvery} bytes written.
     */
    static RebuiltSpool open(String what, Path dir, Free free, long minFree, long checkEvery) {
        Path file = null;
        try {
            Path parent = dir != null ? dir : PrivateScratch.current().directory();
            FileStore store = Files.getFileStore(parent);
            Free space = free != null ? free : store::getUsableSpace;
            if ("tmpfs".equals(store.type()) || "ramfs".equals(store.type())) {
                LOG.info(
                        "{}: the rebuilt snapshot is not kept in {}, which is memory ({}); the chain is rebuilt "
                                + "again for the keys",
                        what,
                        parent,
                        store.type());
                return null;
            }
            if (space.bytes() < minFree) {
                LOG.info(
                        "{}: the rebuilt snapshot is not kept in {}, which has less than {} MiB free; the chain "
                                + "is rebuilt again for the keys",
                        what,
                        parent,
                        mib(minFree));
                return null;
            }
            file = dir != null
                    ? Files.createTempFile(dir, "redis-rebuilt-", ".rdb.zst")
                    : PrivateScratch.current().createFile("redis-rebuilt-", ".rdb.zst");
            FileChannel ch = FileChannel.open(file, StandardOpenOption.READ, StandardOpenOption.WRITE);
            Files.delete(file); // open: its blocks stay until the channel is closed, its name goes now
            file = null;
            try {
                return new RebuiltSpool(what, ch, space, minFree, checkEvery);
            } catch (IOException | RuntimeException | LinkageError e) {
                ch.close();
                throw e;
            }
        } catch (IOException | RuntimeException | LinkageError e) {
            LOG.info(
                    "{}: the rebuilt snapshot cannot be kept ({}); the chain is rebuilt again for the keys",
                    what,
                    e.getMessage());
            if (file != null) {
                try {
                    Files.deleteIfExists(file);
                } catch (IOException ignored) {
                    // the private directory is removed with its run
                }
            }
            return null;
        }
    }

    /**
     * Passes {@code in} through, keeping what is read; a failure to keep it never fails the read.
     * The copy is complete once {@code in} was read to its end.
     */
    InputStream tee(InputStream in) {
        return new FilterInputStream(in) {
            @Override
            public int read() throws IOException {
                byte[] one = new byte[1];
                int n = read(one, 0, 1);
                return n < 0 ? -1 : one[0] & 0xff;
            }

            @Override
            public int read(byte[] b, int off, int len) throws IOException {
                int n = in.read(b, off, len);
                if (n > 0) {
                    keep(b, off, n);
                } else if (n < 0) {
                    end();
                }
                return n;
            }

            @Override
            public long skip(long n) throws IOException {
                byte[] skipped = new byte[(int) Math.min(Math.max(n, 0), 8192)];
                return Math.max(0, read(skipped, 0, skipped.length));
            }

            @Override
            public boolean markSupported() {
                return false;
            }
        };
    }

    private void keep(byte[] b, int off, int n) {
        if (out == null) {
            return;
        }
        try {
            out.write(b, off, n);
            sinceCheck += n;
            if (sinceCheck >= checkEvery) {
                sinceCheck = 0;
                if (free.bytes() < minFree) {
                    giveUp("less than " + mib(minFree) + " MiB are left free");
                }
            }
        } catch (IOException | RuntimeException e) {
            giveUp(e.getMessage());
        }
    }

    private void end() {
        if (out == null || complete) {
            return;
        }
        try {
            out.close(); // the zstd stream's end; the channel stays open
            out = null;
            complete = true;
        } catch (IOException | RuntimeException e) {
            giveUp(e.getMessage());
        }
    }

    private void giveUp(String why) {
        LOG.info("{}: the rebuilt snapshot is no longer kept ({}); the chain is rebuilt again for the keys", what, why);
        release();
    }

    /** Whether the whole stream was kept: {@link #reread} may be called. */
    boolean complete() {
        return complete && channel != null;
    }

    /** The kept stream, from its start; once. */
    InputStream reread() throws IOException {
        if (!complete()) {
            throw new IllegalStateException("nothing complete was kept");
        }
        FileChannel ch = channel.position(0);
        return new ZstdInputStream(new BufferedInputStream(Channels.newInputStream(ch), 1 << 16));
    }

    private void release() {
        OutputStream o = out;
        out = null;
        complete = false;
        if (o != null) {
            try {
                o.close();
            } catch (IOException | RuntimeException ignored) {
                // being given up: nothing of it is read
            }
        }
        FileChannel ch = channel;
        channel = null;
        if (ch != null) {
            try {
                ch.close(); // unlinked: its space is freed now
            } catch (IOException ignored) {
                // nothing to keep
            }
        }
    }

    @Override
    public void close() {
        release();
    }

    private static long mib(long bytes) {
        return bytes >> 20;
    }

    private static OutputStream unclosable(OutputStream o) {
        return new FilterOutputStream(o) {
            @Override
            public void write(byte[] b, int off, int len) throws IOException {
                out.write(b, off, len);
            }

            @Override
            public void close() throws IOException {
                out.flush();
            }
        };
    }
}
