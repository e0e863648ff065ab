package dev.drkit.spi;

import java.io.IOException;
import java.io.OutputStream;
import java.util.List;

/**
 * Encrypts artifacts after compression. drkit records {@link #codecName()} in each artifact's
 * codec chain and {@link #recipients()} in the manifest, and appends {@link #extension()} to
 * stored names. Implementations are immutable and thread-safe; {@code dr-crypto} provides the
 * OpenPGP one.
 */
public interface EncryptionStage {

    /** The codec name recorded in manifests (e.g. {@code pgp}). */
    String codecName();

    /** The suffix appended to stored names, with its dot (e.g. {@code .pgp}). */
    String extension();

    /** Who can open what this stage writes: key ids in hex, and {@code passphrase} if one is used. */
    List<String> recipients();

    /**
     * Wraps the stored stream: bytes written to the result are encrypted into {@code stored}.
     * Closing the result finishes the message and closes {@code stored}.
     */
    OutputStream encrypt(OutputStream stored, String name) throws IOException;
}
