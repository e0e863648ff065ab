package dev.drkit.internal.pipeline;

import dev.drkit.ConfigException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.util.Arrays;
import java.util.Locale;
import java.util.Optional;
import java.util.stream.Collectors;
import net.jpountz.lz4.LZ4FrameInputStream;
import net.jpountz.lz4.LZ4FrameOutputStream;
import org.apache.commons.compress.compressors.gzip.GzipCompressorInputStream;
import org.apache.commons.compress.compressors.gzip.GzipCompressorOutputStream;
import org.apache.commons.compress.compressors.gzip.GzipParameters;
import org.apache.commons.compress.compressors.xz.XZCompressorInputStream;
import org.apache.commons.compress.compressors.xz.XZCompressorOutputStream;
import org.apache.commons.compress.compressors.zstandard.ZstdCompressorInputStream;
import org.apache.commons.compress.compressors.zstandard.ZstdCompressorOutputStream;

/**
 * Compression codecs. Each writes its tool's standard framing, so {@code zstd -d},
 * {@code gzip -d}, {@code lz4 -d} and {@code xz -d} read drkit's artifacts.
 */
public enum Compression {
    ZSTD("zstd", ".zst", 3, 1, 22),
    GZIP("gzip", ".gz", 6, 1, 9),
    LZ4("lz4", ".lz4", 0, 0, 0),
    XZ("xz", ".xz", 6, 0, 9),
    NONE("none", "", 0, 0, 0);

    private final String codecName;
    private final String extension;
    private final int defaultLevel;
    private final int fastLevel;
    private final int maxLevel;

    Compression(String codecName, String extension, int defaultLevel, int fastLevel, int maxLevel) {
        this.codecName = codecName;
        this.extension = extension;
        this.defaultLevel = defaultLevel;
        this.fastLevel = fastLevel;
        this.maxLevel = maxLevel;
    }

    /** The highest level the codec takes (zstd 22, gzip and xz 9; lz4 and none take only their default). */
    public int maxLevel() {
        return maxLevel;
    }

    /** The codec's fastest useful level (zstd 1, gzip 1, xz 0); what targets preferring fast compression get. */
    public int fastLevel() {
        return fastLevel;
    }

    /** The name recorded in manifests and accepted by {@link #parse}. */
    public String codecName() {
        return codecName;
    }

    /** The file extension appended to artifacts, with its dot; empty for {@link #NONE}. */
    public String extension() {
        return extension;
    }

    public int defaultLevel() {
        return defaultLevel;
    }

    /** Parses a codec name ({@code zstd}, {@code gzip}, {@code lz4}, {@code xz}, {@code none}). */
    public static Compression parse(String name) {
        return find(name)
                .orElseThrow(() -> new ConfigException("unknown compression '" + name + "'; use one of "
                        + Arrays.stream(values()).map(Compression::codecName).collect(Collectors.joining(", "))));
    }

    /** The codec of a name, if known. */
    public static Optional<Compression> find(String name) {
        String n = name.trim().toLowerCase(Locale.ROOT);
        return Arrays.stream(values()).filter(c -> c.codecName.equals(n)).findFirst();
    }

    /**
     * Wraps {@code out} in a compressor. Closing the returned stream finishes the frame and
     * closes {@code out}.
     *
     * @param level codec level, or a negative number for the default
     * @param workers background compression threads (zstd only; 0 compresses on the caller)
     */
    public OutputStream compress(OutputStream out, int level, int workers) throws IOException {
        int lvl = level < 0 ? defaultLevel : level;
        switch (this) {
            case ZSTD:
                if (lvl <= ZstdFramesOutputStream.MAX_LEVEL) {
                    return new ZstdFramesOutputStream(out, lvl, workers);
                }
                return ZstdCompressorOutputStream.builder()
                        .setOutputStream(out)
                        .setLevel(lvl)
                        .setWorkers(workers)
                        .setChecksum(true)
                        .get();
            case GZIP:
                GzipParameters p = new GzipParameters();
                p.setCompressionLevel(lvl);
                return new GzipCompressorOutputStream(out, p);
            case LZ4:
                // lz4-java: Commons Compress's pure-Java LZ4 encoder runs at well under 1 MB/s
                return new LZ4FrameOutputStream(out, LZ4FrameOutputStream.BLOCKSIZE.SIZE_4MB);
            case XZ:
                return new XZCompressorOutputStream(out, lvl);
            default:
                return out;
        }
    }

    /** Wraps {@code in} in a decompressor of this codec. */
    public InputStream decompress(InputStream in) throws IOException {
        switch (this) {
            case ZSTD:
                return new ZstdCompressorInputStream(in);
            case GZIP:
                return GzipCompressorInputStream.builder()
                        .setInputStream(in)
                        .setDecompressConcatenated(true)
                        .get();
            case LZ4:
                return new LZ4FrameInputStream(in);
            case XZ:
                return new XZCompressorInputStream(in, true);
            default:
                return in;
        }
    }
}
