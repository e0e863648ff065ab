package dev.drkit.spi;

import dev.drkit.BackupManifest;
import dev.drkit.RetentionPlan;
import java.time.Clock;
import java.util.List;

/**
 * Decides which backups of one target to keep. A pure function of the backups and the
 * clock: it deletes nothing itself, and drkit adds the dependencies of kept backups before
 * anything is expired. Implementations are immutable and thread-safe.
 */
public interface RetentionPolicy {

    /** A short human description, e.g. {@code keep-daily 7, keep-weekly 4}. */
    String describe();

    /**
     * Plans retention.
     *
     * @param backups the complete backups of one target, in any order
     * @param clock the current time, for rules relative to now and future-dated backups
     * @return a decision with reasons for every backup given
     */
    RetentionPlan plan(List<BackupManifest> backups, Clock clock);
}
