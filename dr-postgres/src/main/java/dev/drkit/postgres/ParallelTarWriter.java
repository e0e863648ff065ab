package dev.drkit.postgres;

import dev.drkit.spi.BackupContext;
import dev.drkit.spi.support.TarWriter;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Writes the files of a base backup in {@code jobs} streams of similar size, side by side:
 * each stream writes the files it copies whole into a tar artifact ({@code data-N.tar}), the
 * changed relation files it stores page by page into a page delta artifact
 * ({@code pages-N.bin}, only when it has any), and the hash of every relation page it read
 * into a page map ({@code pagemap-N.bin}); {@code global/pg_control} goes apart as
 * {@link PostgresPhysicalTarget#PG_CONTROL}.
 */
final class ParallelTarWriter {
    /**
     * Where a copied file went, the CRC32C of the file as stored (or, by page, as rebuilt) and,
     * for a file stored by page, how many pages were stored (-1 for a whole file).
     */
    record Stored(String artifact, String crc32c, long pages) {}

    private ParallelTarWriter() {}

    /**
     * Splits the selection's whole and paged files into {@code jobs} streams of similar size and
     * writes them in parallel.
     *
     * @return per file name where it went; a paged file that vanished before it was read is absent
     */
    static Map<String, Stored> write(
            BackupContext context, Path dataDir, FileList.Selection selection, int jobs, PageVerification verification)
            throws IOException {
        List<TarWriter.Item> all = new ArrayList<>(selection.copy());
        all.addAll(selection.paged().keySet());
        List<List<TarWriter.Item>> parts = split(all, jobs);
        Map<String, Stored> stored = new ConcurrentHashMap<>();
        List<ParallelIo.IoTask> tasks = new ArrayList<>();
        for (int i = 0; i < jobs; i++) {
            List<TarWriter.Item> whole = new ArrayList<>();
            List<TarWriter.Item> paged = new ArrayList<>();
            for (TarWriter.Item item : parts.get(i)) {
                (selection.paged().containsKey(item) ? paged : whole).add(item);
            }
            String part = String.valueOf(i);
            tasks.add(() -> writePart(context, part, whole, paged, selection.paged(), stored, verification));
        }
        ParallelIo.runAll("drkit-pg-copy", tasks, "copying " + dataDir);
        try (OutputStream out = context.newArtifact(PostgresPhysicalTarget.PG_CONTROL)) {
            Files.copy(dataDir.resolve("global").resolve("pg_control"), out);
        }
        return stored;
    }

    private static void writePart(
            BackupContext context,
            String part,
            List<TarWriter.Item> whole,
            List<TarWriter.Item> paged,
            Map<TarWriter.Item, long[]> parentPages,
            Map<String, Stored> stored,
            PageVerification verification)
            throws IOException {
        PageMaps.Hasher hasher = new PageMaps.Hasher();
        try (PageMaps.Writer map = new PageMaps.Writer(context.newArtifact(PageMaps.artifact(part)))) {
            String tar = "data-" + part + ".tar";
            TarWriter.Hooks hooks = new TarWriter.Hooks() {
                @Override
                public TarWriter.ContentObserver observe(TarWriter.Item item) throws IOException {
                    return map.observer(item, hasher, verification);
                }
            };
            try (OutputStream out = context.newArtifact(tar)) {
                TarWriter.write(whole, out, (item, crc) -> stored.put(item.name(), new Stored(tar, crc, -1)), hooks);
            }
            for (TarWriter.Item item : whole) {
                stored.putIfAbsent(item.name(), new Stored(tar, "", -1)); // vanished: listed, as before
            }
            if (!paged.isEmpty()) {
                String deltas = PageDeltas.artifact(part);
                try (PageDeltas.Writer out = new PageDeltas.Writer(context.newArtifact(deltas), map, verification)) {
                    for (TarWriter.Item item : paged) {
                        PageDeltas.Stored s = out.write(item, parentPages.get(item));
                        if (s != null) {
                            stored.put(item.name(), new Stored(deltas, s.crc32c(), s.pages()));
                        }
                    }
                }
            }
        }
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
}
