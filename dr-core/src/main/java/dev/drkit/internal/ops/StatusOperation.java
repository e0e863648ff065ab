package dev.drkit.internal.ops;

import dev.drkit.BackupManifest;
import dev.drkit.BackupResult;
import dev.drkit.ConfigException;
import dev.drkit.DrStatus;
import dev.drkit.Objectives;
import dev.drkit.RecoveryTest;
import dev.drkit.TestSchedule;
import dev.drkit.VerificationRecord;
import dev.drkit.VerifyLevel;
import dev.drkit.internal.repo.Repository;
import dev.drkit.internal.repo.TestLog;
import dev.drkit.internal.repo.VerificationLog;
import dev.drkit.spi.support.BackupIds;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.SortedSet;
import java.util.TreeSet;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The health of each target: the newest backup against the RPO, the newest verified backup,
 * the newest restore test against the RTO. Thread-safe.
 */
public final class StatusOperation {
    private static final Logger LOG = LoggerFactory.getLogger(StatusOperation.class);
    /** How long before its signing key expires status reports it. */
    static final Duration SIGNER_WARNING = Duration.ofDays(7);

    private final OperationContext ctx;
    private final Repository repository;

    public StatusOperation(OperationContext ctx) {
        this.ctx = ctx;
        this.repository = ctx.repository();
    }

    /** @param objectives per target name; targets not in it have no objectives */
    public DrStatus status(Map<String, Objectives> objectives) {
        return status(objectives, TestSchedule.plan());
    }

    /**
     * @param objectives per target name; targets not in it have no objectives
     * @param schedule how often each recovery test is due
     */
    public DrStatus status(Map<String, Objectives> objectives, TestSchedule schedule) {
        repository.requireExisting();
        SortedSet<String> names = new TreeSet<>(repository.targets());
        names.addAll(objectives.keySet());
        Instant now = ctx.clock().instant();
        List<DrStatus.Target> out = new ArrayList<>();
        VerificationLog log = new VerificationLog(ctx.storage());
        TestRuns runs = new TestRuns();
        for (String name : names) {
            out.add(targetStatus(
                    name, objectives.getOrDefault(name, new Objectives(null, null)), schedule, now, log, runs));
        }
        String config = repository.configProblem();
        List<String> problems = new ArrayList<>();
        if (config != null) {
            problems.add(config);
        }
        signerProblem(now).ifPresent(problems::add);
        signerRefused(now).ifPresent(problems::add);
        List<DrStatus.ScheduledTest> rows = new ArrayList<>();
        TestLog tests = new TestLog(ctx.storage());
        for (RecoveryTest test : RecoveryTest.values()) {
            TestRuns.Run last = runs.newest(test);
            try {
                TestLog.Entry recorded = tests.newest(test).orElse(null);
                if (recorded != null && (last == null || recorded.at().isAfter(last.at()))) {
                    last = new TestRuns.Run(recorded.at(), recorded.passed(), recorded.note());
                }
            } catch (IOException e) {
                problems.add("cannot read the records of the " + test.title() + ": " + e.getMessage());
            }
            Duration every = schedule.every(test);
            Instant due = last == null ? now : last.at().plus(every);
            rows.add(new DrStatus.ScheduledTest(
                    test,
                    every,
                    last == null ? null : last.at(),
                    last == null ? null : last.passed(),
                    last == null ? null : last.detail(),
                    due,
                    !due.isAfter(now)));
        }
        return new DrStatus(
                now, problems.isEmpty() && out.stream().allMatch(DrStatus.Target::healthy), out, problems, rows);
    }

    /**
     * The signer's key expiring within {@link #SIGNER_WARNING}, or expired: from then on every
     * backup and WAL segment fails to be signed (restores would not believe the signature), so a
     * monitor must hear of it in time. The signer itself logs a warning 30 days ahead.
     */
    private Optional<String> signerProblem(Instant now) {
        if (ctx.signer() == null) {
            return Optional.empty();
        }
        String renew = "extend its expiry, or make a new signing key, add it to the keys restores trust and give "
                + "it as sign-with";
        return ctx.signer()
                .validUntil()
                .filter(until -> until.isBefore(now.plus(SIGNER_WARNING)))
                .map(until -> until.isAfter(now)
                        ? "the key that signs manifests and WAL expires on " + until + " (in "
                                + Duration.between(now, until).toHours()
                                + " hours): backups and WAL archiving fail from then on; " + renew
                        : "the key that signs manifests and WAL expired on " + until
                                + ": backups and WAL archiving fail; " + renew);
    }

