package dev.drkit.examples.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.drkit.ArtifactInfo;
import dev.drkit.BackupManifest;
import dev.drkit.CheckOptions;
import dev.drkit.CheckReport;
import dev.drkit.DrKit;
import dev.drkit.DrKitConfig;
import dev.drkit.TargetSpec;
import dev.drkit.VerifyLevel;
import dev.drkit.VerifyReport;
import dev.drkit.spi.support.Json;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The real jar killed with SIGKILL at random points of a files backup and of a prune: what a
 * crash leaves behind is never listed, never damages a listed backup, never blocks the next
 * run, and a repository check with repair clears it. The kill points are uniform over the
 * latest uncut run's duration, drawn from a seeded {@link Random} (the seed is printed;
 * {@code -Ddrkit.killnine.seed=N} replays a run); a few more are aimed at the short moments a
 * random point rarely hits: a backup's commit, a prune's first deletion of a target.
 *
 * <p>The real processes are the ones killed and the ones that run next; between kills the
 * repository is read in-process through the public API (the same calls the CLI's list,
 * verify and check make), which saves a JVM start per look and keeps the class within CI's
 * time budget. The end state is checked through the jar again.
 */
class KillNineIT {
    private static final long SEED = Long.getLong("drkit.killnine.seed", System.nanoTime());
    /** What a crash may leave; anything else after a kill is damage. */
    private static final Set<CheckReport.Kind> CRASH_LEFTOVERS = EnumSet.of(
            CheckReport.Kind.INCOMPLETE_BACKUP,
            CheckReport.Kind.INCOMPLETE_UPLOAD,
            CheckReport.Kind.STALE_LOCK,
            CheckReport.Kind.INTERRUPTED_DELETE);
    /** Short commands start faster with the client compiler only. */
    private static final List<String> QUICK_JVM = List.of("-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC");

    private static final int BACKUP_KILLS = 10;
    private static final int PRUNE_KILLS = 5;
    private static final int COPY_KILLS = 4;
    private static final int PRUNE_TARGETS = 24;
    private static final int BACKUPS_PER_TARGET = 3;

    @TempDir
    static Path work;

    static Path bigTree;

    @BeforeAll
    static void makeBigTree() throws IOException {
        System.out.println("KillNineIT seed " + SEED + " (replay with -Ddrkit.killnine.seed=" + SEED + ")");
        bigTree = Files.createDirectories(work.resolve("big"));
        CliProcess.writeRandom(bigTree.resolve("a.bin"), 48L << 20);
        CliProcess.writeRandom(bigTree.resolve("b.bin"), 32L << 20);
        CliProcess.writeRandom(bigTree.resolve("c.bin"), 16L << 20);
        for (int d = 0; d < 20; d++) {
            Path dir = Files.createDirectories(bigTree.resolve("conf/d" + d));
            for (int f = 0; f < 50; f++) {
                Files.writeString(dir.resolve("f" + f + ".conf"), "key" + f + " = " + (d * 31 + f) + "\n");
            }
        }
    }

    // ---------------------------------------------------------------- backup

