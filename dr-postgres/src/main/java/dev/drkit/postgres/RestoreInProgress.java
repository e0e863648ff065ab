package dev.drkit.postgres;

import dev.drkit.spi.support.Hosts;
import dev.drkit.spi.support.PrivateScratch;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The comment a logical restore puts on the database it creates until it has finished:
 * which backup, host and process. A database that still carries it after its process is
 * gone was left half-restored by a killed restore, and the next restore into it drops it.
 *
 * @param backupId  the backup being restored
 * @param host      the host the restoring process runs on
 * @param pid       the restoring process
 * @param start when that process started ({@link PrivateScratch#processStart()}; earlier
 *     markers give epoch ms), which tells a reused pid
 */
record RestoreInProgress(String backupId, String host, long pid, String start) {
    private static final String PREFIX = "drkit restore in progress: ";
    private static final Pattern FORMAT = Pattern.compile(
            Pattern.quote(PREFIX) + "backup (\\S+), host (\\S+), pid (\\d+), process start (\\d+|b[0-9a-f]{8}t\\d+)");

    /** The marker of a restore of {@code backupId} by this process. */
    static RestoreInProgress ofThisProcess(String backupId) {
        return new RestoreInProgress(
                backupId, Hosts.name(), ProcessHandle.current().pid(), PrivateScratch.processStart());
    }

    /** The marker in a database comment, if the comment is one. */
    static Optional<RestoreInProgress> parse(String comment) {
        if (comment == null) {
            return Optional.empty();
        }
        Matcher m = FORMAT.matcher(comment);
        return m.matches()
                ? Optional.of(new RestoreInProgress(m.group(1), m.group(2), Long.parseLong(m.group(3)), m.group(4)))
                : Optional.empty();
    }

    /** The comment text. */
    String comment() {
        return PREFIX + "backup " + backupId + ", host " + host + ", pid " + pid + ", process start " + start;
    }

    /** Whether the restoring process ran on this host and is gone, so that nothing finishes the database. */
    boolean abandoned() {
        return host.equals(Hosts.name()) && !PrivateScratch.alive(pid, start);
    }

    /** For messages: which process on which host. */
    String who() {
        return "drkit process " + pid + " on host " + host + " (restoring backup " + backupId + ")";
    }
}
