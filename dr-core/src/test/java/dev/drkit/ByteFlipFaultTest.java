package dev.drkit;

import static org.assertj.core.api.Assertions.assertThat;

import dev.drkit.retention.GfsRetentionPolicy;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Bit rot and tampering, one byte at a time: single-byte flips at random offsets of every kind
 * of repository object. Each must be named by verify or check; no restore may return other
 * bytes; the newest-backup choice never silently falls back; list, status and prune keep
 * working for the other backups.
 */
class ByteFlipFaultTest {
    private static final int FLIPS = 120;

    @TempDir
    Path dir;

    private final List<DrEvent> events = new CopyOnWriteArrayList<>();

    private DrKit kit(Path repo) {
        return DrKit.builder()
                .repository(repo.toString())
                .register(new DrKitTest.MemoryProvider())
                .listener(new DrListener() {
                    @Override
                    public void onEvent(DrEvent event) {
                        events.add(event);
                    }
                })
                .build();
    }

    /** What the pristine repository holds: per backup, what a restore must give back. */
    private final Map<String, Object> expected = new LinkedHashMap<>();

    private final Map<String, String> newest = new TreeMap<>();

    private Path pristine() throws Exception {
        Path src = Files.createDirectories(dir.resolve("src"));
        Path repo = dir.resolve("pristine");
        try (DrKit kit = kit(repo)) {
            for (int round = 0; round < 2; round++) {
                Files.writeString(src.resolve("app.yaml"), "port: 808" + round + "\n");
                Files.write(
                        src.resolve("blob.bin"),
                        new Random(round)
                                .ints(20_000)
                                .mapToObj(Integer::toString)
                                .reduce("", String::concat)
                                .getBytes(StandardCharsets.US_ASCII));
                BackupResult files = kit.backup(TargetSpec.files("config", src.toString()));
                expected.put("config/" + files.id(), tree(src));
                newest.put("config", files.id());
                String content = "session-" + round + "-" + "x".repeat(5000);
                BackupResult mem = kit.backup(new TargetSpec(
                        "mem",
                        "memory",
                        Settings.builder().set("content", content).build()));
                expected.put("mem/" + mem.id(), content);
                newest.put("mem", mem.id());
                if (round == 0) {
                    Thread.sleep(1010); // ids resolve to the second
                }
            }
            kit.archive("wal")
                    .put("sys/1/000000010000000000000001", new ByteArrayInputStream(new byte[8192]), s -> true);
        }
        return repo;
    }

    private static Map<String, String> tree(Path root) throws IOException {
        Map<String, String> out = new TreeMap<>();
        try (Stream<Path> walk = Files.walk(root)) {
            for (Path p : (Iterable<Path>) walk::iterator) {
                if (Files.isRegularFile(p)) {
                    out.put(
                            root.relativize(p).toString(),
                            new String(Files.readAllBytes(p), StandardCharsets.ISO_8859_1));
                }
            }
        }
        return out;
    }

    private static void copyTree(Path from, Path to) throws IOException {
        try (Stream<Path> walk = Files.walk(from)) {
            for (Path p : (Iterable<Path>) walk::iterator) {
                Path t = to.resolve(from.relativize(p).toString());
                if (Files.isDirectory(p)) {
                    Files.createDirectories(t);
                } else {
                    Files.copy(p, t);
                }
            }
        }
    }

    private static void deleteTree(Path root) throws IOException {
        if (!Files.exists(root)) {
            return;
        }
        try (Stream<Path> walk = Files.walk(root)) {
            for (Path p : walk.sorted(Comparator.reverseOrder()).toList()) {
                Files.delete(p);
            }
        }
    }

    /** The kind of a repository object, by its key. */
    private static String kind(String key) {
        if (key.startsWith("drkit-repository.json")) {
            return key.endsWith(".sha256") ? "config checksum" : "config";
        }
        if (key.startsWith("wal/")) {
            return key.contains(".info.json")
                    ? (key.endsWith(".sha256") ? "wal record checksum" : "wal record")
                    : key.endsWith(".sha256") ? "wal checksum file" : "wal segment";
        }
        if (key.contains("/manifest.json")) {
            return key.endsWith(".sha256") ? "manifest checksum" : "manifest";
        }
        return key.endsWith(".sha256") ? "artifact checksum file" : "artifact";
    }

