package dev.drkit.internal.ops;

import dev.drkit.ArtifactInfo;
import dev.drkit.BackupManifest;
import dev.drkit.DrStatus.Check;
import dev.drkit.DrStatus.CheckState;
import dev.drkit.DrStatus.ChecklistItem;
import dev.drkit.RecoveryTest;
import dev.drkit.TestSchedule;
import dev.drkit.internal.repo.RepositoryLayout;
import dev.drkit.internal.repo.VerificationLog;
import dev.drkit.spi.ObjectInfo;
import dev.drkit.spi.support.ByteSizes;
import java.io.IOException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * The plan's manual verification checklist, taken for one target from what status already read: the
 * catalog, the verification record names, plus one listing of the newest backup's objects.
 */
final class Checklist {
    /** How many earlier backups of the same kind the size is compared with. */
    static final int SIZE_WINDOW = 10;
    /** The fewest earlier backups a median is taken from. */
    static final int SIZE_MIN_HISTORY = 3;
    /** A newest backup below this share of the median is flagged. */
    static final double SIZE_LOW = 0.5;
    /** A newest backup above this multiple of the median is flagged. */
    static final double SIZE_HIGH = 2.0;

    private final OperationContext ctx;
    private final TestSchedule schedule;
    private final Instant now;

    Checklist(OperationContext ctx, TestSchedule schedule, Instant now) {
        this.ctx = ctx;
        this.schedule = schedule;
        this.now = now;
    }

    /**
     * @param backups the target's sound backups, oldest first
     * @param problems the target's health problems: an inaccessible or far-off-size newest backup is added
     */
    List<Check> of(
            String target,
            List<BackupManifest> backups,
            BackupManifest newest,
            VerificationLog.Name newestCheck,
            VerificationLog.Name newestRestore,
            Double restoreSeconds,
            List<String> problems) {
        List<Check> out = new ArrayList<>();
        Check accessible = accessible(target, newest);
        Check size = size(backups, newest);
        for (Check c : List.of(accessible, size)) {
            if (c.state() == CheckState.FAILED) {
                problems.add(c.detail());
            }
        }
        out.add(accessible);
        out.add(size);
        out.add(encryption(newest));
        out.add(recent(
                ChecklistItem.RESTORE_TEST_PASSING,
                newestRestore,
                RecoveryTest.DATABASE_RESTORE,
                restoreSeconds == null ? "" : String.format(Locale.ROOT, " in %.1f s", restoreSeconds)));
        out.add(recent(ChecklistItem.INTEGRITY_CHECKS_PASSING, newestCheck, RecoveryTest.BACKUP_INTEGRITY, ""));
        return out;
    }

    private Check accessible(String target, BackupManifest newest) {
        ChecklistItem item = ChecklistItem.BACKUPS_ACCESSIBLE;
        if (newest == null) {
            return new Check(item, CheckState.UNKNOWN, "no backup");
        }
        Map<String, Long> sizes = new HashMap<>();
        try {
            String prefix = RepositoryLayout.backupPrefix(target, newest.id());
            for (ObjectInfo o : ctx.storage().list(prefix)) {
                sizes.put(o.key().substring(o.key().lastIndexOf('/') + 1), o.size());
            }
        } catch (IOException e) {
            return new Check(
                    item, CheckState.FAILED, "newest backup " + newest.id() + " cannot be listed: " + e.getMessage());
        }
        List<String> wrong = new ArrayList<>();
        for (ArtifactInfo a : newest.artifacts()) {
            Long found = sizes.get(a.storedName());
            if (found == null) {
                wrong.add(a.storedName() + " is missing");
            } else if (found != a.storedSize()) {
                wrong.add(a.storedName() + " holds " + found + " bytes, the manifest says " + a.storedSize());
            } else if (!sizes.containsKey(a.storedName() + RepositoryLayout.SHA256_SUFFIX)) {
                wrong.add(a.storedName() + RepositoryLayout.SHA256_SUFFIX + " is missing");
            }
        }
        if (!wrong.isEmpty()) {
            return new Check(
                    item,
                    CheckState.FAILED,
                    "newest backup " + newest.id() + " is not readable: "
                            + String.join(", ", wrong.subList(0, Math.min(5, wrong.size())))
                            + (wrong.size() > 5 ? ", ..." : "") + "; run check to see what else is damaged");
        }
        return new Check(
                item,
                CheckState.PASSED,
                "newest backup " + newest.id() + ": manifest and "
                        + newest.artifacts().size() + " artifact(s) (" + ByteSizes.human(newest.storedSize())
                        + " stored) in the storage");
    }