    @Test
    void killedBackupsAreNeverListedNorBlockTheNextOne() throws Exception {
        Path repo = work.resolve("backup-repo");
        Random random = new Random(SEED);
        BackupRounds rounds = new BackupRounds(repo);
        for (String compression : List.of("zstd", "none")) {
            // the uncut runs are listed backups like any other
            rounds.next(compression);
        }
        System.out.println("uncut backup of " + bigTree + ": " + rounds.uncut + " ms");

        int ranThrough = 0;
        while (rounds.kills < BACKUP_KILLS) {
            String compression = rounds.kills % 2 == 0 ? "zstd" : "none";
            // the machine's speed drifts: the latest uncut run of the same kind sets the range
            long at = 1 + (long) (random.nextDouble() * (rounds.uncut.get(compression) - 1));
            if (!rounds.killed(compression, "at " + at + " ms", (p, started) -> killNineAt(p, started, at))) {
                ranThrough++;
                assertThat(ranThrough)
                        .as("backups that finished before their kill point")
                        .isLessThanOrEqualTo(BACKUP_KILLS);
            }
        }
        int atRandom = rounds.kills;
        // the moments between the artifact's commit and the manifest are too short to hit at random
        for (String compression : List.of("zstd", "none")) {
            int tries = 1;
            while (!rounds.killed(
                    compression,
                    "once its folder appears",
                    (p, started) -> killNineOnceCreated(p, repo.resolve("backups/data")))) {
                assertThat(++tries)
                        .as("backups that finished before their folder was seen")
                        .isLessThan(4);
            }
        }
        try (DrKit kit = kit(repo)) {
            assertListedBackupsSound(kit, repo, rounds.verified);
        }

        // the same through the jar: list, then check with every byte re-read once the leftovers are old
        Set<String> listed = rounds.listed;
        List<String> ids = new ArrayList<>();
        for (JsonNode entry : Json.mapper()
                .readTree(CliProcess.run(repo, QUICK_JVM, "--json", "list").out())) {
            assertThat(entry.has("damaged")).as(entry.toString()).isFalse();
            ids.add(entry.get("id").asText());
        }
        assertThat(ids).containsExactlyInAnyOrderElementsOf(listed);
        Set<String> leftovers = incompleteBackupDirs(repo, "data");
        int uploads = ageLeftovers(
                repo, leftovers.stream().map(id -> "backups/data/" + id).toList());
        CliProcess.Result check = CliProcess.run(repo, List.of(), "--json", "check", "--read-data");
        JsonNode report = Json.mapper().readTree(check.out());
        assertThat(report.get("bytesRead").asLong()).isPositive();
        assertThat(kinds(report)).as(check.out()).isSubsetOf(CRASH_LEFTOVERS);
        assertThat(objectsOfKind(report, CheckReport.Kind.INCOMPLETE_BACKUP))
                .as("crashed runs found")
                .containsExactlyInAnyOrderElementsOf(
                        leftovers.stream().map(id -> "backups/data/" + id + "/").toList());
        assertThat(objectsOfKind(report, CheckReport.Kind.INCOMPLETE_UPLOAD)).hasSize(uploads);
        assertThat(check.exit()).isEqualTo(report.get("findings").isEmpty() ? 0 : 1);
        assertRepairLeavesOnly(repo, "data", listed);
        Set<String> empty = dirs(repo.resolve("backups/data"));
        empty.removeAll(listed);

        System.out.printf(
                "kill -9 during backup: %d points tried (seed %d) and %d at the commit, %d partial "
                        + "backups listed, %d/%d next backups succeeded (%d taking over the killed one's lock); "
                        + "kills landed %s; %d ran through before their kill; %d crashed runs and %d uploads "
                        + "repaired, %d empty folders left%n",
                atRandom,
                SEED,
                rounds.kills - atRandom,
                rounds.partialListed,
                rounds.nextSucceeded,
                rounds.kills,
                rounds.takenOver,
                rounds.landed,
                ranThrough,
                leftovers.size(),
                uploads,
                empty.size());
    }

    /** How a round kills its backup process: true when it did, false when the process had finished. */
    @FunctionalInterface
    private interface Killer {
        boolean kill(Process p, long startNanos) throws Exception;
    }

    /** Kill rounds against one repository, with what each kill must leave intact. */
    private static final class BackupRounds {
        final Path repo;
        final Map<String, Long> uncut = new TreeMap<>();
        final Set<String> listed = new LinkedHashSet<>();
        final Set<String> verified = new HashSet<>();
        final Map<String, Integer> landed = new TreeMap<>();
        int kills;
        int partialListed;
        int nextSucceeded;
        int takenOver;

        BackupRounds(Path repo) {
            this.repo = repo;
        }