    /** The kit's trusted keys refusing what its signer signs: every backup fails from now on. */
    private Optional<String> signerRefused(Instant now) {
        try {
            return SignerTrust.refusal(ctx.signer(), ctx.repository().trusted(), now)
                    .map(why -> "backups fail: " + SignerTrust.message(why));
        } catch (IOException | RuntimeException e) {
            // an expired key's signer refuses to sign (a ConfigException): status says so, it does not fail
            return Optional.of("the key that signs manifests cannot sign, so backups fail: " + e.getMessage());
        }
    }

    /** Records a recovery test run outside verification (see {@code DrKit.recordTest}). */
    public void record(RecoveryTest test, boolean passed, Duration took, String note) {
        Objects.requireNonNull(test, "test");
        Objects.requireNonNull(took, "took");
        String n = note == null ? "" : note.strip();
        if (n.length() > MAX_NOTE || n.chars().anyMatch(c -> c < 0x20)) {
            throw new ConfigException(
                    "the note of a recovery test must be one line of at most " + MAX_NOTE + " characters; shorten it");
        }
        repository.requireExisting();
        try {
            new TestLog(ctx.storage())
                    .record(new TestLog.Entry(test, passed, ctx.clock().instant(), took.toMillis() / 1000.0, n));
        } catch (IOException e) {
            throw repository.storageError("recording the " + test.title(), e);
        }
    }

    private static final int MAX_NOTE = 200;

    /** The most records {@link #verifications} reads, newest kept. */
    private static final int MAX_RECORDS = 2000;

    /** A target's verification records since a time, oldest first. */
    public List<VerificationRecord> verifications(String target, Instant since) {
        repository.requireExisting();
        VerificationLog log = new VerificationLog(ctx.storage());
        List<VerificationRecord> out = new ArrayList<>();
        try {
            for (String n : log.names(target)) {
                VerificationLog.Name name = VerificationLog.Name.parse(n).orElse(null);
                if (name == null) {
                    continue;
                }
                if (name.at().isBefore(since) || out.size() >= MAX_RECORDS) {
                    break; // names are newest first
                }
                try {
                    VerificationLog.Entry e = log.read(target, n);
                    out.add(new VerificationRecord(
                            target,
                            e.backupId(),
                            e.level(),
                            e.passed(),
                            e.at(),
                            e.seconds(),
                            e.restoreSeconds(),
                            e.problems()));
                } catch (IOException | RuntimeException e) {
                    LOG.warn("left out the verification record {} of {}: {}", n, target, e.getMessage());
                }
            }
        } catch (IOException e) {
            throw repository.storageError("listing the verification records of " + target, e);
        }
        Collections.reverse(out);
        return out;
    }

