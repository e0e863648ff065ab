package dev.drkit.internal.ops;

import dev.drkit.BackupManifest;
import dev.drkit.ChunkCollection;
import dev.drkit.DamagedBackup;
import dev.drkit.DrEvent;
import dev.drkit.PruneResult;
import dev.drkit.RetentionPlan;
import dev.drkit.internal.repo.ChunkGc;
import dev.drkit.internal.repo.Repository;
import dev.drkit.internal.repo.RepositoryLayout;
import dev.drkit.spi.ObjectInfo;
import dev.drkit.spi.RetentionPolicy;
import dev.drkit.spi.StorageBackend;
import dev.drkit.spi.support.BackupIds;
import dev.drkit.spi.support.Json;
import dev.drkit.spi.support.RepositoryLock;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.NoSuchFileException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A prune: plans retention per target keeping what kept backups depend on, deletes the
 * expired backups, removes incomplete ones left by interrupted runs, and lets each target
 * type prune its archived files (WAL). Thread-safe.
 */
public final class PruneOperation {
    private static final Logger LOG = LoggerFactory.getLogger(PruneOperation.class);
    private static final Repository.Catalog NO_BACKUPS = new Repository.Catalog(List.of(), List.of(), Map.of());

    private final OperationContext ctx;
    private final Repository repository;

    /** How long the chunk garbage collection waits for backups and copies that were running when it began. */
    static final Duration CHUNK_GC_WAIT = Duration.ofMinutes(10);

    /**
     * How long a chunk collection waits for the writers that held locks when it began. A crashed
     * writer's lock counts as gone once it went unrenewed for a whole lease, so the wait outlasts
     * one: with a lease longer than the wait, every collection would stop at such a lock for good.
     */
    public static Duration writerWait(Duration lease) {
        Duration outlasting = lease.plusMinutes(1);
        return outlasting.compareTo(CHUNK_GC_WAIT) > 0 ? outlasting : CHUNK_GC_WAIT;
    }

    public PruneOperation(OperationContext ctx) {
        this.ctx = ctx;
        this.repository = ctx.repository();
    }

    /** Prunes one target, or every target when {@code target} is null; a dry run only plans. */
    public PruneResult prune(String target, RetentionPolicy policy, boolean dryRun) {
        Objects.requireNonNull(policy, "policy");
        repository.requireExisting();
        // every manifest is read once: under a target's lock its listing is read again, since a
        // backup that finished in between must count, and only manifests not read yet are read
        Map<String, Repository.Catalog> catalogs = new LinkedHashMap<>();
        for (String t : repository.targets()) {
            catalogs.put(t, repository.catalog(t));
        }
        List<String> targets =
                target == null ? List.copyOf(catalogs.keySet()) : List.of(BackupIds.checkTargetName(target));
        Map<String, List<DamagedBackup>> damaged = damaged(catalogs);
        Map<String, List<BackupManifest>> backups = new LinkedHashMap<>();
        catalogs.forEach((t, c) -> backups.put(t, c.backups()));
        Map<String, RetentionPlan> plans = new LinkedHashMap<>();
        Map<String, List<String>> deleted = new LinkedHashMap<>();
        Map<String, List<String>> incomplete = new LinkedHashMap<>();
        Map<String, List<String>> archive = new LinkedHashMap<>();
        for (String t : targets) {
            if (dryRun) {
                Repository.Catalog catalog = catalogs.getOrDefault(t, NO_BACKUPS);
                RetentionPlan plan = plan(catalog, policy);
                plans.put(t, plan);
                deleted.put(
                        t,
                        plan.expired().stream()
                                .map(RetentionPlan.Decision::backupId)
                                .toList());
                incomplete.put(t, removableIncomplete(catalog));
                // as the real run: the expired backups of this target and of those planned before are gone
                Set<String> expiring = Set.copyOf(deleted.get(t));
                backups.put(
                        t,
                        catalog.backups().stream()
                                .filter(m -> !expiring.contains(m.id()))
                                .toList());
                archive.put(t, damaged.isEmpty() ? pruneArchive(t, backups, Set.of(), true) : List.of());
                continue;
            }
            try (RepositoryLock lock = ctx.lock(t, "prune")) {
                Repository.Catalog catalog = repository.catalog(
                        t, catalogs.getOrDefault(t, NO_BACKUPS).backups());
                incomplete.put(t, removeIncomplete(t, catalog, lock));
                RetentionPlan plan = plan(catalog, policy);
                plans.put(t, plan);
                List<String> gone = new ArrayList<>();
                for (RetentionPlan.Decision d : dependentsFirst(plan.expired(), catalog.backups())) {
                    lock.ensureHeld("deleting backup " + d.backupId());
                    repository.deleteBackup(t, d.backupId());
                    gone.add(d.backupId());
                    ctx.emit(
                            DrEvent.Type.BACKUP_EXPIRED,
                            t,
                            d.backupId(),
                            "expired backup " + d.backupId(),
                            Map.of("reasons", d.reasons()));
                }
                deleted.put(t, gone);
                backups.put(
                        t,
                        catalog.backups().stream()
                                .filter(m -> !gone.contains(m.id()))
                                .toList());
                lock.ensureHeld("pruning the archived files of " + t);
                archive.put(t, damaged.isEmpty() ? pruneArchive(t, backups, Set.of(), false) : List.of());
            }
        }
        if (!dryRun) {
            try {
                ctx.storage().cleanIncompleteUploads(Duration.ofDays(1));
            } catch (IOException e) {
                LOG.warn("could not clean up incomplete uploads: {}", e.getMessage());
            }
        }
        // after every target's lock is released: the collection waits for the locks it finds
        ChunkCollection chunks = null;
        Duration lease = ctx.config().lockTtl();
        ChunkGc gc = new ChunkGc(repository, ctx.clock(), lease, writerWait(lease));
        try {
            if (gc.present()) {
                chunks = gc.collect(dryRun, deleted);
                if (chunks.skipped() != null) {
                    LOG.warn("chunk garbage collection skipped: {}", chunks.skipped());
                }
            }
        } catch (IOException e) {
            throw repository.storageError("collecting unneeded chunks", e);
        }
        return new PruneResult(dryRun, plans, deleted, incomplete, archive, damaged, chunks);
    }

