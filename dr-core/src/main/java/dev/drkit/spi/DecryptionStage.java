package dev.drkit.spi;

import java.io.IOException;
import java.io.InputStream;

/**
 * Opens what an {@link EncryptionStage} of the same {@link #codecName()} wrote.
 * Implementations are immutable and thread-safe.
 */
public interface DecryptionStage {

    /** The codec name this stage decrypts (e.g. {@code pgp}). */
    String codecName();

    /**
     * Returns the plaintext of an encrypted stream. Fails before returning anything when no
     * available key opens it, with a {@link dev.drkit.DrException} that names the key ids the
     * data needs; the returned stream fails at its end when the integrity check does not pass.
     *
     * @param what names the data in error messages
     */
    InputStream decrypt(InputStream stored, String what) throws IOException;
}