    private DrStatus.Target targetStatus(
            String name, Objectives o, TestSchedule schedule, Instant now, VerificationLog log, TestRuns runs) {
        List<String> problems = new ArrayList<>();
        Repository.Catalog catalog = repository.catalog(BackupIds.checkTargetName(name));
        List<BackupManifest> backups = catalog.backups();
        if (!catalog.damaged().isEmpty()) {
            problems.add(catalog.damaged().size() + " damaged backup(s): "
                    + catalog.damaged().stream()
                            .map(d -> d.id() + " (" + d.reason() + ")")
                            .collect(Collectors.joining(", ")));
        }
        BackupManifest newest = backups.stream()
                .max(Comparator.comparing(BackupManifest::finishedAt))
                .orElse(null);
        Long rpo = o.rpo() == null ? null : o.rpo().toSeconds();
        Long rto = o.rto() == null ? null : o.rto().toSeconds();
        Double age = newest == null
                ? null
                : Duration.between(newest.finishedAt(), now).toMillis() / 1000.0;
        Instant recoveryPoint = newest == null ? null : recoveryPoint(newest, now);
        Double dataAge = age; // what the RPO is judged on: the data archived since the backup, or the backup
        if (recoveryPoint != null) {
            dataAge = Math.max(0, Duration.between(recoveryPoint, now).toMillis()) / 1000.0;
        }
        boolean rpoMet = newest != null && (rpo == null || dataAge <= rpo);
        if (newest == null) {
            problems.add("no backup");
        } else if (!rpoMet && recoveryPoint != null) {
            problems.add(String.format(
                    Locale.ROOT,
                    "newest backup %s is %.0f s old, and the newest data archived since (%s) is %.0f s old; the RPO is"
                            + " %d s",
                    newest.id(),
                    age,
                    recoveryPoint,
                    dataAge,
                    rpo));
        } else if (!rpoMet) {
            problems.add(String.format(
                    Locale.ROOT, "newest backup %s is %.0f s old; the RPO is %d s", newest.id(), age, rpo));
        }
        if (newest != null) {
            String gone = missingDependency(newest, backups);
            if (gone != null) {
                // a restore of the newest needs every backup of its chain: one lost (an expiry rule, a hand) fails it
                problems.add("newest backup " + newest.id() + " cannot be restored: it needs " + gone
                        + ", which is not among the sound backups; take a new full backup");
            }
        }
        BackupResult newestResult = newest == null ? null : new BackupResult(newest);
        if (newestResult != null && newestResult.incomplete()) {
            List<String> named = newestResult.incompleteFiles();
            problems.add("newest backup " + newest.id() + " is incomplete: " + newestResult.incompleteFileCount()
                    + " file(s) changed or vanished while they were copied ("
                    + String.join(", ", named.subList(0, Math.min(5, named.size())))
                    + (newestResult.incompleteFileCount() > 5 ? ", ..." : "")
                    + "); take a new backup when the files are at rest");
        }
        if (newest != null && newest.metadata().get(BackupManifest.SOURCE_CORRUPTION) instanceof List<?> damaged) {
            // e.g. pages of the live database whose checksum fails: the backup holds them as read
            Object count = newest.metadata().getOrDefault("pageChecksumFailures", damaged.size());
            problems.add("newest backup " + newest.id() + " found the source damaged (" + count + "): "
                    + damaged.stream().limit(3).map(String::valueOf).collect(Collectors.joining("; "))
                    + (damaged.size() > 3 ? "; ..." : "")
                    + "; repair the source, then take a new backup");
        }
        for (String key : List.of(BackupManifest.NAMES_LEFT_OUT, BackupManifest.OBJECTS_LEFT_OUT)) {
            if (newest != null && newest.metadata().get(key) instanceof List<?> left && !left.isEmpty()) {
                // what the source holds but no backup does: the data is not protected
                Object count = newest.metadata().getOrDefault(key + "Count", left.size());
                problems.add("newest backup " + newest.id() + " left out " + count
                        + " file(s) or object(s) it could not store: "
                        + left.stream().limit(3).map(String::valueOf).collect(Collectors.joining(", "))
                        + (left.size() > 3 ? ", ..." : "") + "; see the backup's log for why and what to do");
            }
        }
        VerificationLog.Entry verified = null;
        VerificationLog.Entry restoreTest = null;
        VerificationLog.Name newestCheck = null;
        VerificationLog.Name newestRestore = null;
        try {
            for (String n : log.names(name)) {
                VerificationLog.Name parsed = VerificationLog.Name.parse(n).orElse(null);
                if (parsed == null) {
                    continue;
                }
                newestCheck = newestCheck == null ? parsed : newestCheck;
                if (newestRestore == null && parsed.level() == VerifyLevel.RESTORE) {
                    newestRestore = parsed;
                }
            }
            Set<String> kept = backups.stream().map(BackupManifest::id).collect(Collectors.toSet());
            verified = log.newest(
                            name,
                            n -> n.endsWith("-passed.json") && kept.stream().anyMatch(n::contains))
                    .orElse(null);
            restoreTest =
                    log.newest(name, n -> n.endsWith("-restore-passed.json")).orElse(null);
            log.newest(name, n -> true)
                    .filter(e -> !e.passed())
                    .ifPresent(e -> problems.add("the newest verification ("
                            + e.backupId() + " at " + e.at() + ", level "
                            + e.level().name().toLowerCase() + ") failed: "
                            + String.join("; ", e.problems())));
        } catch (IOException e) {
            problems.add("cannot read the verification records: " + e.getMessage());
        }
        Double restoreSeconds = restoreTest == null ? null : restoreTest.restoreSeconds();
        boolean rtoMet = rto == null || restoreSeconds == null || restoreSeconds <= rto;
        if (!rtoMet) {
            problems.add(String.format(
                    Locale.ROOT, "the newest restore test took %.0f s; the RTO is %d s", restoreSeconds, rto));
        }
        runs.verified(name, newestCheck);
        if (newest != null && DATABASE_TYPES.matcher(newest.type()).matches()) {
            runs.restoreTested(name, newestRestore);
        }
        List<DrStatus.Check> checklist = new Checklist(ctx, schedule, now)
                .of(name, backups, newest, newestCheck, newestRestore, restoreSeconds, problems);
        return new DrStatus.Target(
                name,
                newest == null ? null : newest.id(),
                newest == null ? null : newest.finishedAt(),
                age,
                rpo,
                rpoMet,
                verified == null ? null : verified.backupId(),
                verified == null ? null : verified.at(),
                verified == null ? null : verified.level().name().toLowerCase(),
                restoreSeconds,
                rto,
                rtoMet,
                problems.isEmpty(),
                List.copyOf(problems),
                checklist,
                recoveryPoint);
    }

