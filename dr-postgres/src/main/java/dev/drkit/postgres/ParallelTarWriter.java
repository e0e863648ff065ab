package dev.drkit.postgres;

import dev.drkit.spi.BackupContext;
import dev.drkit.spi.support.TarWriter;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Writes the files of a base backup into {@code jobs} tar artifacts ({@code data-N.tar}) of
 * similar size, side by side, and {@code global/pg_control} apart as
 * {@link PostgresPhysicalTarget#PG_CONTROL}.
 */
final class ParallelTarWriter {
    /** Where a copied file went and the CRC32C of what was stored. */
    record Stored(String artifact, String crc32c) {}

    private ParallelTarWriter() {}

    /** Splits the items into {@code jobs} tar artifacts of similar size and writes them in parallel. */
    static Map<String, Stored> write(BackupContext context, Path dataDir, List<TarWriter.Item> items, int jobs)
            throws IOException {
        List<List<TarWriter.Item>> parts = split(items, jobs);
        Map<String, String> checksums = new ConcurrentHashMap<>();
        List<ParallelIo.IoTask> tasks = new ArrayList<>();
        for (int i = 0; i < jobs; i++) {
            List<TarWriter.Item> part = parts.get(i);
            String name = artifact(i);
            tasks.add(() -> {
                try (OutputStream out = context.newArtifact(name)) {
                    TarWriter.write(part, out, (item, crc) -> checksums.put(item.name(), crc));
                }
            });
        }
        ParallelIo.runAll("drkit-pg-copy", tasks, "copying " + dataDir);
        try (OutputStream out = context.newArtifact(PostgresPhysicalTarget.PG_CONTROL)) {
            Files.copy(dataDir.resolve("global").resolve("pg_control"), out);
        }
        Map<String, Stored> stored = new HashMap<>();
        for (int i = 0; i < jobs; i++) {
            for (TarWriter.Item item : parts.get(i)) {
                stored.put(item.name(), new Stored(artifact(i), checksums.getOrDefault(item.name(), "")));
            }
        }
        return stored;
    }

    /** Directories go to the first part; files, largest first, each to the smallest part so far. */
    private static List<List<TarWriter.Item>> split(List<TarWriter.Item> items, int jobs) {
        List<List<TarWriter.Item>> parts = new ArrayList<>();
        long[] sizes = new long[jobs];
        for (int i = 0; i < jobs; i++) {
            parts.add(new ArrayList<>());
        }
        List<TarWriter.Item> directories =
                items.stream().filter(i -> i.kind() != TarWriter.Item.Kind.FILE).toList();
        parts.get(0).addAll(directories);
        items.stream()
                .filter(i -> i.kind() == TarWriter.Item.Kind.FILE)
                .sorted(Comparator.comparingLong(TarWriter.Item::size).reversed())
                .forEach(item -> {
                    int least = 0;
                    for (int i = 1; i < jobs; i++) {
                        if (sizes[i] < sizes[least]) {
                            least = i;
                        }
                    }
                    parts.get(least).add(item);
                    sizes[least] += item.size();
                });
        return parts;
    }

    private static String artifact(int part) {
        return "data-" + part + ".tar";
    }
}