    /**
     * The expired backups in an order that deletes none before the expired ones that depend on it
     * (a clock stepped back may date a child before its parent): a prune cut short then leaves no
     * listed backup without what it needs. Otherwise newest first, as planned.
     */
    private List<RetentionPlan.Decision> dependentsFirst(
            List<RetentionPlan.Decision> expired, List<BackupManifest> backups) {
        Map<String, List<String>> deps = new HashMap<>();
        backups.forEach(m -> deps.put(m.id(), dependencies(m)));
        List<RetentionPlan.Decision> left = new ArrayList<>(expired);
        List<RetentionPlan.Decision> order = new ArrayList<>();
        while (!left.isEmpty()) {
            Set<String> needed = new HashSet<>();
            left.forEach(d -> needed.addAll(deps.getOrDefault(d.backupId(), List.of())));
            List<RetentionPlan.Decision> free =
                    left.stream().filter(d -> !needed.contains(d.backupId())).toList();
            if (free.isEmpty()) {
                order.addAll(left); // a cycle of forged parents: as planned
                break;
            }
            order.addAll(free);
            left.removeAll(free);
        }
        return order;
    }

    private static Map<String, List<DamagedBackup>> damaged(Map<String, Repository.Catalog> catalogs) {
        Map<String, List<DamagedBackup>> damaged = new LinkedHashMap<>();
        catalogs.forEach((t, c) -> {
            List<DamagedBackup> d = c.damaged();
            if (!d.isEmpty()) {
                damaged.put(t, d);
                LOG.warn(
                        "prune leaves {} damaged backup(s) of {} as they are and prunes no archived files while "
                                + "they exist: {}",
                        d.size(),
                        t,
                        d.stream().map(DamagedBackup::id).toList());
            }
        });
        return damaged;
    }

