package dev.drkit.postgres;

import dev.drkit.ConfigException;
import dev.drkit.DestinationNotEmptyException;
import dev.drkit.DrException;
import dev.drkit.DrException.ErrorCode;
import dev.drkit.spi.support.FileTrees;
import dev.drkit.spi.support.TarExtractor;
import java.io.IOException;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFileAttributeView;
import java.nio.file.attribute.PosixFileAttributes;
import java.nio.file.attribute.UserPrincipal;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One directory a physical restore fills (the data directory, a tablespace's location): built
 * in a private staging directory on the destination's own file system, then put in place with
 * renames only, what stood there moved aside first and removed only once the new tree is in.
 *
 * <p>A destination that does not exist yet is built beside it and renamed into place. One that
 * is a directory (an empty mounted volume, the usual way a data directory is provisioned, or an
 * existing cluster a forced restore replaces) is built inside it: a rename out of a mount point
 * or across file systems cannot work, and the directory itself (the mount point) stays. Its
 * entries are then swapped one by one; {@code PG_VERSION} and {@code global} go last, so that a
 * restore killed half way leaves no directory PostgreSQL takes for a cluster. Not thread-safe.
 */
final class StagedDirectory {
    private static final Logger LOG = LoggerFactory.getLogger(StagedDirectory.class);
    /** The entries moved in last: without them PostgreSQL starts no cluster from a half-placed tree. */
    private static final List<String> LAST = List.of("global", "PG_VERSION");

    private final Path dest;
    private final Path staging;
    private final boolean inside;
    /** What the destination is, for messages: "the data directory", "tablespace 16400's location". */
    private final String what;
    /** Where what stood at the destination was moved; null until then. */
    private Path aside;
    /** Renames done so far, to undo in reverse order when a later one fails: {from, to}. */
    private final List<Path[]> moves = new ArrayList<>();

    private StagedDirectory(Path dest, Path staging, boolean inside, String what) {
        this.dest = dest;
        this.staging = staging;
        this.inside = inside;
        this.what = what;
    }

    /**
     * Makes the staging directory for {@code dest} (absolute, not a link): inside it when it is a
     * directory, beside it otherwise.
     */
    static StagedDirectory create(Path dest, String what) throws IOException {
        return create(dest, what, PgProcesses.root());
    }

    /**
     * {@link #create(Path, String)}, run as root or not: a restore not run as root cannot give a
     * directory that belongs to another user to the cluster's owner (itself), so such a
     * destination is refused before anything is restored rather than when the tree is placed.
     */
    static StagedDirectory create(Path dest, String what, boolean root) throws IOException {
        Path abs = dest.toAbsolutePath();
        boolean inside = Files.isDirectory(abs, LinkOption.NOFOLLOW_LINKS);
        Path staging = inside ? TarExtractor.newStagingIn(abs) : TarExtractor.newStaging(abs);
        if (inside && !root) {
            UserPrincipal owner = Files.getOwner(abs, LinkOption.NOFOLLOW_LINKS);
            UserPrincipal self = Files.getOwner(staging, LinkOption.NOFOLLOW_LINKS);
            if (!owner.equals(self)) {
                FileTrees.delete(staging);
                throw new ConfigException(what + " " + abs + " belongs to user " + owner.getName() + ", and a "
                        + "restore run as " + self.getName() + " cannot give it to the cluster's owner (PostgreSQL "
                        + "runs only on a directory of its own user): restore as " + owner.getName() + ", or as "
                        + "root (with setting 'cluster-owner'), or into a new directory");
            }
        }
        return new StagedDirectory(abs, staging, inside, what);
    }

    Path dest() {
        return dest;
    }

    /** Where the tree is built. */
    Path staging() {
        return staging;
    }

    /**
     * Whether {@code dir} holds anything but the staging directories of restores (a restore's
     * own, one still running, one a killed restore left): that is data a restore replaces only
     * when forced. False for a path that is no directory.
     */
    static boolean holdsData(Path dir) throws IOException {
        if (!Files.isDirectory(dir, LinkOption.NOFOLLOW_LINKS)) {
            return false;
        }
        try (Stream<Path> s = Files.list(dir)) {
            return s.anyMatch(p -> !TarExtractor.isStaging(p));
        }
    }

    /**
     * Refuses, before anything is moved, a destination that was filled while the restore ran
     * (or, built beside, replaced by something that is not an empty directory) unless forced:
     * the check at the start does not cover what was put there meanwhile.
     */
    void checkStillFree(boolean force) throws IOException {
        if (force) {
            return;
        }
        boolean taken =
                inside ? holdsData(dest) : Files.exists(dest, LinkOption.NOFOLLOW_LINKS) && !isEmptyDirectory(dest);
        if (taken) {
            throw new DestinationNotEmptyException(what + " " + dest + " was filled while the restore ran; nothing "
                    + "of it was changed: restore into a new directory, or with RestoreRequest.force to replace it");
        }
    }

    /** Moves what stands at the destination aside (renames on its own file system; nothing is deleted yet). */
    void moveAside() throws IOException {
        if (!inside) {
            if (Files.exists(dest, LinkOption.NOFOLLOW_LINKS)) {
                aside = TarExtractor.newStaging(dest);
                Files.delete(aside); // only its unique name is wanted
                rename(dest, aside);
            }
            return;
        }
        aside = TarExtractor.newStagingIn(dest);
        try (Stream<Path> s = Files.list(dest)) {
            for (Path p : s.filter(p -> !TarExtractor.isStaging(p)).sorted().toList()) {
                rename(p, aside.resolve(p.getFileName().toString()));
            }
        }
    }

    /** Moves the staged tree in; inside a directory, the directory takes the staged tree's owner and mode too. */
    void moveIn() throws IOException {
        if (!inside) {
            rename(staging, dest);
            return;
        }
        List<Path> entries;
        try (Stream<Path> s = Files.list(staging)) {
            entries = s.sorted(Comparator.comparing(
                                    (Path p) -> LAST.indexOf(p.getFileName().toString()))
                            .thenComparing(Comparator.naturalOrder()))
                    .toList();
        }
        for (Path p : entries) {
            rename(p, dest.resolve(p.getFileName().toString()));
        }
        PosixFileAttributes a = Files.readAttributes(staging, PosixFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
        PosixFileAttributeView view =
                Files.getFileAttributeView(dest, PosixFileAttributeView.class, LinkOption.NOFOLLOW_LINKS);
        PosixFileAttributes now = view.readAttributes();
        if (!now.owner().equals(a.owner())) {
            view.setOwner(a.owner()); // as root: the cluster's owner, which giveToClusterOwner set on the staging
        }
        if (!now.group().equals(a.group())) {
            view.setGroup(a.group());
        }
        view.setPermissions(a.permissions()); // PostgreSQL refuses a data directory others may read
    }

    /** Undoes the renames done so far, newest first; what cannot be undone is logged (the failure is reported). */
    void rollBack() {
        for (int i = moves.size() - 1; i >= 0; i--) {
            Path[] m = moves.get(i);
            try {
                Files.move(m[1], m[0], StandardCopyOption.ATOMIC_MOVE);
            } catch (IOException e) {
                LOG.error("could not move {} back to {} after a failed restore: {}", m[1], m[0], e.toString());
            }
        }
        moves.clear();
        if (inside && aside != null) {
            try {
                Files.deleteIfExists(aside); // empty again
            } catch (IOException e) {
                LOG.debug("could not remove {}: {}", aside, e.toString());
            }
        }
        aside = null;
    }

    /** Removes what was moved aside and the staging directory, once the new tree is in place. */
    void finish() {
        try {
            if (aside != null) {
                FileTrees.delete(aside);
            }
            if (inside) {
                FileTrees.delete(staging);
            }
        } catch (DrException e) {
            // the restored tree is in place: what is left over is no reason to call the restore failed
            LOG.warn("{}; remove it by hand", e.getMessage());
        }
    }

    /** Removes the staging directory (the restore failed before placing anything). */
    void discard() {
        FileTrees.delete(staging);
    }

    private void rename(Path from, Path to) throws IOException {
        try {
            Files.move(from, to, StandardCopyOption.ATOMIC_MOVE);
        } catch (AtomicMoveNotSupportedException crossDevice) {
            throw new DrException(
                    ErrorCode.TARGET,
                    from + " is on another file system than " + to + " (a volume mounted inside the destination); "
                            + "nothing was removed: unmount it, or restore into a directory without one",
                    crossDevice);
        } catch (FileSystemException e) {
            if ("Device or resource busy".equals(e.getReason())) {
                throw new DrException(
                        ErrorCode.TARGET,
                        "could not move " + from + " (a mount point, or in use): nothing was removed; unmount it, "
                                + "or restore into a directory without one",
                        e);
            }
            throw e;
        }
        moves.add(new Path[] {from, to});
    }

    private static boolean isEmptyDirectory(Path dir) throws IOException {
        if (!Files.isDirectory(dir, LinkOption.NOFOLLOW_LINKS)) {
            return false;
        }
        try (Stream<Path> s = Files.list(dir)) {
            return s.findAny().isEmpty();
        }
    }
}