        /**
         * Starts a backup and kills it; then the listing, the listed backups, a check, and the
         * next backup must all be as if the killed one had never started (or had finished).
         *
         * @return false when the backup finished before the killer struck
         */
        boolean killed(String compression, String when, Killer killer) throws Exception {
            Set<String> before = dirs(repo.resolve("backups/data"));
            long started = System.nanoTime();
            Process p = CliProcess.builder(
                            repo,
                            List.of(),
                            "backup",
                            "files",
                            "--name",
                            "data",
                            "--path",
                            bigTree.toString(),
                            "--compress",
                            compression)
                    .redirectErrorStream(true)
                    .redirectOutput(ProcessBuilder.Redirect.DISCARD)
                    .start();
            if (!killer.kill(p, started)) {
                assertThat(p.exitValue()).as("a backup that ran through").isZero();
                uncut.put(compression, (System.nanoTime() - started) / 1_000_000);
                listed.addAll(newIds(repo, before));
                return false;
            }
            kills++;
            long killed = System.nanoTime();
            String phase = backupPhase(repo, before, p.pid());
            List<Path> locks = locksOf(repo, p.pid());
            landed.merge(phase, 1, Integer::sum);
            try (DrKit kit = kit(repo)) {
                List<String> now =
                        kit.list("data").stream().map(BackupManifest::id).toList();
                Set<String> added = new HashSet<>(now);
                added.removeAll(listed);
                assertThat(now).as("no backup lost to a kill").containsAll(listed);
                if (phase.equals("after the manifest")) {
                    assertThat(added).as("killed after writing its manifest").isEqualTo(newIds(repo, before));
                } else {
                    partialListed += added.size();
                    assertThat(added).as("killed " + phase + ", yet listed").isEmpty();
                }
                assertThat(kit.damaged(null))
                        .as("damaged after a kill " + phase)
                        .isEmpty();
                listed.addAll(added);
                assertListedBackupsSound(kit, repo, verified);
                assertOnlyCrashLeftovers(kit.check(CheckOptions.catalogOnly()), "after a kill " + phase);
            }
            long checked = System.nanoTime();
            next(compression);
            assertThat(locks)
                    .as("the killed backup's lock, taken over by the next one")
                    .noneMatch(Files::exists);
            takenOver += locks.isEmpty() ? 0 : 1;
            System.out.printf(
                    "backup kill %d: %s, %s: %s (checks %d ms, next backup %d ms)%n",
                    kills, compression, when, phase, (checked - killed) / 1_000_000, uncut.get(compression));
            nextSucceeded++;
            return true;
        }

        /** An uncut backup, which also sets the range for the next kill of its kind. */
        void next(String compression) throws Exception {
            long t0 = System.nanoTime();
            CliProcess.Result r = CliProcess.run(
                    repo, "backup", "files", "--name", "data", "--path", bigTree.toString(), "--compress", compression);
            assertThat(r.exit()).as("the backup after a kill: " + r.err()).isZero();
            uncut.put(compression, (System.nanoTime() - t0) / 1_000_000);
            listed.add(r.lastLine());
        }
    }

    /** Where in its life the killed backup was, from what it left. */
    private static String backupPhase(Path repo, Set<String> before, long pid) throws IOException {
        Set<String> added = dirs(repo.resolve("backups/data"));
        added.removeAll(before);
        assertThat(added).as("one backup at a time").hasSizeLessThanOrEqualTo(1);
        if (!added.isEmpty()) {
            Path folder = repo.resolve("backups/data").resolve(added.iterator().next());
            return Files.exists(folder.resolve("manifest.json"))
                    ? "after the manifest"
                    : backupFolders(folder.getParent())
                                    .contains(folder.getFileName().toString())
                            ? "committing"
                            : "making its folder";
        }
        try (Stream<Path> parts = Files.list(repo.resolve(".drkit-tmp"))) {
            return parts.anyMatch(f -> f.getFileName().toString().contains("-" + pid + "-"))
                    ? "while writing"
                    : "before writing";
        } catch (NoSuchFileException e) {
            return "before writing";
        }
    }

    private static Set<String> newIds(Path repo, Set<String> before) throws IOException {
        Set<String> added = dirs(repo.resolve("backups/data"));
        added.removeAll(before);
        return added;
    }

    // ---------------------------------------------------------------- prune