    /**
     * Lets the target type remove archived files (WAL) that no kept backup of that type needs.
     *
     * @param backups the backups of every target as they stand
     * @param expiring backups of {@code target} in {@code backups} that count as gone
     */
    private List<String> pruneArchive(
            String target, Map<String, List<BackupManifest>> backups, Set<String> expiring, boolean dryRun) {
        List<BackupManifest> own = backups.getOrDefault(target, List.of());
        if (own.isEmpty()) {
            return List.of(); // nothing kept: the archive stays as it is rather than emptied
        }
        String type = own.get(0).type();
        String busy = writerElsewhere(target, type, backups);
        if (busy != null) {
            // a running backup has no manifest yet: what it needs of the archive no complete backup says
            LOG.warn("archived files of {} are not pruned this time: {} is running", target, busy);
            return List.of();
        }
        List<BackupManifest> kept = new ArrayList<>();
        backups.forEach((t, list) -> {
            for (BackupManifest m : list) {
                if (m.type().equals(type) && !(t.equals(target) && expiring.contains(m.id()))) {
                    kept.add(m);
                }
            }
        });
        if (kept.isEmpty()) {
            return List.of();
        }
        try {
            return ctx.registry().target(type).pruneArchive(kept, ctx::archive, dryRun);
        } catch (IOException e) {
            throw repository.storageError("pruning the archive of " + target, e);
        } catch (RuntimeException e) {
            // one odd manifest (a foreign type, bad metadata) must not stop pruning the others
            LOG.warn("could not prune the archive of {}: {}", target, e.getMessage());
            return List.of();
        }
    }

    /**
     * A backup or copy of another target of {@code type} (or of a target with no backup yet) that
     * may be running now (it may share the archive and needs what it began with), as "a backup of
     * TARGET"; null when none. No clock decides that
     * one has ended, as for chunk collection: a lock counts unless its holder is provably gone
     * (a process of this host that no longer runs, content that is no lock) or its lease ended a
     * day ago (a running holder renews it every lease; no two hosts' clocks are a day apart).
     */
    private String writerElsewhere(String target, String type, Map<String, List<BackupManifest>> backups) {
        StorageBackend storage = repository.storage();
        try {
            Set<String> gone = new HashSet<>(RepositoryLock.goneHolders(storage));
            Instant longEnded = ctx.clock().instant().minus(Duration.ofDays(1));
            for (ObjectInfo o : storage.list(RepositoryLayout.LOCKS)) {
                String rest = o.key().substring(RepositoryLayout.LOCKS.length());
                int slash = rest.indexOf('/');
                String scope = slash < 0 ? rest : rest.substring(0, slash);
                List<BackupManifest> theirs = backups.getOrDefault(scope, List.of());
                if (scope.equals(target)
                        || scope.equals(ChunkGc.SCOPE)
                        || gone.contains(o.key())
                        || (!theirs.isEmpty() && !theirs.get(0).type().equals(type))) {
                    continue; // a target of another type archives nothing of this one's
                }
                RepositoryLock.LockInfo info;
                try (InputStream in = storage.open(o.key(), 0)) {
                    info = Json.read(in.readNBytes(64 * 1024), RepositoryLock.LockInfo.class);
                } catch (NoSuchFileException released) {
                    continue;
                } catch (IOException | RuntimeException unreadable) {
                    return "a holder of lock " + o.key() + " that could not be read now"; // the next prune tries again
                }
                if (info.expiresAt() != null && info.expiresAt().isBefore(longEnded)) {
                    continue;
                }
                if ("backup".equals(info.operation()) || "copy".equals(info.operation())) {
                    return "a " + info.operation() + " of " + scope;
                }
            }
            return null;
        } catch (IOException e) {
            throw repository.storageError("reading the locks of running backups", e);
        }
    }

    /** The retention plan for a target, with every dependency of a kept backup kept too. */
    public RetentionPlan planWithDependencies(String target, RetentionPolicy policy) {
        return plan(repository.catalog(target), policy);
    }

