package dev.drkit.internal.pipeline;

import com.github.luben.zstd.Zstd;
import dev.drkit.internal.pipeline.ContentDefinedChunker.Sizes;
import dev.drkit.spi.support.Sha256;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.SplittableRandom;

/**
 * Measures the chunker for bench/cdc-params.sh; not a test (no timing in tests).
 *
 * <pre>
 *   speed random|FILE [MiB]             chunking MB/s on one core over MiB (default 1024) bytes
 *   dedup FILE1 FILE2 min/avg/max...    chunks, bytes of FILE2 not in FILE1's chunks, MB/s
 * </pre>
 */
public final class CdcParamsBench {
    private static final int WRITE = 1 << 20;

    private CdcParamsBench() {}

    public static void main(String[] args) throws IOException {
        if (args.length >= 2 && args[0].equals("speed")) {
            long mib = args.length > 2 ? Long.parseLong(args[2]) : 1024;
            byte[] source = args[1].equals("random") ? random(256 << 20) : load(Path.of(args[1]), 256 << 20);
            speed(args[1], source, mib << 20);
        } else if (args.length >= 4 && args[0].equals("dedup")) {
            byte[] first = load(Path.of(args[1]), Integer.MAX_VALUE - 16);
            byte[] second = load(Path.of(args[2]), Integer.MAX_VALUE - 16);
            System.out.printf(
                    "first %.1f MiB, second %.1f MiB%n%-26s %8s %8s %9s %12s %12s %12s %8s%n",
                    first.length / 1048576.0,
                    second.length / 1048576.0,
                    "min/avg/max KiB",
                    "chunks1",
                    "chunks2",
                    "mean KiB",
                    "new raw KiB",
                    "new zstd KiB",
                    "all zstd MiB",
                    "MB/s");
            for (int i = 3; i < args.length; i++) {
                dedup(parse(args[i]), first, second);
            }
        } else {
            System.err.println("usage: speed random|FILE [MiB] | dedup FILE1 FILE2 min/avg/max...");
            System.exit(2);
        }
    }

    private static Sizes parse(String s) {
        String[] p = s.split("/");
        return new Sizes(Integer.parseInt(p[0]) << 10, Integer.parseInt(p[1]) << 10, Integer.parseInt(p[2]) << 10);
    }

    private static byte[] random(int n) {
        byte[] b = new byte[n];
        SplittableRandom r = new SplittableRandom(1);
        for (int i = 0; i < n; i += 8) {
            long v = r.nextLong();
            for (int k = 0; k < 8 && i + k < n; k++) {
                b[i + k] = (byte) (v >>> (8 * k));
            }
        }
        return b;
    }

    private static byte[] load(Path file, int limit) throws IOException {
        long size = Files.size(file);
        if (size > limit) {
            try (var in = Files.newInputStream(file)) {
                return in.readNBytes(limit);
            }
        }
        return Files.readAllBytes(file);
    }

    /** Chunks {@code total} bytes (the source repeated) with no work in the sink. */
    private static void speed(String name, byte[] source, long total) throws IOException {
        for (Sizes sizes : List.of(Sizes.DEFAULT, new Sizes(64 << 10, 256 << 10, 1 << 20))) {
            run(sizes, source, Math.min(total, 256L << 20)); // warm-up
            long t0 = System.nanoTime();
            long chunks = run(sizes, source, total);
            double s = (System.nanoTime() - t0) / 1e9;
            System.out.printf(
                    "%s, %s: %d MiB in %.2f s = %.0f MB/s (%d chunks, mean %.0f KiB)%n",
                    name, sizes, total >> 20, s, total / 1e6 / s, chunks, total / 1024.0 / chunks);
        }
    }

    private static long run(Sizes sizes, byte[] source, long total) throws IOException {
        ContentDefinedChunker c = new ContentDefinedChunker(sizes, (d, o, n) -> {});
        long done = 0;
        int pos = 0;
        while (done < total) {
            int n = (int) Math.min(Math.min(WRITE, source.length - pos), total - done);
            c.write(source, pos, n);
            done += n;
            pos = (pos + n) % source.length;
        }
        c.close();
        return c.chunkCount();
    }

    private static void dedup(Sizes sizes, byte[] first, byte[] second) throws IOException {
        Set<ByteBuffer> known = new HashSet<>();
        long[] stored = new long[1];
        long chunks1 = chunk(sizes, first, (d, o, n) -> {
            if (known.add(digest(d, o, n))) {
                stored[0] += compressedSize(d, o, n);
            }
        });
        long[] fresh = new long[2];
        long chunks2 = chunk(sizes, second, (d, o, n) -> {
            if (known.add(digest(d, o, n))) {
                fresh[0] += n;
                fresh[1] += compressedSize(d, o, n);
            }
        });
        long best = Long.MAX_VALUE;
        for (int i = 0; i < 3; i++) {
            long t0 = System.nanoTime();
            chunk(sizes, second, (d, o, n) -> {});
            best = Math.min(best, System.nanoTime() - t0);
        }
        System.out.printf(
                "%-26s %8d %8d %9.0f %12.0f %12.0f %12.1f %8.0f%n",
                (sizes.min() >> 10) + "/" + (sizes.avg() >> 10) + "/" + (sizes.max() >> 10),
                chunks1,
                chunks2,
                second.length / 1024.0 / chunks2,
                fresh[0] / 1024.0,
                fresh[1] / 1024.0,
                stored[0] / 1048576.0,
                second.length / 1e6 / (best / 1e9));
    }

    private static long chunk(Sizes sizes, byte[] data, ContentDefinedChunker.ChunkSink sink) throws IOException {
        ContentDefinedChunker c = new ContentDefinedChunker(sizes, sink);
        try (OutputStream out = c) {
            for (int pos = 0; pos < data.length; pos += WRITE) {
                out.write(data, pos, Math.min(WRITE, data.length - pos));
            }
        }
        return c.chunkCount();
    }

    private static final MessageDigest SHA = Sha256.newDigest();

    private static ByteBuffer digest(byte[] d, int o, int n) {
        SHA.update(d, o, n);
        return ByteBuffer.wrap(SHA.digest());
    }

    /** Each chunk a standalone zstd -3 frame, as the chunk store will write it. */
    private static long compressedSize(byte[] d, int o, int n) {
        byte[] frame = Zstd.compress(Arrays.copyOfRange(d, o, o + n), 3);
        return frame.length;
    }
}
