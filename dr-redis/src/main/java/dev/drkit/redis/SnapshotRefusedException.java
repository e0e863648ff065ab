package dev.drkit.redis;

import dev.drkit.DrException;
import java.util.List;
import java.util.Locale;

/**
 * A server forbids the replication commands a snapshot needs: renamed away ({@code rename-command
 * PSYNC ""}), denied by ACL ({@code -psync}), or disabled by a managed service. Keys mode still
 * works there, so a snapshot backup may fall back to it.
 */
final class SnapshotRefusedException extends DrException {
    private static final long serialVersionUID = 1L;

    /** What servers answer when a command is forbidden rather than failing for a passing reason. */
    private static final List<String> FORBIDDING = List.of(
            "unknown command", "not allowed", "disabled", "not supported", "unsupported", "forbidden", "permission");

    private final String reason;

    SnapshotRefusedException(String message, String reason) {
        super(ErrorCode.TARGET, message);
        this.reason = reason;
    }

    /** Whether an error reply ({@code -...}) says the command is forbidden here. */
    static boolean forbids(String reply) {
        if (reply.startsWith("-NOPERM")) {
            return true;
        }
        String lower = reply.toLowerCase(Locale.ROOT);
        return reply.startsWith("-") && FORBIDDING.stream().anyMatch(lower::contains);
    }

    /**
     * The failure to report when the refusing server is a Redis Cluster node: keys mode would back
     * up one node's keys only, so a cluster never falls back to it.
     */
    DrException onClusterNode(String node) {
        return new DrException(
                ErrorCode.TARGET,
                getMessage() + "; " + node + " is a Redis Cluster node, and a cluster is backed up from every shard's "
                        + "snapshot only (setting 'keys-fallback' does not apply: keys mode would miss the other "
                        + "shards); allow SYNC and PSYNC for the backup user (ACL +sync +psync) on every node, and "
                        + "back up with setting 'cluster' true");
    }

    /** The command and the server's answer, e.g. {@code PSYNC: ERR unknown command 'PSYNC'}; no secrets. */
    String reason() {
        return reason;
    }
}
