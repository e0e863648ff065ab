package dev.drkit.redis;

import dev.drkit.BackupManifest;
import dev.drkit.BackupNotFoundException;
import dev.drkit.ConfigException;
import dev.drkit.DrException;
import dev.drkit.Settings;
import dev.drkit.spi.BackupContext;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * An incremental Redis backup (setting {@code incremental}): the snapshot streams from the
 * server into a {@link KeyDelta} against the state of the previous backup, whose entry
 * identities are read from the repository first (up to 48 bytes of memory per key).
 */
final class KeyDeltaBackup {
    private static final Logger LOG = LoggerFactory.getLogger(KeyDeltaBackup.class);
    /** Deltas after a full snapshot before the next full one, by default: a day of hourly backups. */
    static final int DEFAULT_MAX_CHAIN = 24;
    /** Heap a delta's comparison takes per key of the previous state, at most. */
    static final int BYTES_PER_KEY = 48;
    /** Metadata: entries the deltas since the last full snapshot stored or dropped, together. */
    static final String CHURN = "chainChanges";

    /** The delta cannot be taken (the server's RDB version went down); a full snapshot is. */
    static final class FullNeeded extends IOException {
        FullNeeded(String message) {
            super(message);
        }
    }

    private final BackupContext context;
    private final BackupManifest previous;
    private final long maxKeys;

    private KeyDeltaBackup(BackupContext context, BackupManifest previous, long maxKeys) {
        this.context = context;
        this.previous = previous;
        this.maxKeys = maxKeys;
    }

    /** The delta to take, or empty when this backup takes a full snapshot (saying why in the log). */
    static Optional<KeyDeltaBackup> against(BackupContext context, Settings settings) {
        if (!settings.bool("incremental", false)) {
            return Optional.empty();
        }
        Optional<BackupManifest> last = context.previous();
        if (last.isEmpty()) {
            LOG.info("{}: no earlier backup to build on; this one takes a full snapshot", context.targetName());
            return Optional.empty();
        }
        BackupManifest p = last.get();
        boolean snapshot = "rdb".equals(p.metadata().get("mode"))
                && !RedisClusterManifest.isCluster(p)
                && (KeyDelta.isDelta(p) || p.artifact(RedisTarget.ARTIFACT).isPresent());
        if (!snapshot) {
            LOG.info(
                    "{}: backup {} is not an RDB snapshot; this one takes a full snapshot",
                    context.targetName(),
                    p.id());
            return Optional.empty();
        }
        if (p.metadata().get("moduleAux") instanceof Number n && n.longValue() > 0) {
            LOG.info(
                    "{}: backup {} holds {}; this one takes a full snapshot",
                    context.targetName(),
                    p.id(),
                    KeyDelta.MODULE_AUX);
            return Optional.empty();
        }
        int length = KeyDelta.isDelta(p) ? KeyDelta.chain(p).size() : 0;
        int maxChain = settings.integer("max-chain", DEFAULT_MAX_CHAIN);
        if (maxChain < 1 || maxChain > KeyDelta.MAX_CHAIN) {
            throw new ConfigException(
                    "redis: setting 'max-chain' must be 1 to " + KeyDelta.MAX_CHAIN + ", not " + maxChain);
        }
        if (length >= maxChain) {
            LOG.info(
                    "{}: {} deltas follow the last full snapshot (setting 'max-chain' is {}); this backup takes a "
                            + "full snapshot",
                    context.targetName(),
                    length,
                    maxChain);
            return Optional.empty();
        }
        long maxKeys = Math.min(
                KeyDelta.MAX_KEYS,
                settings.has("max-delta-keys")
                        ? settings.integer("max-delta-keys", 0)
                        : Math.max(1_000_000, Runtime.getRuntime().maxMemory() / 4 / BYTES_PER_KEY));
        long keys = p.metadata().get("keys") instanceof Number n ? n.longValue() : -1;
        long churn = p.metadata().get(CHURN) instanceof Number n ? n.longValue() : 0;
        if (KeyDelta.isDelta(p) && churn > keys) {
            LOG.info(
                    "{}: the deltas since the last full snapshot changed {} entries, more than the {} it holds (a "
                            + "restore would hold them all in memory); this backup takes a full snapshot",
                    context.targetName(),
                    churn,
                    keys);
            return Optional.empty();
        }
        if (keys > maxKeys) {
            context.warn("redis: backup " + p.id() + " holds " + keys + " keys, more than a key-level delta compares "
                    + "in memory (setting 'max-delta-keys', " + maxKeys + "; up to " + BYTES_PER_KEY + " bytes of heap "
                    + "per key); this backup takes a full snapshot");
            return Optional.empty();
        }
        return Optional.of(new KeyDeltaBackup(context, p, maxKeys));
    }

    /** Reads the previous state's identities, then takes the snapshot as a delta against them. */
    ReplicationSnapshot.Result take(RedisEndpoint endpoint) throws IOException {
        long t0 = System.nanoTime();
        KeyDelta.Artifacts artifacts = (id, name) -> context.openArtifact(
                context.earlier(id)
                        .orElseThrow(() -> new BackupNotFoundException("backup " + id + ", which backup "
                                + previous.id() + " builds on, is not in the catalog")),
                name);
        KeyDelta.IdSet before;
        try {
            before = KeyDelta.identities(previous, artifacts, maxKeys);
        } catch (DrException e) {
            if (e instanceof SnapshotRefusedException) {
                throw e;
            }
            // a damaged or missing backup of the chain must not fail every later backup too
            throw new FullNeeded("the state of backup " + previous.id() + " cannot be read to compare with ("
                    + e.getMessage() + ")");
        }
        int beforeVersion = previous.metadata().get("rdbVersion") instanceof Number n ? n.intValue() : 0;
        long read = System.nanoTime();
        KeyDelta.Diff diff = new KeyDelta.Diff(before, beforeVersion, () -> context.newArtifact(KeyDelta.ARTIFACT));
        ReplicationSnapshot.Result r;
        try {
            r = ReplicationSnapshot.take(endpoint, null, diff);
        } catch (KeyDelta.Diff.VersionWentDown e) {
            throw new FullNeeded(endpoint + ": " + e.getMessage());
        } catch (KeyDelta.Diff.ModuleAuxData e) {
            context.discardArtifact(KeyDelta.ARTIFACT); // begun: dropped, the full snapshot is the backup
            throw new FullNeeded(endpoint + ": " + e.getMessage());
        }
        diff.finish();
        List<String> chain = new ArrayList<>(KeyDelta.isDelta(previous) ? KeyDelta.chain(previous) : List.of());
        chain.add(previous.id());
        context.kind("incremental");
        context.parent(previous.id());
        chain.stream().filter(id -> !id.equals(previous.id())).forEach(context::dependsOn);
        context.metadata("snapshot", KeyDelta.KIND);
        context.metadata(KeyDelta.CHAIN, chain);
        context.metadata("chainLength", chain.size());
        context.metadata(KeyDelta.DIGEST, diff.digest());
        context.metadata("changedKeys", diff.changed());
        context.metadata("removedKeys", diff.removed());
        long churn = previous.metadata().get(CHURN) instanceof Number n ? n.longValue() : 0;
        context.metadata(CHURN, churn + diff.changed() + diff.removed()); // a full snapshot records none
        LOG.info(
                "{}: key-level delta against backup {}: {} of {} entries stored, {} gone ({} ms reading the "
                        + "previous state)",
                context.targetName(),
                previous.id(),
                diff.changed(),
                diff.entries(),
                diff.removed(),
                (read - t0) / 1_000_000);
        return r;
    }
}
