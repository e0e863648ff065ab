package dev.drkit.internal.repo;

import dev.drkit.DrException;
import dev.drkit.DrException.ErrorCode;
import dev.drkit.internal.pipeline.AsyncOutputStream;
import dev.drkit.internal.pipeline.Compression;
import dev.drkit.spi.DecryptionStage;
import dev.drkit.spi.EncryptionStage;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * The codec chain between raw artifact bytes and stored bytes: compression, then
 * encryption when a stage is configured. Immutable and thread-safe.
 *
 * @param compression the codec for new artifacts
 * @param level codec level, negative for the codec's default
 * @param workers background compression threads for zstd (0: compress on the writer thread)
 * @param encryption the encryption stage for new artifacts, or null
 * @param decryption what opens encrypted artifacts when reading, or null
 */
public record StreamCodecs(
        Compression compression, int level, int workers, EncryptionStage encryption, DecryptionStage decryption) {

    public StreamCodecs(Compression compression, int level, int workers) {
        this(compression, level, workers, null, null);
    }

    /** The same codecs, compressing at {@code level} (negative for the codec's default). */
    public StreamCodecs withLevel(int level) {
        return level == this.level ? this : new StreamCodecs(compression, level, workers, encryption, decryption);
    }

    /** The same codecs, compressing on {@code workers} background threads (0: on the writer's). */
    public StreamCodecs withWorkers(int workers) {
        return workers == this.workers ? this : new StreamCodecs(compression, level, workers, encryption, decryption);
    }

    /** The chain recorded in the manifest for new artifacts, in write order. */
    public List<String> chain() {
        List<String> chain = new ArrayList<>();
        if (compression != Compression.NONE) {
            chain.add(compression.codecName());
        }
        if (encryption != null) {
            chain.add(encryption.codecName());
        }
        return chain;
    }

    /** Who can open new artifacts (empty when not encrypted). */
    public List<String> recipients() {
        return encryption == null ? List.of() : encryption.recipients();
    }

    /** The suffix of new artifacts' stored names. */
    public String extension() {
        return compression.extension() + (encryption == null ? "" : encryption.extension());
    }

    /**
     * Wraps the stored stream so that writes to the result are encoded into it. Encryption,
     * hashing and upload of the compressed bytes run on a pipeline thread of their own.
     */
    public OutputStream encode(OutputStream stored, String name) throws IOException {
        OutputStream encrypted = encryption == null ? stored : encryption.encrypt(stored, name);
        OutputStream tail = compression == Compression.NONE && encryption == null
                ? encrypted
                : new AsyncOutputStream(encrypted, "drkit-pipeline-" + name);
        return compression.compress(tail, level, workers);
    }

    /** Whether {@link #decode} can undo a recorded chain: every codec a compression, or this kit's decryption's. */
    public boolean canDecode(List<String> chain) {
        for (String codec : chain) {
            if (Compression.find(codec).isEmpty()
                    && (decryption == null || !decryption.codecName().equals(codec))) {
                return false;
            }
        }
        return true;
    }

    /** Undoes a recorded chain, last codec first. */
    public InputStream decode(InputStream stored, List<String> chain, List<String> recipientsOf, String what)
            throws IOException {
        InputStream in = stored;
        for (int i = chain.size() - 1; i >= 0; i--) {
            String codec = chain.get(i);
            if (decryption != null && decryption.codecName().equals(codec)) {
                in = decryption.decrypt(in, what);
                continue;
            }
            Optional<Compression> c = Compression.find(codec);
            if (c.isEmpty()) {
                throw new DrException(
                        ErrorCode.DECRYPTION,
                        what + " is encrypted (" + codec + ")"
                                + (recipientsOf == null || recipientsOf.isEmpty()
                                        ? ""
                                        : " to " + String.join(", ", recipientsOf))
                                + " and no decryption key was given; give its secret key (setting 'secret-key') or passphrase "
                                + "(setting 'passphrase-file')");
            }
            in = c.get().decompress(in);
        }
        return in;
    }
}
