package dev.drkit;

import java.util.List;
import java.util.stream.Collectors;

/**
 * A copy copied what it could, but left out backups (of a copy of every backup) or archived
 * files (PostgreSQL WAL) whose stored data in the source repository is damaged or missing. What
 * was copied is complete in the destination; {@link #result()} says what was copied, and what
 * was left out and why. Run again, the copy skips what is there.
 */
public class CopyIncompleteException extends DrException {
    private static final long serialVersionUID = 1L;
    private static final int SHOWN = 5;

    private final transient CopyResult result;

    public CopyIncompleteException(String target, String source, CopyResult result) {
        super(ErrorCode.CORRUPT_DATA, message(target, source, result));
        this.result = result;
    }

    private static String message(String target, String source, CopyResult r) {
        StringBuilder b = new StringBuilder("the copy of " + target + " to " + r.destination()
                + " left out what is damaged or missing in " + source + ": ");
        if (!r.notCopied().isEmpty()) {
            b.append(r.notCopied().size()).append(" backup(s), ");
            list(b, r.notCopied());
        }
        if (!r.archiveFilesNotCopied().isEmpty()) {
            b.append(r.notCopied().isEmpty() ? "" : "; and ")
                    .append(r.archiveFilesNotCopied().size())
                    .append(" archived file(s), ");
            list(b, r.archiveFilesNotCopied());
        }
        return b.append(". The ")
                .append(r.copied().size())
                .append(" backup(s) copied and ")
                .append(r.skipped().size())
                .append(" already there are complete in the destination. Check the source repository with "
                        + "CheckOptions.readData to find every damaged object, and take a new backup")
                .toString();
    }

    /** The first few, each with its reason: hundreds would bury the message. */
    private static void list(StringBuilder b, List<CopyResult.NotCopied> left) {
        b.append(left.stream()
                .limit(SHOWN)
                .map(n -> n.id() + " (" + n.reason() + ")")
                .collect(Collectors.joining("; ")));
        if (left.size() > SHOWN) {
            b.append("; and ").append(left.size() - SHOWN).append(" more");
        }
    }

    /** What was copied and what was left out. */
    public CopyResult result() {
        return result;
    }
}
