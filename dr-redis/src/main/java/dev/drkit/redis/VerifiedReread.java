package dev.drkit.redis;

import dev.drkit.ChecksumMismatchException;
import dev.drkit.spi.support.Sha256;
import java.io.IOException;
import java.io.InputStream;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * A stream read twice from the repository (a check, then the use) that the second time serves
 * only bytes the first read saw: the first read records the SHA-256 of each block of
 * {@value #BLOCK} bytes, the second holds a block until it hashes the same. The repository
 * compares an artifact with its recorded checksum only at its end, so without this a second read
 * could hand on bytes swapped in since the first before it fails. Memory: one block, 32 bytes per
 * block recorded. Not thread-safe.
 */
final class VerifiedReread {
    static final int BLOCK = 4 << 20;

    private final List<byte[]> digests = new ArrayList<>();
    private final String what;

    VerifiedReread(String what) {
        this.what = what;
    }

    /** The first read: passes {@code in} through, recording its blocks (to its end). */
    InputStream recording(InputStream in) {
        return new BlockStream(in) {
            private final MessageDigest sha = Sha256.newDigest();
            private int inBlock;
            private boolean ended;

            @Override
            public int read(byte[] b, int off, int len) throws IOException {
                if (len == 0) {
                    return 0;
                }
                int n = in.read(b, off, Math.min(len, BLOCK - inBlock));
                if (n > 0) {
                    sha.update(b, off, n);
                    inBlock += n;
                    if (inBlock == BLOCK) {
                        digests.add(sha.digest());
                        inBlock = 0;
                    }
                } else if (n < 0 && !ended) {
                    ended = true;
                    digests.add(sha.digest()); // the last block, short or empty
                }
                return n;
            }

            @Override
            public long skip(long n) throws IOException {
                byte[] skipped = new byte[(int) Math.min(n, 8192)];
                return Math.max(0, read(skipped, 0, skipped.length));
            }
        };
    }

    /** The second read: only blocks that hash as the first read's did, in order; a change fails it. */
    InputStream verified(InputStream in) {
        return new BlockStream(in) {
            private int next;
            private byte[] block = new byte[0];
            private int pos;
            private boolean last;

            @Override
            public int read(byte[] b, int off, int len) throws IOException {
                if (len == 0) {
                    return 0;
                }
                while (pos == block.length) {
                    if (last) {
                        return -1;
                    }
                    fill();
                }
                int n = Math.min(len, block.length - pos);
                System.arraycopy(block, pos, b, off, n);
                pos += n;
                return n;
            }

            private void fill() throws IOException {
                byte[] read = in.readNBytes(BLOCK);
                if (next >= digests.size()
                        || !Arrays.equals(
                                digests.get(next++), Sha256.newDigest().digest(read))) {
                    throw new ChecksumMismatchException(
                            what + " changed in the repository between the check that read "
                                    + "it whole and the restore that read it again (at byte "
                                    + (long) (next - 1) * BLOCK
                                    + "); only keys of the checked bytes were restored; check the repository and restore again");
                }
                last = read.length < BLOCK;
                block = read;
                pos = 0;
            }
        };
    }

    /** A stream over {@code in} that reads single bytes through its block read and closes {@code in}. */
    private abstract static class BlockStream extends InputStream {
        final InputStream in;

        BlockStream(InputStream in) {
            this.in = in;
        }

        @Override
        public int read() throws IOException {
            byte[] one = new byte[1];
            return read(one, 0, 1) < 0 ? -1 : one[0] & 0xFF;
        }

        @Override
        public void close() throws IOException {
            in.close();
        }
    }
}
