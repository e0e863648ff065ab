package dev.drkit.spi.support;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.LinkedHashSet;
import java.util.Optional;
import java.util.Set;

/**
 * Whether another user could redirect what this process writes under a path: a restore builds
 * its tree by path under its destination, so whoever may rename or replace a directory on the way
 * (the destination, or any directory above it) can swap in a link and send the restore's writes,
 * as this process's user (often root), wherever the link points. A directory is safe when it
 * belongs to this user or to root and neither its group nor others may write in it, or only
 * with the sticky bit set (as {@code /tmp}: others may not rename what they do not own). The
 * same rule OpenSSH applies to the files it trusts. Stateless.
 */
public final class OtherWriters {
    private static final int GROUP_OR_OTHER_WRITE = 0022;
    private static final int STICKY = 01000;

    private OtherWriters() {}

    /**
     * The first directory on the way to {@code path} that another user may change, and why, or
     * empty when there is none: every existing directory from {@code path} (or its nearest
     * existing ancestor) up to the root, both as written and as its links resolve.
     */
    public static Optional<String> on(Path path) throws IOException {
        long me = PrivateScratch.currentUid();
        Path abs = path.toAbsolutePath().normalize();
        Path existing = abs;
        while (existing != null && !Files.exists(existing, LinkOption.NOFOLLOW_LINKS)) {
            existing = existing.getParent();
        }
        if (existing == null) {
            return Optional.empty();
        }
        Set<Path> dirs = new LinkedHashSet<>();
        for (Path p = existing; p != null; p = p.getParent()) {
            dirs.add(p);
        }
        try {
            for (Path p = existing.toRealPath(); p != null; p = p.getParent()) {
                dirs.add(p);
            }
        } catch (NoSuchFileException e) {
            // a link that leads nowhere: the restore fails on it anyway
        }
        for (Path dir : dirs) {
            if (!Files.isDirectory(dir)) {
                continue; // a file or a link as the destination's last name: its directory is checked
            }
            long owner = ((Number) Files.getAttribute(dir, "unix:uid")).longValue();
            int mode = (Integer) Files.getAttribute(dir, "unix:mode");
            if (owner != me && owner != 0) {
                return Optional.of(dir + " belongs to another user (uid " + owner + ")");
            }
            if ((mode & GROUP_OR_OTHER_WRITE) != 0 && (mode & STICKY) == 0) {
                return Optional.of(dir + " may be written by " + ((mode & 0002) != 0 ? "every user" : "its group")
                        + " (mode " + Integer.toOctalString(mode & 07777) + ", without the sticky bit)");
            }
        }
        return Optional.empty();
    }
}