    /**
     * How far past {@code newest} its type's provider says a restore can recover (PostgreSQL: the
     * WAL archived since), when later than the backup's end; null when it says nothing, or cannot
     * tell (a type no module here provides, a storage failure: logged, and the RPO is judged on
     * the backup alone). A time more than {@link #CLOCK_SKEW} ahead of {@code now} is no point at
     * all (a host whose clock runs ahead, a forged time): taken, it would meet every RPO for good.
     */
    private Instant recoveryPoint(BackupManifest newest, Instant now) {
        Instant at;
        try {
            at = ctx.registry()
                    .target(newest.type())
                    .recoveryPoint(newest, ctx::archive)
                    .filter(t -> t.isAfter(newest.finishedAt()))
                    .orElse(null);
        } catch (IOException | RuntimeException e) {
            if (e instanceof InterruptedIOException) {
                Thread.currentThread().interrupt();
            }
            LOG.warn(
                    "cannot tell how far past backup {}/{} its archived data reaches (the RPO is judged on the "
                            + "backup alone): {}",
                    newest.target(),
                    newest.id(),
                    e.getMessage());
            return null;
        }
        if (at != null && at.isAfter(now.plus(CLOCK_SKEW))) {
            LOG.warn(
                    "the data archived past backup {}/{} is dated {}, later than now ({}): the RPO is judged on the "
                            + "backup alone; check the clocks of this host and of the storage",
                    newest.target(),
                    newest.id(),
                    at,
                    now);
            return null;
        }
        return at;
    }

    /** How far ahead of this host's clock a recovery point may be and still be believed. */
    static final Duration CLOCK_SKEW = Duration.ofMinutes(5);

    /** The first backup of {@code m}'s chain (parents and dependencies) that is not among {@code sound}, or null. */
    private static String missingDependency(BackupManifest m, List<BackupManifest> sound) {
        Map<String, BackupManifest> byId = new HashMap<>();
        sound.forEach(b -> byId.put(b.id(), b));
        ArrayDeque<BackupManifest> todo = new ArrayDeque<>(List.of(m));
        Set<String> seen = new HashSet<>(Set.of(m.id()));
        while (!todo.isEmpty()) {
            BackupManifest b = todo.pop();
            for (String d : b.recordedDependencies()) {
                if (seen.add(d)) {
                    BackupManifest found = byId.get(d);
                    if (found == null) {
                        return d;
                    }
                    todo.push(found);
                }
            }
        }
        return null;
    }

    /** Target types whose restore tests count as the schedule's database restore. */
    private static final Pattern DATABASE_TYPES = Pattern.compile("postgres.*|redis.*|valkey.*");

    /** The newest run of the verification-based tests seen over all targets. */
    private static final class TestRuns {
        record Run(Instant at, boolean passed, String detail) {}

        private final Map<RecoveryTest, Run> newest = new EnumMap<>(RecoveryTest.class);

        void verified(String target, VerificationLog.Name n) {
            offer(RecoveryTest.BACKUP_INTEGRITY, target, n);
        }

        void restoreTested(String target, VerificationLog.Name n) {
            offer(RecoveryTest.DATABASE_RESTORE, target, n);
        }

        private void offer(RecoveryTest test, String target, VerificationLog.Name n) {
            if (n == null) {
                return;
            }
            Run old = newest.get(test);
            if (old == null || n.at().isAfter(old.at())) {
                newest.put(
                        test,
                        new Run(
                                n.at(),
                                n.passed(),
                                target + ": " + n.level().name().toLowerCase(Locale.ROOT) + " verification of "
                                        + n.backupId()));
            }
        }

        Run newest(RecoveryTest test) {
            return newest.get(test);
        }
    }
}
