package dev.drkit.core.repo;

import dev.drkit.CorruptDataException;
import dev.drkit.core.pipeline.Compression;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.util.List;

/**
 * The codec chain between raw artifact bytes and stored bytes: today compression; the
 * encryption stage plugs in after it. Immutable and thread-safe.
 *
 * @param compression the codec for new artifacts
 * @param level codec level, negative for the codec's default
 * @param workers background compression threads for zstd (0: compress on the writer thread)
 */
public record StreamCodecs(Compression compression, int level, int workers) {

    public static StreamCodecs defaults() {
        return new StreamCodecs(Compression.ZSTD, -1, Math.max(0, Math.min(4, Runtime.getRuntime().availableProcessors())));
    }

    /** The chain recorded in the manifest for new artifacts, in write order. */
    public List<String> chain() {
        return compression == Compression.NONE ? List.of() : List.of(compression.codecName());
    }

    /** The suffix of new artifacts' stored names. */
    public String extension() {
        return compression.extension();
    }

    /** Wraps the stored stream so that writes to the result are encoded into it. */
    public OutputStream encode(OutputStream stored) throws IOException {
        return compression.compress(stored, level, workers);
    }

    /** Undoes a recorded chain, last codec first. */
    public InputStream decode(InputStream stored, List<String> chain, String what) throws IOException {
        InputStream in = stored;
        for (int i = chain.size() - 1; i >= 0; i--) {
            String codec = chain.get(i);
            Compression c = Compression.find(codec).orElseThrow(() -> new CorruptDataException(what
                    + " uses codec '" + codec + "' that this drkit cannot decode"
                    + (codec.equals("pgp") ? "; add the dr-crypto module and give the secret key" : "")));
            in = c.decompress(in);
        }
        return in;
    }
}
