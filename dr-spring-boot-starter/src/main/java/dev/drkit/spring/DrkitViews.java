package dev.drkit.spring;

import dev.drkit.BackupManifest;
import dev.drkit.BackupResult;
import dev.drkit.DrStatus;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** Status and backups as plain maps for Actuator's JSON, with times as ISO-8601 text. */
final class DrkitViews {
    private static final Logger LOG = LoggerFactory.getLogger(DrkitViews.class);

    private DrkitViews() {}

    static Map<String, Object> target(DrStatus.Target t) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("healthy", t.healthy());
        put(m, "newestBackupId", t.newestBackupId());
        put(m, "newestBackupAt", text(t.newestBackupAt()));
        put(m, "newestBackupAgeSeconds", t.newestBackupAgeSeconds());
        put(m, "rpoSeconds", t.rpoSeconds());
        put(m, "recoveryPointAt", text(t.recoveryPointAt()));
        m.put("rpoMet", t.rpoMet());
        put(m, "newestVerifiedId", t.newestVerifiedId());
        put(m, "newestVerifiedAt", text(t.newestVerifiedAt()));
        put(m, "newestVerifiedLevel", t.newestVerifiedLevel());
        put(m, "lastRestoreTestSeconds", t.lastRestoreTestSeconds());
        put(m, "rtoSeconds", t.rtoSeconds());
        m.put("rtoMet", t.rtoMet());
        m.put("problems", t.problems());
        m.put(
                "checklist",
                t.checklist().stream()
                        .map(c -> Map.of(
                                "item",
                                c.item().title(),
                                "state",
                                c.state().name().toLowerCase(Locale.ROOT),
                                "detail",
                                c.detail()))
                        .toList());
        return m;
    }

    static Map<String, Object> scheduled(DrStatus.ScheduledTest t) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("test", t.test().key());
        m.put("every", t.every().toString());
        put(m, "lastExecuted", text(t.lastExecuted()));
        put(m, "lastPassed", t.lastPassed());
        put(m, "lastDetail", t.lastDetail());
        m.put("nextDue", text(t.nextDue()));
        m.put("overdue", t.overdue());
        return m;
    }

    static Map<String, Object> backup(BackupManifest b) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("id", b.id());
        m.put("target", b.target());
        m.put("type", b.type());
        put(m, "kind", b.kind());
        put(m, "parent", b.parent());
        m.put("startedAt", text(b.startedAt()));
        m.put("finishedAt", text(b.finishedAt()));
        m.put("rawBytes", b.rawSize());
        m.put("storedBytes", b.storedSize());
        BackupResult r = new BackupResult(b);
        if (r.incomplete()) {
            m.put("incompleteFiles", r.incompleteFileCount());
        }
        return m;
    }

    /**
     * What to show for a failure that is not drkit's own (a storage client's, say): its message may
     * name classes or hold what should not leave the application, so it goes to the log only.
     */
    static String unexpected(String doing, RuntimeException e) {
        LOG.warn("drkit: {} failed unexpectedly", doing, e);
        return doing + " failed unexpectedly; the application's log has the details";
    }

    private static void put(Map<String, Object> m, String key, Object value) {
        if (value != null) {
            m.put(key, value);
        }
    }

    private static String text(Instant at) {
        return at == null ? null : at.toString();
    }
}
