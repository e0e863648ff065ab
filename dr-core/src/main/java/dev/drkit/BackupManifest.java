package dev.drkit;

import com.fasterxml.jackson.annotation.JsonInclude;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;

/**
 * The record of one complete backup, stored as {@code manifest.json} beside its artifacts
 * and written last: a backup without a manifest does not exist.
 *
 * <p>Immutable and thread-safe. {@code parent} is null for a backup that depends on no
 * other; {@code metadata} holds what the target recorded (server version, key counts, ...).
 *
 * @param format manifest format version, {@link #FORMAT}
 * @param id backup id, sortable by time
 * @param target the target's name (e.g. {@code config})
 * @param type the target's type (e.g. {@code files})
 * @param kind full, incremental, logical, ...
 * @param parent id of the backup this one builds on, or null
 * @param dependsOn ids of other backups a restore of this one needs (besides the parent)
 * @param startedAt when the backup started
 * @param finishedAt when the last artifact was committed
 * @param drkitVersion version of drkit that wrote it
 * @param host host name of the writer
 * @param artifacts every artifact, in the order the target produced them
 * @param metadata what the target recorded
 * @param lockedUntil until when the storage keeps the backup immutable (S3 Object Lock), or null
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record BackupManifest(
        int format,
        String id,
        String target,
        String type,
        String kind,
        String parent,
        List<String> dependsOn,
        Instant startedAt,
        Instant finishedAt,
        String drkitVersion,
        String host,
        List<ArtifactInfo> artifacts,
        Map<String, Object> metadata,
        Instant lockedUntil) {
    /**
     * Metadata key under which a target lists (as strings) what it found damaged in the source
     * while backing it up, such as database pages whose checksum fails; {@code DrKit.status}
     * reports the newest backup's list as a problem of its target.
     */
    public static final String SOURCE_CORRUPTION = "sourceCorruption";

    /**
     * Metadata key under which a target lists (as strings, the first 1000) the files it could
     * not store and left out, such as names that cannot be read as text;
     * {@code NAMES_LEFT_OUT + "Count"} holds how many. {@code DrKit.status} reports the newest
     * backup's as a problem of its target.
     */
    public static final String NAMES_LEFT_OUT = "namesLeftOut";

    /** As {@link #NAMES_LEFT_OUT}, for the objects of a bucket backup. */
    public static final String OBJECTS_LEFT_OUT = "objectsLeftOut";

    /**
     * Metadata key a target sets to {@code true} when its incremental chain has grown as long as
     * its policy allows: drkit then builds a synthetic full backup of the target right away
     * ({@link dev.drkit.spi.BackupContext#synthesize()}), so that restores stay short without
     * reading the source again.
     */
    public static final String SYNTHETIC_FULL_DUE = "syntheticFullDue";
    /** The manifest format this version writes; it reads 1 (before manifest checksums) and 2. */
    public static final int FORMAT = 2;

    /**
     * Metadata key of a backup stored in the deduplicated chunk store: a map with its
     * {@code chunks}, the {@code new-chunks} it stored (the others were stored already) and their
     * stored bytes, {@code new-bytes}: what the backup added to the repository.
     */
    public static final String DEDUP = "dedup";

    public BackupManifest {
        Objects.requireNonNull(id, "id");
        Objects.requireNonNull(target, "target");
        Objects.requireNonNull(type, "type");
        dependsOn = dependsOn == null ? List.of() : List.copyOf(dependsOn);
        artifacts = artifacts == null ? List.of() : List.copyOf(artifacts);
        metadata = metadata == null ? Map.of() : Collections.unmodifiableMap(new LinkedHashMap<>(metadata));
    }

    /** A manifest of a backup the storage does not lock. */
    public BackupManifest(
            int format,
            String id,
            String target,
            String type,
            String kind,
            String parent,
            List<String> dependsOn,
            Instant startedAt,
            Instant finishedAt,
            String drkitVersion,
            String host,
            List<ArtifactInfo> artifacts,
            Map<String, Object> metadata) {
        this(
                format,
                id,
                target,
                type,
                kind,
                parent,
                dependsOn,
                startedAt,
                finishedAt,
                drkitVersion,
                host,
                artifacts,
                metadata,
                null);
    }

    /** The artifact with this name. */
    public Optional<ArtifactInfo> artifact(String name) {
        return artifacts.stream().filter(a -> a.name().equals(name)).findFirst();
    }

    /**
     * What this manifest records that a restore of it needs besides itself: its parent, if any,
     * then {@link #dependsOn()}. A provider may know of more ({@code BackupTargetProvider.dependencies}).
     */
    public List<String> recordedDependencies() {
        List<String> deps = new ArrayList<>(dependsOn);
        if (parent != null) {
            deps.add(0, parent);
        }
        return deps;
    }

    /** Sum of the artifacts' raw (uncompressed) sizes. */
    public long rawSize() {
        return artifacts.stream().mapToLong(ArtifactInfo::rawSize).sum();
    }

    /** Sum of the artifacts' stored sizes. */
    public long storedSize() {
        return artifacts.stream().mapToLong(ArtifactInfo::storedSize).sum();
    }

    /** How long the backup took. */
    public Duration duration() {
        return Duration.between(startedAt, finishedAt);
    }
}
