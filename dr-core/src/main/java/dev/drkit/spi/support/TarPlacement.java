package dev.drkit.spi.support;

import dev.drkit.UnsafeArchiveException;
import dev.drkit.spi.support.TarEntryReader.Entry;
import dev.drkit.spi.support.TarEntryReader.Kind;
import java.io.IOException;

/**
 * Where an entry may go, given what already stands at its name and above it: the one rule set
 * of a restore (asked about the staged file system) and of a verify (asked about the entries
 * read so far). An entry may not sit below anything but a directory, may not replace an entry
 * of another kind (a directory, then a file, then a link all named {@code a} is the classic way
 * to turn deferred directory attributes against a file outside), and a hard link may only join
 * a regular file that is already there.
 */
public final class TarPlacement {
    private TarPlacement() {}

    /** What stands at a name. */
    public interface Existing {
        /**
         * {@link Kind#DIRECTORY}, {@link Kind#FILE} (regular files and hard links alike),
         * {@link Kind#SYMLINK}, {@link Kind#DEVICE} for anything else, or null when nothing is there.
         */
        Kind at(String name) throws IOException;
    }

    /** Refuses an entry that the rules above forbid. */
    public static void check(Entry e, Existing existing) throws IOException {
        checkParents(e.name(), e, existing);
        Kind there = existing.at(e.name());
        if (there != null && there != standing(e.kind())) {
            throw new UnsafeArchiveException("archive entry '" + TarEntryReader.printable(e.rawName())
                    + "' would replace an earlier " + describe(there) + " of the same name with a "
                    + describe(standing(e.kind())) + "; refusing the archive");
        }
        if (e.kind() == Kind.HARDLINK) {
            checkParents(e.link(), e, existing);
            if (existing.at(e.link()) != Kind.FILE) {
                throw new UnsafeArchiveException("hard link '" + TarEntryReader.printable(e.rawName()) + "' joins '"
                        + TarEntryReader.printable(e.link()) + "', which is not a regular file earlier in the "
                        + "archive; refusing the archive");
            }
        }
    }

    private static void checkParents(String name, Entry e, Existing existing) throws IOException {
        for (int i = name.indexOf('/'); i >= 0; i = name.indexOf('/', i + 1)) {
            String parent = name.substring(0, i);
            Kind k = existing.at(parent);
            if (k != null && k != Kind.DIRECTORY) {
                throw new UnsafeArchiveException("archive entry '" + TarEntryReader.printable(e.rawName())
                        + "' would be written through the " + describe(k) + " '" + TarEntryReader.printable(parent)
                        + "'; refusing to write outside the destination");
            }
        }
    }

    /** The kind an entry leaves on a file system: a hard link is a regular file there. */
    public static Kind standing(Kind kind) {
        return kind == Kind.HARDLINK ? Kind.FILE : kind;
    }

    private static String describe(Kind k) {
        return switch (k) {
            case DIRECTORY -> "directory";
            case FILE, HARDLINK -> "regular file";
            case SYMLINK -> "symbolic link";
            default -> "special file";
        };
    }
}
