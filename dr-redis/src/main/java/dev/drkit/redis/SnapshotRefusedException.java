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

    /** The command and the server's answer, e.g. {@code PSYNC: ERR unknown command 'PSYNC'}; no secrets. */
    String reason() {
        return reason;
    }
}
