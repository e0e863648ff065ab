package dev.drkit.internal.repo;

import com.fasterxml.jackson.core.JacksonException;
import dev.drkit.VerifyLevel;
import dev.drkit.VerifyReport;
import dev.drkit.spi.ObjectInfo;
import dev.drkit.spi.StorageBackend;
import dev.drkit.spi.support.Json;
import java.io.IOException;
import java.io.InputStream;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.function.Predicate;

/**
 * The record of verifications, kept in the repository so that every instance and
 * {@code drkit status} see them: one write-once object per verification under
 * {@code status/<target>/verify/}, named {@code <time>-<backup id>-<level>-<passed|failed>.json}
 * so that the newest outcomes are found from a listing alone.
 */
public final class VerificationLog {
    private static final DateTimeFormatter TIME =
            DateTimeFormatter.ofPattern("yyyyMMdd'T'HHmmssSSS'Z'").withZone(ZoneOffset.UTC);

    private final StorageBackend storage;

    public VerificationLog(StorageBackend storage) {
        this.storage = storage;
    }

    /**
     * One verification.
     *
     * @param backupId the backup verified
     * @param level the level asked for
     * @param passed whether it passed
     * @param at when it finished
     * @param seconds how long it took
     * @param restoreSeconds for a restore test, the time to a validated restore (the measured RTO), else null
     * @param problems what failed
     */
    public record Entry(
            String backupId,
            VerifyLevel level,
            boolean passed,
            Instant at,
            double seconds,
            Double restoreSeconds,
            List<String> problems) {}

    /**
     * The time to a validated restore a verification measured, as recorded and as status shows it: what a
     * verifier reported as {@code restoreSeconds}, else for a passed restore-level verification its duration.
     *
     * @param seconds how long the verification took
     * @return the seconds, or null when the verification measured none
     */
    public static Double restoreSeconds(VerifyReport report, double seconds) {
        Double restore = report.results().stream()
                .map(r -> r.details().get("restoreSeconds"))
                .filter(v -> v instanceof Number)
                .map(v -> ((Number) v).doubleValue())
                .findFirst()
                .orElse(null);
        if (restore == null && report.level() == VerifyLevel.RESTORE && report.passed()) {
            restore = seconds;
        }
        return restore;
    }

    /** Records a verification; write-once, so records are never rewritten. */
    public void record(VerifyReport report, Instant at, double seconds) throws IOException {
        Double restore = restoreSeconds(report, seconds);
        Entry e =
                new Entry(report.backupId(), report.level(), report.passed(), at, seconds, restore, report.problems());
        String name = TIME.format(at) + "-" + report.backupId() + "-"
                + report.level().name().toLowerCase() + "-" + (report.passed() ? "passed" : "failed") + ".json";
        storage.createIfAbsent(prefix(report.target()) + name, Json.write(e));
    }

    /**
     * What a record's name tells without reading it.
     *
     * @param name the object name
     * @param at when the verification finished
     * @param backupId the backup verified
     * @param level the level
     * @param passed whether it passed
     */
    public record Name(String name, Instant at, String backupId, VerifyLevel level, boolean passed) {
        /** Parses a record name; empty for a name this log does not write. */
        public static Optional<Name> parse(String name) {
            if (name.length() < 20 || !name.endsWith(".json")) {
                return Optional.empty();
            }
            String stem = name.substring(0, name.length() - ".json".length());
            boolean passed = stem.endsWith("-passed");
            if (!passed && !stem.endsWith("-failed")) {
                return Optional.empty();
            }
            stem = stem.substring(0, stem.length() - "-passed".length());
            int dash = stem.lastIndexOf('-');
            if (dash <= 20) {
                return Optional.empty();
            }
            try {
                Instant at = Instant.from(TIME.parse(name.substring(0, 19)));
                VerifyLevel level = VerifyLevel.valueOf(stem.substring(dash + 1).toUpperCase(Locale.ROOT));
                return Optional.of(new Name(name, at, stem.substring(20, dash), level, passed));
            } catch (RuntimeException e) {
                return Optional.empty();
            }
        }
    }

    /** The newest entries first, optionally only those of one level and outcome. */
    public List<String> names(String target) throws IOException {
        return storage.list(prefix(target)).stream()
                .map(ObjectInfo::key)
                .map(k -> k.substring(k.lastIndexOf('/') + 1))
                .filter(n -> n.endsWith(".json"))
                .sorted(Comparator.reverseOrder())
                .toList();
    }

    /** The newest entry whose name matches, read in full. */
    public Optional<Entry> newest(String target, Predicate<String> name) throws IOException {
        for (String n : names(target)) {
            if (name.test(n)) {
                return Optional.of(read(target, n));
            }
        }
        return Optional.empty();
    }

    /** One entry by its name (from {@link #names}). */
    public Entry read(String target, String name) throws IOException {
        try (InputStream in = storage.open(prefix(target) + name, 0)) {
            Entry e = Json.read(in.readNBytes(Repository.MAX_SMALL), Entry.class);
            if (e.backupId() == null || e.level() == null || e.at() == null) {
                throw new IOException(
                        "the verification record " + name + " lacks its backup, level or time; remove it");
            }
            return e;
        } catch (JacksonException e) {
            throw new IOException("the verification record " + name + " is damaged; remove it", e);
        }
    }

    private static String prefix(String target) {
        return "status/" + target + "/verify/";
    }
}