    @Test
    void killedPrunesNeverLeaveAListedBackupWithoutItsArtifacts() throws Exception {
        Random random = new Random(SEED ^ 0x5DEECE66DL);
        Path master = work.resolve("prune-master");
        Path tree = Files.createDirectories(work.resolve("small"));
        Files.writeString(tree.resolve("app.conf"), "port = 8080\n");
        CliProcess.writeRandom(tree.resolve("blob.bin"), 16 << 10);
        // several targets, so that the prune's deletions spread over the time it works
        Map<String, List<String>> ids = new TreeMap<>();
        long made = System.nanoTime();
        try (DrKit kit = kit(master)) {
            for (int round = 0; round < BACKUPS_PER_TARGET; round++) {
                for (int t = 0; t < PRUNE_TARGETS; t++) {
                    ids.computeIfAbsent("app" + t, k -> new ArrayList<>())
                            .add(kit.backup(TargetSpec.files("app" + t, tree.toString()))
                                    .id());
                }
            }
        }
        PruneRounds rounds = new PruneRounds(master, ids);
        System.out.println(rounds.total + " small backups made in " + (System.nanoTime() - made) / 1_000_000 + " ms");

        Path uncutRepo = copy(master, "prune-uncut");
        long t0 = System.nanoTime();
        CliProcess.Result uncut = CliProcess.run(uncutRepo, "prune", "--keep-last", "1");
        long[] duration = {(System.nanoTime() - t0) / 1_000_000};
        assertThat(uncut.exit()).as(uncut.err()).isZero();
        assertThat(uncut.out()).contains(rounds.expiring + " backup(s) deleted");
        System.out.println("uncut prune of " + rounds.total + " backups: " + duration[0] + " ms");

        int ranThrough = 0;
        while (rounds.kills < PRUNE_KILLS) {
            long at = 1 + (long) (random.nextDouble() * (duration[0] - 1));
            if (!rounds.killed("at " + at + " ms", (p, started) -> killNineAt(p, started, at))) {
                ranThrough++;
                assertThat(ranThrough)
                        .as("prunes that finished before their kill point")
                        .isLessThanOrEqualTo(PRUNE_KILLS);
                // an uncut run: the machine's speed drifts, the latest one sets the range
                duration[0] = rounds.lastDuration;
            }
        }
        int atRandom = rounds.kills;
        // as soon as the prune's first deletion in a chosen target shows: around one backup's removal
        for (int i = 0; i < 2; i++) {
            String target = "app" + random.nextInt(PRUNE_TARGETS);
            List<String> expired = ids.get(target).subList(0, BACKUPS_PER_TARGET - 1);
            int tries = 1;
            while (!rounds.killed(
                    "once it deleted a backup of " + target,
                    (p, started) -> killNineOnceGone(
                            p,
                            expired.stream()
                                    .map(id -> rounds.repo
                                            .resolve("backups")
                                            .resolve(target)
                                            .resolve(id)
                                            .resolve("manifest.json"))
                                    .toList()))) {
                assertThat(++tries)
                        .as("prunes that finished before their deletion was seen")
                        .isLessThan(4);
            }
        }
        CliProcess.Result check = CliProcess.run(rounds.repo, QUICK_JVM, "check");
        assertThat(check.exit()).as(check.out()).isZero();
        assertThat(check.out()).contains("no problems found");

        System.out.printf(
                "kill -9 during prune: %d points tried (seed %d) and %d right after a deletion, %d "
                        + "mid-deletion (%d backups left half-deleted), %d listed backups missing an artifact, %d "
                        + "damaged, %d/%d next prunes completed (%d taking over the killed one's lock), %d ran "
                        + "through before their kill%n",
                atRandom,
                SEED,
                rounds.kills - atRandom,
                rounds.midDeletion,
                rounds.halfDeleted,
                rounds.missingArtifacts,
                rounds.damaged,
                rounds.nextCompleted,
                rounds.kills,
                rounds.takenOver,
                ranThrough);
    }

    /** Kill rounds of a prune, each on a fresh copy of the same repository. */
    private static final class PruneRounds {
        final Path master;
        final Map<String, String> newest = new TreeMap<>();
        final int total;
        final int expiring;
        Path repo;
        long lastDuration;
        int kills;
        int midDeletion;
        int halfDeleted;
        int missingArtifacts;
        int damaged;
        int nextCompleted;
        int takenOver;

        PruneRounds(Path master, Map<String, List<String>> ids) {
            this.master = master;
            ids.forEach((target, list) -> newest.put(target, list.get(list.size() - 1)));
            this.total = ids.values().stream().mapToInt(List::size).sum();
            this.expiring = total - ids.size();
        }