    private Check size(List<BackupManifest> backups, BackupManifest newest) {
        ChecklistItem item = ChecklistItem.SIZE_REASONABLE;
        if (newest == null) {
            return new Check(item, CheckState.UNKNOWN, "no backup");
        }
        long size = newest.rawSize();
        if (size == 0) {
            return new Check(item, CheckState.FAILED, "newest backup " + newest.id() + " is empty (0 bytes)");
        }
        List<Long> earlier = new ArrayList<>();
        for (int i = backups.size() - 1; i >= 0 && earlier.size() < SIZE_WINDOW; i--) {
            BackupManifest m = backups.get(i);
            if (!m.id().equals(newest.id()) && sameKind(m, newest)) {
                earlier.add(m.rawSize());
            }
        }
        if (earlier.size() < SIZE_MIN_HISTORY) {
            return new Check(
                    item,
                    CheckState.PASSED,
                    "newest backup " + newest.id() + " holds " + ByteSizes.human(size) + " (too few earlier "
                            + newest.kind() + " backups to compare with)");
        }
        earlier.sort(Long::compare);
        int n = earlier.size();
        double median = n % 2 == 1 ? earlier.get(n / 2) : (earlier.get(n / 2 - 1) + earlier.get(n / 2)) / 2.0;
        double ratio = size / median;
        String figures = String.format(
                Locale.ROOT,
                "newest backup %s holds %s, %s the median %s of the %d %s backups before it",
                newest.id(),
                ByteSizes.human(size),
                ratio < 1
                        ? String.format(Locale.ROOT, "%.0f%% less than", (1 - ratio) * 100)
                        : String.format(Locale.ROOT, "%.1fx", ratio),
                ByteSizes.human((long) median),
                n,
                newest.kind());
        boolean off = ratio < SIZE_LOW || ratio > SIZE_HIGH;
        return new Check(item, off ? CheckState.FAILED : CheckState.PASSED, figures);
    }

    private static boolean sameKind(BackupManifest a, BackupManifest b) {
        return String.valueOf(a.kind()).equals(String.valueOf(b.kind()));
    }

    private Check encryption(BackupManifest newest) {
        ChecklistItem item = ChecklistItem.ENCRYPTION_WORKING;
        List<String> configured = ctx.codecs().recipients();
        if (newest == null) {
            return new Check(
                    item,
                    CheckState.UNKNOWN,
                    configured.isEmpty() ? "no backup; encryption is not configured" : "no backup");
        }
        Set<String> recipients = new LinkedHashSet<>();
        long clear = 0;
        for (ArtifactInfo a : newest.artifacts()) {
            if (a.recipients().isEmpty()) {
                clear++;
            }
            recipients.addAll(a.recipients());
        }
        if (clear > 0 && recipients.isEmpty() && configured.isEmpty()) {
            return new Check(item, CheckState.UNKNOWN, "backups are not encrypted and encryption is not configured");
        }
        if (clear > 0) {
            return new Check(
                    item,
                    CheckState.FAILED,
                    "newest backup " + newest.id() + " has " + clear + " of "
                            + newest.artifacts().size() + " artifact(s) not encrypted");
        }
        if (!recipients.containsAll(configured)) {
            List<String> missing = new ArrayList<>(configured);
            missing.removeAll(recipients);
            return new Check(
                    item,
                    CheckState.FAILED,
                    "newest backup " + newest.id() + " is encrypted to " + String.join(", ", recipients)
                            + " but not to the configured " + String.join(", ", missing));
        }
        return new Check(
                item,
                CheckState.PASSED,
                "newest backup " + newest.id() + " is encrypted to " + String.join(", ", recipients));
    }

    private Check recent(ChecklistItem item, VerificationLog.Name newest, RecoveryTest test, String extra) {
        String what = item == ChecklistItem.RESTORE_TEST_PASSING ? "restore test" : "verification";
        if (newest == null) {
            return new Check(item, CheckState.UNKNOWN, "no " + what + " yet");
        }
        String when = what + " at " + newest.at() + " (" + newest.level().name().toLowerCase(Locale.ROOT) + ")";
        if (!newest.passed()) {
            return new Check(item, CheckState.FAILED, "the newest " + when + " failed");
        }
        Duration every = schedule.every(test);
        Duration age = Duration.between(newest.at(), now);
        if (age.compareTo(every) > 0) {
            return new Check(
                    item,
                    CheckState.FAILED,
                    "the newest " + when + " passed " + days(age) + " ago; the " + test.title() + " is due every "
                            + days(every));
        }
        return new Check(item, CheckState.PASSED, "the newest " + when + " passed" + extra);
    }

    static String days(Duration d) {
        long hours = d.toHours();
        return hours >= 48 ? d.toDays() + " days" : hours >= 1 ? hours + " h" : d.toMinutes() + " min";
    }
}
