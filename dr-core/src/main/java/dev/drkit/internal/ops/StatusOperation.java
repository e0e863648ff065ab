package dev.drkit.internal.ops;

import dev.drkit.BackupManifest;
import dev.drkit.BackupResult;
import dev.drkit.DrStatus;
import dev.drkit.Objectives;
import dev.drkit.internal.repo.Repository;
import dev.drkit.internal.repo.VerificationLog;
import dev.drkit.spi.support.BackupIds;
import java.io.IOException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.SortedSet;
import java.util.TreeSet;
import java.util.stream.Collectors;

/**
 * The health of each target: the newest backup against the RPO, the newest verified backup,
 * the newest restore test against the RTO. Thread-safe.
 */
public final class StatusOperation {
    private final OperationContext ctx;
    private final Repository repository;

    public StatusOperation(OperationContext ctx) {
        this.ctx = ctx;
        this.repository = ctx.repository();
    }

    /** @param objectives per target name; targets not in it have no objectives */
    public DrStatus status(Map<String, Objectives> objectives) {
        repository.requireExisting();
        SortedSet<String> names = new TreeSet<>(repository.targets());
        names.addAll(objectives.keySet());
        Instant now = ctx.clock().instant();
        List<DrStatus.Target> out = new ArrayList<>();
        VerificationLog log = new VerificationLog(ctx.storage());
        for (String name : names) {
            out.add(targetStatus(name, objectives.getOrDefault(name, new Objectives(null, null)), now, log));
        }
        String config = repository.configProblem();
        List<String> problems = config == null ? List.of() : List.of(config);
        return new DrStatus(now, problems.isEmpty() && out.stream().allMatch(DrStatus.Target::healthy), out, problems);
    }

    private DrStatus.Target targetStatus(String name, Objectives o, Instant now, VerificationLog log) {
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
        boolean rpoMet = newest != null && (rpo == null || age <= rpo);
        if (newest == null) {
            problems.add("no backup");
        } else if (!rpoMet) {
            problems.add(String.format(
                    Locale.ROOT, "newest backup %s is %.0f s old; the RPO is %d s", newest.id(), age, rpo));
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
        VerificationLog.Entry verified = null;
        VerificationLog.Entry restoreTest = null;
        try {
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
                List.copyOf(problems));
    }
}
