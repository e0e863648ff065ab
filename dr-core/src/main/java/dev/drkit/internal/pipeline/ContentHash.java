package dev.drkit.internal.pipeline;

import dev.drkit.spi.support.Sha256;
import java.security.MessageDigest;
import java.util.zip.CRC32C;

/**
 * A running hash of a byte stream. SHA-256 guards stored bytes (tamper-evident, and what
 * {@code sha256sum -c} checks); CRC32C, which the CPU computes at many GB/s, guards the raw
 * bytes after decoding at a fraction of SHA-256's cost on the hot path. Not thread-safe.
 */
public interface ContentHash {

    void update(byte[] b, int off, int len);

    /** The hash of everything so far, as lowercase hex; call once, at the end. */
    String hex();

    static ContentHash sha256() {
        MessageDigest md = Sha256.newDigest();
        return new ContentHash() {
            @Override
            public void update(byte[] b, int off, int len) {
                md.update(b, off, len);
            }

            @Override
            public String hex() {
                return Sha256.hex(md.digest());
            }
        };
    }

    static ContentHash crc32c() {
        CRC32C crc = new CRC32C();
        return new ContentHash() {
            @Override
            public void update(byte[] b, int off, int len) {
                crc.update(b, off, len);
            }

            @Override
            public String hex() {
                return String.format("%08x", crc.getValue());
            }
        };
    }
}