        /**
         * Starts {@code prune --keep-last 1} on a fresh copy and kills it; then every listed
         * backup must be whole, and the next prune must finish the job and leave nothing behind.
         *
         * @return false when the prune finished before the killer struck
         */
        boolean killed(String when, Killer killer) throws Exception {
            repo = copy(master, "prune-" + UUID.randomUUID());
            long started = System.nanoTime();
            Process p = CliProcess.builder(repo, List.of(), "prune", "--keep-last", "1")
                    .redirectErrorStream(true)
                    .redirectOutput(ProcessBuilder.Redirect.DISCARD)
                    .start();
            if (!killer.kill(p, started)) {
                assertThat(p.exitValue()).as("a prune that ran through").isZero();
                lastDuration = (System.nanoTime() - started) / 1_000_000;
                return false;
            }
            kills++;
            int manifests = manifestCount(repo);
            midDeletion += manifests > newest.size() && manifests < total ? 1 : 0;
            int half = 0;
            for (String target : newest.keySet()) {
                half += incompleteBackupDirs(repo, target).size();
            }
            halfDeleted += half;
            List<Path> locks = locksOf(repo, p.pid());
            System.out.printf(
                    "prune kill %d, %s: %d of %d expired backups deleted, %d half%n",
                    kills, when, total - manifests, expiring, half);

            try (DrKit kit = kit(repo)) {
                damaged += kit.damaged(null).size();
                assertThat(kit.damaged(null)).as("damaged after a prune kill").isEmpty();
                List<BackupManifest> listed = kit.list(null);
                assertThat(listed).hasSize(manifests);
                for (BackupManifest m : listed) {
                    missingArtifacts += missingArtifacts(repo, m).size();
                }
                assertThat(missingArtifacts)
                        .as("artifacts missing from listed backups")
                        .isZero();
                // re-reads every listed backup's artifacts against size and sha256: the checksum level of verify
                CheckReport report = kit.check(CheckOptions.readAllData());
                assertThat(report.backups()).isEqualTo(manifests);
                assertOnlyCrashLeftovers(report, "after a prune kill");
            }

            CliProcess.Result next = CliProcess.run(repo, QUICK_JVM, "prune", "--keep-last", "1");
            assertThat(next.exit()).as("the prune after a kill: " + next.err()).isZero();
            assertThat(locks)
                    .as("the killed prune's lock, taken over by the next one")
                    .noneMatch(Files::exists);
            takenOver += locks.isEmpty() ? 0 : 1;
            nextCompleted++;
            try (DrKit kit = kit(repo)) {
                assertThat(kit.list(null).stream()
                                .collect(Collectors.toMap(BackupManifest::target, BackupManifest::id)))
                        .as("each target's newest backup, and only it")
                        .isEqualTo(newest);
                CheckReport clean = kit.check(CheckOptions.readAllData());
                assertThat(clean.findings()).as("what the next prune left").isEmpty();
            }
            for (String target : newest.keySet()) {
                assertThat(backupFolders(repo.resolve("backups").resolve(target)))
                        .containsExactly(newest.get(target));
            }
            return true;
        }
    }

    /** The lock objects a process holds in a repository (its pid is in each). */
    private static List<Path> locksOf(Path repo, long pid) throws IOException {
        if (!Files.isDirectory(repo.resolve("locks"))) {
            return List.of();
        }
        List<Path> out = new ArrayList<>();
        try (Stream<Path> s = Files.walk(repo.resolve("locks"))) {
            for (Path f : s.filter(Files::isRegularFile).toList()) {
                if (Json.mapper().readTree(f.toFile()).path("pid").asLong() == pid) {
                    out.add(f);
                }
            }
        }
        return out;
    }

    private static int manifestCount(Path repo) throws IOException {
        try (Stream<Path> s = Files.walk(repo.resolve("backups"))) {
            return (int) s.filter(f -> f.getFileName().toString().equals("manifest.json"))
                    .count();
        }
    }

    // ---------------------------------------------------------------- copy

