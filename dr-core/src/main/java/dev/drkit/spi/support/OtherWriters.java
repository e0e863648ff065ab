package dev.drkit.spi.support;

import java.io.IOException;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.LinkedHashSet;
import java.util.List;
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
    /** As Linux's limit on links followed in one resolution. */
    private static final int MAX_LINKS = 40;

    private OtherWriters() {}

    /**
     * The first directory on the way to {@code path} that another user may change, and why, or
     * empty when there is none: every existing directory from {@code path} (or its nearest
     * existing ancestor) up to the root, both as written and as its links resolve (and the
     * directories holding those links); or the sticky directory others may write in which the
     * restore would make directories above the destination.
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
        dirs.addAll(traversed(existing));
        for (Path dir : dirs) {
            if (!Files.isDirectory(dir)) {
                continue; // a file or a link as the destination's last name: its directory is checked
            }
            long owner = ((Number) Files.getAttribute(dir, "unix:uid")).longValue();
            int mode = (Integer) Files.getAttribute(dir, "unix:mode");
            if (owner != me && owner != 0) {
                return Optional.of(dir + " belongs to another user (uid " + owner + ")");
            }
            boolean othersWrite = (mode & 0002) != 0
                    || (mode & 0020) != 0
                            && !privateGroup(((Number) Files.getAttribute(dir, "unix:gid")).longValue(), owner);
            if (othersWrite && (mode & STICKY) == 0) {
                return Optional.of(dir + " may be written by " + ((mode & 0002) != 0 ? "every user" : "its group")
                        + " (mode " + Integer.toOctalString(mode & 07777) + ", without the sticky bit)");
            }
        }
        if (!existing.equals(abs) && !existing.equals(abs.getParent()) && Files.isDirectory(existing)) {
            // the restore makes the missing directories above the destination by path: in a sticky
            // directory others may write, another user may make the first one, his, before it does
            int mode = (Integer) Files.getAttribute(existing, "unix:mode");
            if ((mode & GROUP_OR_OTHER_WRITE) != 0) {
                return Optional.of(existing.resolve(abs.getName(existing.getNameCount())) + " does not exist and "
                        + "would be made in " + existing + ", where other users may make it first (mode "
                        + Integer.toOctalString(mode & 07777) + ")");
            }
        }
        return Optional.empty();
    }

    /**
     * Whether {@code gid} is the private group of {@code owner} (Debian's and Ubuntu's user
     * private groups, under which users make their directories group-writable, mode 775): no
     * other user has it as primary group ({@code /etc/passwd}) and it lists no member but the
     * owner ({@code /etc/group}). A group found in neither file (another name service) is not.
     */
    static boolean privateGroup(long gid, long owner) {
        return privateGroup(gid, owner, Path.of("/etc/passwd"), Path.of("/etc/group"));
    }

    static boolean privateGroup(long gid, long owner, Path passwd, Path group) {
        String ownerName = null;
        boolean listed = false;
        try {
            for (String line : Files.readAllLines(passwd)) {
                String[] f = line.split(":", -1);
                if (f.length < 4) {
                    continue;
                }
                if (f[2].equals(Long.toString(owner))) {
                    ownerName = f[0];
                } else if (f[3].equals(Long.toString(gid))) {
                    return false; // another user's primary group too
                }
            }
            for (String line : Files.readAllLines(group)) {
                String[] f = line.split(":", -1);
                if (f.length < 4 || !f[2].equals(Long.toString(gid))) {
                    continue;
                }
                listed = true;
                for (String member : f[3].split(",")) {
                    if (!member.isEmpty() && !member.equals(ownerName)) {
                        return false;
                    }
                }
            }
        } catch (IOException | RuntimeException e) {
            return false; // what cannot be read is no proof
        }
        return listed;
    }

    /**
     * Every directory the system passes through to resolve {@code path}: those it names and those
     * its links name, each link read in turn (a link reached through another one sits in a
     * directory of its own, which may be another user's), up to where the path ends or stops
     * existing.
     */
    private static Set<Path> traversed(Path path) throws IOException {
        Set<Path> dirs = new LinkedHashSet<>();
        Deque<Path> rest = new ArrayDeque<>();
        path.forEach(rest::add);
        Path at = path.getRoot();
        dirs.add(at);
        int links = 0;
        while (!rest.isEmpty()) {
            String name = rest.pop().toString();
            if (name.equals(".")) {
                continue;
            }
            if (name.equals("..")) {
                at = at.getParent() == null ? at : at.getParent(); // at holds no link: its parent is the real one
                continue;
            }
            Path next = at.resolve(name);
            if (Files.isSymbolicLink(next)) {
                if (++links > MAX_LINKS) {
                    throw new FileSystemException(path.toString(), null, "too many levels of symbolic links");
                }
                Path target = Files.readSymbolicLink(next);
                List<Path> names = new ArrayList<>();
                target.forEach(names::add);
                for (int i = names.size() - 1; i >= 0; i--) {
                    rest.push(names.get(i));
                }
                if (target.isAbsolute()) {
                    at = target.getRoot();
                }
            } else if (Files.isDirectory(next, LinkOption.NOFOLLOW_LINKS)) {
                at = next;
                dirs.add(at);
            } else {
                break; // missing, or a file: the restore makes or refuses it
            }
        }
        return dirs;
    }
}
