package dev.drkit.spi.support;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.util.Objects;

/**
 * Writes to files in pieces of at most {@link #MAX_WRITE} bytes per call. Linux 6.16 and later
 * give ext4 files page-cache folios as large as each write call, and a large folio can cost far
 * more to get than the small ones it replaces: on a 6.18 VM that reports free memory to its host
 * as soon as it is free, plain {@code pwrite()} loops of 1 GiB took 1.2-1.8 s of system time in
 * 1 MiB calls against 0.2-0.4 s in 256 KiB ones (the size drkit's tar extractor writes in).
 */
public final class FileWrites {
    /** The largest piece one write call hands the kernel. */
    public static final int MAX_WRITE = 256 << 10;

    private FileWrites() {}

    /**
     * Writes {@code len} bytes of {@code b} from {@code off} at the channel's position. The bounds
     * are checked before any piece is written.
     */
    public static void write(FileChannel channel, byte[] b, int off, int len) throws IOException {
        Objects.checkFromIndexSize(off, len, b.length);
        for (int at = off, end = off + len; at < end; ) {
            ByteBuffer piece = ByteBuffer.wrap(b, at, Math.min(MAX_WRITE, end - at));
            at += piece.remaining();
            while (piece.hasRemaining()) {
                channel.write(piece);
            }
        }
    }

    /** Writes what remains of {@code b} at {@code position}; {@code b}'s limit is as it was after. */
    public static void write(FileChannel channel, ByteBuffer b, long position) throws IOException {
        int end = b.limit();
        while (b.position() < end) {
            b.limit(Math.min(end, b.position() + MAX_WRITE));
            while (b.hasRemaining()) {
                position += channel.write(b, position);
            }
        }
        b.limit(end);
    }
}