    @Test
    void killedCopiesNeverListAnIncompleteBackupOffsiteAndTheNextCopyCompletesIt() throws Exception {
        Random random = new Random(SEED ^ 0xC0FFEEL);
        Path source = work.resolve("copy-source");
        // two deduplicated backups (packs and indexes travel, the second shares every chunk) and a plain one
        List<String> ids = new ArrayList<>();
        for (boolean dedup : new boolean[] {true, true, false}) {
            List<String> args =
                    new ArrayList<>(List.of("backup", "files", "--name", "data", "--path", bigTree.toString()));
            if (dedup) {
                args.add("--dedup");
            }
            CliProcess.Result r = CliProcess.run(source, QUICK_JVM, args.toArray(String[]::new));
            assertThat(r.exit()).as(r.err()).isZero();
            ids.add(r.lastLine());
        }
        long t0 = System.nanoTime();
        Path uncutDest = work.resolve("copy-uncut");
        CliProcess.Result uncut =
                CliProcess.run(source, "copy", "--name", "data", "--all", "--to", uncutDest.toString());
        long duration = (System.nanoTime() - t0) / 1_000_000;
        assertThat(uncut.exit()).as(uncut.err()).isZero();
        System.out.println("uncut copy of " + ids.size() + " backups: " + duration + " ms");

        int kills = 0;
        int ranThrough = 0;
        int listedAfterKill = 0;
        int lostManifests = 0;
        for (int round = 0; kills < COPY_KILLS; round++) {
            Path dest = work.resolve("copy-dest-" + round);
            long at = 1 + (long) (random.nextDouble() * (duration - 1));
            long started = System.nanoTime();
            Process p = CliProcess.builder(
                            source, List.of(), "copy", "--name", "data", "--all", "--to", dest.toString())
                    .redirectErrorStream(true)
                    .redirectOutput(ProcessBuilder.Redirect.DISCARD)
                    .start();
            // the last kill is aimed: as soon as the first backup is listed offsite, the others under way
            boolean aimed = kills == COPY_KILLS - 1;
            Path firstManifest = dest.resolve("backups/data/" + ids.get(0) + "/manifest.json");
            boolean killed = aimed ? killNineOnce(p, () -> Files.exists(firstManifest)) : killNineAt(p, started, at);
            if (!killed) {
                assertThat(p.exitValue()).as("a copy that ran through").isZero();
                assertThat(++ranThrough)
                        .as("copies that finished before their kill point")
                        .isLessThanOrEqualTo(COPY_KILLS);
                // the machine's speed drifts (the uncut copy may have run on a busy one): the latest
                // uncut run sets the range, as for backups and prunes
                duration = Math.max(2, (System.nanoTime() - started) / 1_000_000);
                continue;
            }
            kills++;
            if (aimed) {
                at = (System.nanoTime() - started) / 1_000_000;
            }
            if (Files.exists(dest.resolve("drkit-repository.json"))) {
                try (DrKit kit = kit(dest)) {
                    List<String> listed =
                            kit.list("data").stream().map(BackupManifest::id).toList();
                    assertThat(ids)
                            .as("listed offsite after a kill at " + at + " ms")
                            .containsAll(listed);
                    if (aimed) {
                        assertThat(listed)
                                .as("killed once the first backup was listed")
                                .contains(ids.get(0));
                    }
                    listedAfterKill += listed.size();
                    for (String id : listed) { // every byte of what is listed, chunks and packs included
                        VerifyReport report = kit.verify("data", id, VerifyLevel.DECODE);
                        assertThat(report.passed())
                                .as("copy killed at " + at + " ms, then verify data/" + id + ": " + report.problems())
                                .isTrue();
                    }
                    // the one state a kill may leave beside them: a manifest's checksum file written, the
                    // manifest not yet (the next copy writes it)
                    for (var d : kit.damaged("data")) {
                        assertThat(dest.resolve("backups/data/" + d.id() + "/manifest.json"))
                                .as(d.reason())
                                .doesNotExist();
                        lostManifests++;
                    }
                }
            }
            CliProcess.Result next =
                    CliProcess.run(source, QUICK_JVM, "copy", "--name", "data", "--all", "--to", dest.toString());
            assertThat(next.exit())
                    .as("the copy after a kill at " + at + " ms: " + next.err())
                    .isZero();
            try (DrKit kit = kit(dest)) {
                assertThat(kit.list("data").stream().map(BackupManifest::id)).containsExactlyElementsOf(ids);
                assertThat(kit.damaged("data")).isEmpty();
                for (String id : ids) {
                    assertThat(kit.verify("data", id, VerifyLevel.DECODE).passed())
                            .as("data/" + id + " after the copy that followed a kill")
                            .isTrue();
                }
                assertOnlyCrashLeftovers(kit.check(CheckOptions.readAllData()), "after a copy kill and a copy");
            }
            System.out.printf("copy kill %d at %d ms of %d%n", kills, at, duration);
        }
        System.out.printf(
                "kill -9 during copy: %d kills (seed %d), %d backups listed offsite right after a kill (all verified), "
                        + "%d manifests caught between their checksum file and themselves, %d ran through%n",
                kills, SEED, listedAfterKill, lostManifests, ranThrough);
    }