    @Test
    void everySingleByteFlipIsNamedAndNeverChangesARestore() throws Exception {
        Path pristine = pristine();
        Map<String, List<String>> byKind = new TreeMap<>();
        try (Stream<Path> walk = Files.walk(pristine)) {
            walk.filter(Files::isRegularFile)
                    .map(p -> pristine.relativize(p).toString())
                    .filter(k -> !k.startsWith(".drkit-tmp") && !k.startsWith("locks/") && !k.startsWith("status/"))
                    .forEach(k -> byKind.computeIfAbsent(kind(k), x -> new ArrayList<>())
                            .add(k));
        }
        assertThat(byKind).hasSize(10);
        List<String> kinds = List.copyOf(byKind.keySet());
        long seed = System.nanoTime();
        Random random = new Random(seed);
        Map<String, int[]> figures = new TreeMap<>(); // kind -> {tried, named}
        int restores = 0;
        Path repo = dir.resolve("work");
        for (int i = 0; i < FLIPS; i++) {
            deleteTree(repo);
            copyTree(pristine, repo);
            String kind = kinds.get(i % kinds.size());
            List<String> candidates = byKind.get(kind);
            String key = candidates.get(random.nextInt(candidates.size()));
            Path file = repo.resolve(key);
            byte[] bytes = Files.readAllBytes(file);
            int offset = random.nextInt(bytes.length);
            bytes[offset] ^= (byte) (1 + random.nextInt(255));
            Files.write(file, bytes);
            String what = "seed " + seed + ", flip " + i + ": " + key + " at " + offset;
            int[] f = figures.computeIfAbsent(kind, k -> new int[2]);
            f[0]++;
            events.clear();
            try (DrKit kit = kit(repo)) {
                if (named(kit, key)) {
                    f[1]++;
                }
                restores += restoresAreExactOrFail(kit, repo, what);
                latestNeverFallsBackSilently(kit, what);
                List<String> listed = kit.list(null).stream()
                        .map(m -> m.target() + "/" + m.id())
                        .toList();
                List<String> damaged = kit.damaged(null).stream()
                        .map(d -> d.target() + "/" + d.id())
                        .toList();
                assertThat(listed.size() + damaged.size()).as(what).isEqualTo(expected.size());
                assertThat(damaged.size()).as(what).isLessThanOrEqualTo(1);
                kit.status(Map.of());
                // repair and a real prune leave the newest sound backups restorable, as they were
                Map<String, String> latest = new TreeMap<>();
                newest.keySet().forEach(t -> latest.put(t, kit.manifest(t, null).id()));
                kit.check(CheckOptions.readAllData().withRepair());
                kit.prune(null, GfsRetentionPolicy.builder().keepLast(1).build(), false);
                latest.forEach((t, id) -> assertThat(kit.list(t))
                        .as(what)
                        .extracting(BackupManifest::id)
                        .contains(id));
                restoresAreExactOrFail(kit, repo, what);
            }
        }
        int tried = figures.values().stream().mapToInt(a -> a[0]).sum();
        int named = figures.values().stream().mapToInt(a -> a[1]).sum();
        StringBuilder line = new StringBuilder("byte flips: " + tried + " tried (seed " + seed + "), " + named
                + " named by verify or check, " + restores + " restores returned the original bytes, 0 other bytes;");
        figures.forEach((k, a) -> line.append(" ")
                .append(k)
                .append(" ")
                .append(a[1])
                .append("/")
                .append(a[0])
                .append(","));
        System.out.println(line);
        assertThat(named).as(line.toString()).isEqualTo(tried);
    }

    /** Whether check (reading every byte) or verify names the flipped object. */
    private boolean named(DrKit kit, String key) {
        String name = key.substring(key.lastIndexOf('/') + 1);
        String folder = key.substring(0, key.lastIndexOf('/') + 1);
        CheckReport report = kit.check(CheckOptions.readAllData());
        for (CheckReport.Finding finding : report.findings()) {
            if (finding.object().equals(key)
                    || key.equals(finding.object() + ".sha256")
                    || (finding.object().startsWith(folder) && finding.message().contains(name))) {
                return true;
            }
        }
        for (BackupManifest m : kit.list(null)) {
            VerifyReport v = kit.verify(m.target(), m.id(), VerifyLevel.DECODE);
            if (v.problems().stream().anyMatch(p -> p.contains(name) && key.contains(m.id()))) {
                return true;
            }
        }
        return false;
    }

    /** Every backup either restores exactly what was backed up or fails; returns how many restored. */
    @SuppressWarnings("unchecked")
    private int restoresAreExactOrFail(DrKit kit, Path repo, String what) throws IOException {
        int ok = 0;
        for (Map.Entry<String, Object> e : expected.entrySet()) {
            String target = e.getKey().substring(0, e.getKey().indexOf('/'));
            String id = e.getKey().substring(e.getKey().indexOf('/') + 1);
            try {
                if (target.equals("mem")) {
                    DrKitTest.MemoryTarget.RESTORED.clear();
                    kit.restore(new RestoreRequest("mem", id, Settings.empty(), false));
                    assertThat(DrKitTest.MemoryTarget.RESTORED).as(what).containsExactly((String) e.getValue());
                } else {
                    Path out = dir.resolve("restored");
                    deleteTree(out);
                    kit.restore(RestoreRequest.files("config", id, out));
                    Path root = out.resolve(dir.resolve("src").toString().substring(1));
                    assertThat(tree(root)).as(what).isEqualTo((Map<String, String>) e.getValue());
                }
                ok++;
            } catch (DrException refused) {
                // a damaged backup is refused: that is the point
            }
        }
        return ok;
    }

    private void latestNeverFallsBackSilently(DrKit kit, String what) {
        for (Map.Entry<String, String> t : newest.entrySet()) {
            String latest = kit.manifest(t.getKey(), null).id();
            boolean newestDamaged = kit.damaged(t.getKey()).stream().anyMatch(d -> d.id().equals(t.getValue()));
            if (newestDamaged) {
                assertThat(events)
                        .as(what)
                        .anyMatch(e -> e.type() == DrEvent.Type.DAMAGED_BACKUP_SKIPPED
                                && t.getValue().equals(e.backupId()));
            } else {
                assertThat(latest).as(what).isEqualTo(t.getValue());
            }
        }
    }
}
