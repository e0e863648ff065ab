package dev.drkit;

import java.util.stream.Collectors;

/**
 * A copy of every backup of a target copied what it could, but some backups could not be
 * copied: their stored data in the source repository is damaged or missing. The backups
 * copied and the archived files they need are in the destination, complete; {@link #result()}
 * says which, and which were left out and why. Run again, the copy skips what is there.
 */
public class CopyIncompleteException extends DrException {
    private static final long serialVersionUID = 1L;

    private final transient CopyResult result;

    public CopyIncompleteException(String target, String source, CopyResult result) {
        super(ErrorCode.CORRUPT_DATA, message(target, source, result));
        this.result = result;
    }

    private static String message(String target, String source, CopyResult r) {
        return r.notCopied().size() + " backup(s) of " + target + " could not be copied to " + r.destination()
                + " because their data in " + source + " is damaged or missing: "
                + r.notCopied().stream()
                        .map(n -> n.id() + " (" + n.reason() + ")")
                        .collect(Collectors.joining("; "))
                + ". The other " + r.copied().size() + " copied and "
                + r.skipped().size()
                + " already there are complete in the destination. Check the source repository with "
                + "CheckOptions.readData to find every damaged object, and take a new backup";
    }

    /** What was copied and what was left out. */
    public CopyResult result() {
        return result;
    }
}