    private static Path copy(Path from, String name) throws Exception {
        Path to = work.resolve(name);
        CliProcess.sh(work, "cp -a '" + from + "' '" + to + "'");
        return to;
    }

    // ---------------------------------------------------------------- shared

    /**
     * Sends SIGKILL to a process (and any children) {@code atMillis} after {@code startNanos}
     * (taken just before it was started, as for the uncut run's duration).
     *
     * @return false when it had already finished by then
     */
    private static boolean killNineAt(Process p, long startNanos, long atMillis) throws Exception {
        long wait = startNanos + TimeUnit.MILLISECONDS.toNanos(atMillis) - System.nanoTime();
        return !p.waitFor(Math.max(0, wait), TimeUnit.NANOSECONDS) && killNine(p);
    }

    /** Sends SIGKILL to a backup as soon as a new folder appears in {@code backups}: its first commit. */
    private static boolean killNineOnceCreated(Process p, Path backups) throws Exception {
        Set<String> before = dirs(backups);
        return killNineOnce(p, () -> !dirs(backups).equals(before));
    }

    /** Sends SIGKILL to a process as soon as one of {@code files} is gone. */
    private static boolean killNineOnceGone(Process p, List<Path> files) throws Exception {
        return killNineOnce(p, () -> !files.stream().allMatch(Files::exists));
    }

    private interface Condition {
        boolean holds() throws IOException;
    }

    private static boolean killNineOnce(Process p, Condition condition) throws Exception {
        while (!condition.holds()) {
            if (p.waitFor(1, TimeUnit.MILLISECONDS)) {
                return false;
            }
        }
        return killNine(p);
    }

    /** SIGKILL to a process and its children; false when it had finished on its own first. */
    private static boolean killNine(Process p) throws InterruptedException {
        p.descendants().forEach(ProcessHandle::destroyForcibly);
        p.destroyForcibly();
        assertThat(p.waitFor(30, TimeUnit.SECONDS)).as("killed process gone").isTrue();
        return p.exitValue() == 137;
    }

    private static DrKit kit(Path repo) {
        return DrKit.builder()
                .config(DrKitConfig.builder().repository(repo.toString()).build())
                .build();
    }

    /**
     * Every listed backup of the backup test has its artifacts at their recorded sizes and
     * verifies end to end (decode); those in {@code verified} were verified by an earlier call.
     */
    private static void assertListedBackupsSound(DrKit kit, Path repo, Set<String> verified) {
        for (BackupManifest m : kit.list("data")) {
            assertThat(missingArtifacts(repo, m))
                    .as("artifacts of listed backup " + m.id())
                    .isEmpty();
            if (verified.add(m.id())) {
                VerifyReport report = kit.verify("data", m.id(), VerifyLevel.DECODE);
                assertThat(report.passed())
                        .as("verify data/" + m.id() + ": " + report.problems())
                        .isTrue();
            }
        }
    }

    private static List<String> missingArtifacts(Path repo, BackupManifest m) {
        List<String> missing = new ArrayList<>();
        for (ArtifactInfo a : m.artifacts()) {
            Path stored =
                    repo.resolve("backups").resolve(m.target()).resolve(m.id()).resolve(a.storedName());
            try {
                if (Files.size(stored) != a.storedSize()) {
                    missing.add(a.storedName() + " (size)");
                }
            } catch (IOException e) {
                missing.add(a.storedName());
            }
        }
        return missing;
    }

    private static void assertOnlyCrashLeftovers(CheckReport report, String when) {
        assertThat(report.findings())
                .as(when)
                .allSatisfy(f -> assertThat(f.kind()).as(f.message()).isIn(CRASH_LEFTOVERS));
    }