    private RetentionPlan plan(Repository.Catalog catalog, RetentionPolicy policy) {
        List<BackupManifest> manifests = catalog.backups();
        // a damaged backup cannot say what it needs: nothing older than the newest damaged one goes
        String newestDamaged = catalog.damaged().stream()
                .map(DamagedBackup::id)
                .max(String::compareTo)
                .orElse(null);
        RetentionPlan plan = policy.plan(manifests, ctx.clock());
        Map<String, BackupManifest> byId = new LinkedHashMap<>();
        manifests.forEach(m -> byId.put(m.id(), m));
        Set<String> kept = new HashSet<>();
        plan.kept().forEach(d -> kept.add(d.backupId()));
        Map<String, Instant> locked = objectLocked(plan, byId, kept);
        Map<String, List<String>> neededBy = keepDependencies(byId, kept);
        List<RetentionPlan.Decision> decisions = new ArrayList<>();
        for (RetentionPlan.Decision d : plan.decisions()) {
            List<String> deps = neededBy.get(d.backupId());
            if (!d.keep() && locked.containsKey(d.backupId())) {
                decisions.add(new RetentionPlan.Decision(
                        d.backupId(),
                        d.time(),
                        true,
                        List.of("immutable until " + locked.get(d.backupId()) + " (Object Lock)")));
            } else if (!d.keep() && deps != null) {
                decisions.add(new RetentionPlan.Decision(
                        d.backupId(), d.time(), true, List.of("needed by kept backup " + String.join(", ", deps))));
            } else if (!d.keep()
                    && newestDamaged != null
                    && !BackupIds.time(d.backupId()).isAfter(BackupIds.time(newestDamaged))) {
                decisions.add(new RetentionPlan.Decision(
                        d.backupId(),
                        d.time(),
                        true,
                        List.of("older than damaged backup " + newestDamaged + ", which may need it")));
            } else {
                decisions.add(d);
            }
        }
        return new RetentionPlan(plan.policy(), decisions);
    }

    /** The expired backups the storage would refuse to delete yet, with until when; they join {@code kept}. */
    private Map<String, Instant> objectLocked(RetentionPlan plan, Map<String, BackupManifest> byId, Set<String> kept) {
        Instant now = ctx.clock().instant();
        Map<String, Instant> locked = new HashMap<>();
        for (RetentionPlan.Decision d : plan.expired()) {
            BackupManifest m = byId.get(d.backupId());
            Instant until = m == null ? null : repository.lockedUntil(m);
            if (until != null && until.isAfter(now)) {
                locked.put(d.backupId(), until);
                kept.add(d.backupId());
            }
        }
        return locked;
    }

    /** Adds to {@code kept} what its backups need, transitively; says which kept backups need each. */
    private Map<String, List<String>> keepDependencies(Map<String, BackupManifest> byId, Set<String> kept) {
        Map<String, List<String>> neededBy = new LinkedHashMap<>();
        List<String> queue = new ArrayList<>(kept);
        while (!queue.isEmpty()) {
            BackupManifest m = byId.get(queue.remove(queue.size() - 1));
            if (m == null) {
                continue;
            }
            for (String dep : dependencies(m)) {
                neededBy.computeIfAbsent(dep, k -> new ArrayList<>()).add(m.id());
                if (kept.add(dep)) {
                    queue.add(dep);
                }
            }
        }
        return neededBy;
    }

    /** What a backup needs besides itself: its type's answer, or its recorded parent and dependencies. */
    private List<String> dependencies(BackupManifest m) {
        try {
            return ctx.registry().target(m.type()).dependencies(m);
        } catch (RuntimeException e) {
            LOG.warn(
                    "backup {}/{} is of type {}, which this drkit cannot read ({}); keeping what it records it "
                            + "needs",
                    m.target(),
                    m.id(),
                    m.type(),
                    e.getMessage());
            return m.recordedDependencies();
        }
    }

    /**
     * The incomplete backups a prune removes: not one a sound backup depends on, whose manifest
     * was lost rather than never written (its data is what that backup needs, and a copy of the
     * manifest makes it whole again).
     */
    private List<String> removableIncomplete(Repository.Catalog catalog) {
        Set<String> needed = new HashSet<>();
        catalog.backups().forEach(m -> needed.addAll(dependencies(m)));
        List<String> removable = new ArrayList<>();
        for (String id : catalog.incomplete().keySet()) {
            if (needed.contains(id)) {
                LOG.warn(
                        "backup {} has no manifest but a complete backup depends on it; prune leaves its data (a "
                                + "repository check says what is wrong)",
                        id);
            } else {
                removable.add(id);
            }
        }
        return removable;
    }

    private List<String> removeIncomplete(String target, Repository.Catalog catalog, RepositoryLock lock) {
        List<String> removed = new ArrayList<>();
        for (String id : removableIncomplete(catalog)) {
            // once the lock lapsed, an "incomplete" backup may be another process's running one
            lock.ensureHeld("removing incomplete backup " + id);
            repository.deleteBackup(target, id);
            removed.add(id);
            ctx.emit(DrEvent.Type.INCOMPLETE_BACKUP_REMOVED, target, id, "removed incomplete backup " + id, Map.of());
        }
        return removed;
    }
}
