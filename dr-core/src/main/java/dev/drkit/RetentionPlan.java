package dev.drkit;

import java.time.Instant;
import java.util.List;

/**
 * A retention decision for every backup of a target, newest first.
 *
 * @param policy the policy's description
 * @param decisions one per backup
 */
public record RetentionPlan(String policy, List<Decision> decisions) {

    public RetentionPlan {
        decisions = List.copyOf(decisions);
    }

    /**
     * The decision for one backup.
     *
     * @param backupId the backup
     * @param time when it was taken
     * @param keep whether it is kept
     * @param reasons why it is kept (e.g. {@code daily snapshot 3/7}) or expired
     */
    public record Decision(String backupId, Instant time, boolean keep, List<String> reasons) {
        public Decision {
            reasons = List.copyOf(reasons);
        }
    }

    public List<Decision> kept() {
        return decisions.stream().filter(Decision::keep).toList();
    }

    public List<Decision> expired() {
        return decisions.stream().filter(d -> !d.keep()).toList();
    }
}