    /** Backups of a target with objects but no manifest: what crashed runs left. */
    private static Set<String> incompleteBackupDirs(Path repo, String target) throws IOException {
        Set<String> out = new TreeSet<>();
        for (String id : backupFolders(repo.resolve("backups").resolve(target))) {
            if (!Files.exists(
                    repo.resolve("backups").resolve(target).resolve(id).resolve("manifest.json"))) {
                out.add(id);
            }
        }
        return out;
    }

    /**
     * Makes crashed runs' leftovers an hour old, past the lock lease, as if the check ran
     * later: a check leaves younger ones alone, since they may belong to a run in progress.
     *
     * @return the number of uploads left in the storage's temporary area
     */
    private static int ageLeftovers(Path repo, List<String> dirs) throws IOException {
        FileTime anHourAgo = FileTime.from(Instant.now().minus(Duration.ofHours(1)));
        List<Path> files = new ArrayList<>();
        for (String dir : dirs) {
            try (Stream<Path> s = Files.walk(repo.resolve(dir))) {
                s.filter(Files::isRegularFile).forEach(files::add);
            }
        }
        int uploads = 0;
        if (Files.isDirectory(repo.resolve(".drkit-tmp"))) {
            try (Stream<Path> s = Files.list(repo.resolve(".drkit-tmp"))) {
                for (Path f : s.toList()) {
                    files.add(f);
                    uploads++;
                }
            }
        }
        for (Path f : files) {
            Files.setLastModifiedTime(f, anHourAgo);
        }
        return uploads;
    }

    /** Repair removes every leftover and no listed backup; a check after it finds nothing. */
    private static void assertRepairLeavesOnly(Path repo, String target, Set<String> listed) throws Exception {
        CliProcess.Result repair = CliProcess.run(repo, QUICK_JVM, "check", "--repair");
        assertThat(repair.exit()).as(repair.out() + repair.err()).isZero();
        CliProcess.Result after = CliProcess.run(repo, QUICK_JVM, "check");
        assertThat(after.exit()).as(after.out()).isZero();
        assertThat(after.out()).contains("no problems found");
        assertThat(backupFolders(repo.resolve("backups").resolve(target))).containsExactlyInAnyOrderElementsOf(listed);
        if (Files.isDirectory(repo.resolve("locks"))) {
            try (Stream<Path> s = Files.walk(repo.resolve("locks"))) {
                assertThat(s.filter(Files::isRegularFile)).as("locks left").isEmpty();
            }
        }
        if (Files.isDirectory(repo.resolve(".drkit-tmp"))) {
            try (Stream<Path> s = Files.list(repo.resolve(".drkit-tmp"))) {
                assertThat(s).as("uploads left").isEmpty();
            }
        }
    }

    private static Set<CheckReport.Kind> kinds(JsonNode report) {
        Set<CheckReport.Kind> kinds = EnumSet.noneOf(CheckReport.Kind.class);
        report.get("findings")
                .forEach(f -> kinds.add(CheckReport.Kind.valueOf(f.get("kind").asText())));
        return kinds;
    }

    private static List<String> objectsOfKind(JsonNode report, CheckReport.Kind kind) {
        List<String> out = new ArrayList<>();
        report.get("findings").forEach(f -> {
            if (f.get("kind").asText().equals(kind.name())) {
                out.add(f.get("object").asText());
            }
        });
        return out;
    }

    /**
     * The backup folders of a target that hold objects. A folder is no object: one a kill left
     * empty (made for a first object that was never linked into it) is invisible to the
     * repository, as it would be in an object store.
     */
    private static Set<String> backupFolders(Path targetDir) throws IOException {
        Set<String> out = new TreeSet<>();
        for (String id : dirs(targetDir)) {
            try (Stream<Path> s = Files.walk(targetDir.resolve(id))) {
                if (s.anyMatch(Files::isRegularFile)) {
                    out.add(id);
                }
            }
        }
        return out;
    }

    private static Set<String> dirs(Path dir) throws IOException {
        if (!Files.isDirectory(dir)) {
            return new TreeSet<>();
        }
        try (Stream<Path> s = Files.list(dir)) {
            return s.map(p -> p.getFileName().toString()).collect(Collectors.toCollection(TreeSet::new));
        }
    }
}
