package dev.drkit.core.files;

import dev.drkit.DestinationNotEmptyException;
import dev.drkit.DrException;
import dev.drkit.DrException.ErrorCode;
import dev.drkit.UnsafeArchiveException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.DirectoryStream;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.PathMatcher;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.FileTime;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;
import java.util.UUID;
import java.util.stream.Stream;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveInputStream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Extracts a tar stream into a destination directory, safely and all or nothing.
 *
 * <ul>
 *   <li>Entries go to a staging directory beside the destination; only when the whole
 *       stream has been read and its checksums matched are they moved into place, so a
 *       corrupt backup leaves the destination as it was.</li>
 *   <li>Absolute names and {@code ..} are refused; symbolic links are created last and no
 *       entry is ever written through a link, so nothing lands outside the destination.</li>
 *   <li>A destination that holds anything is refused unless {@code force} is set.</li>
 * </ul>
 */
public final class TarExtractor {
    private static final Logger LOG = LoggerFactory.getLogger(TarExtractor.class);
    private static final boolean ROOT = "root".equals(System.getProperty("user.name"));

    private final Path dest;
    private final boolean force;
    private final List<PathMatcher> includes;
    private long files;
    private long bytes;

    public TarExtractor(Path dest, boolean force, List<String> includeGlobs) {
        this.dest = dest;
        this.force = force;
        this.includes = includeGlobs.stream().map(g -> FileSystems.getDefault().getPathMatcher("glob:" + g)).toList();
    }

    /** Refuses a destination that is not a directory, or that holds data without force. */
    public void checkDestination() throws IOException {
        if (Files.exists(dest, LinkOption.NOFOLLOW_LINKS)) {
            if (!Files.isDirectory(dest, LinkOption.NOFOLLOW_LINKS)) {
                throw new DestinationNotEmptyException("restore destination " + dest
                        + " exists and is not a directory; choose a new or empty directory");
            }
            if (!force && !isEmpty(dest)) {
                throw new DestinationNotEmptyException("restore destination " + dest
                        + " is not empty; choose a new or empty directory, or pass --force to overwrite");
            }
        }
    }

    void extract(InputStream in) throws IOException {
        Path parent = dest.getParent();
        Files.createDirectories(parent);
        Path staging = parent.resolve("." + dest.getFileName() + ".drkit-restore-" + UUID.randomUUID());
        Files.createDirectory(staging, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
        try {
            unpack(in, staging);
            install(staging);
        } finally {
            FileTrees.delete(staging);
        }
    }

    /**
     * Unpacks a tar stream into a private staging directory the caller owns (and later moves
     * into place), with the same safety rules; the stream is read to its end.
     */
    public void unpack(InputStream in, Path staging) throws IOException {
        unpack(in, staging, name -> true);
    }

    /** {@link #unpack(InputStream, Path)} of only the entries whose (safe) name {@code wanted} accepts. */
    public void unpack(InputStream in, Path staging, java.util.function.Predicate<String> wanted) throws IOException {
        List<Deferred> directories = new ArrayList<>();
        List<Deferred> links = new ArrayList<>();
        java.util.Set<Path> made = new java.util.HashSet<>(); // directories known to exist: no mkdir per file
        byte[] buffer = new byte[256 * 1024];
        TarArchiveInputStream tar = new TarArchiveInputStream(in);
        TarArchiveEntry e;
        while ((e = tar.getNextEntry()) != null) {
            String name = safeName(e.getName());
            if (name.isEmpty() || !included(name) || !wanted.test(name)) {
                continue;
            }
            Path target = staging.resolve(name);
            if (e.isDirectory()) {
                if (made.add(target)) {
                    Files.createDirectories(target);
                }
                directories.add(new Deferred(target, e));
            } else if (e.isSymbolicLink() || e.isLink()) {
                links.add(new Deferred(target, e));
            } else if (e.isFile()) {
                if (made.add(target.getParent())) {
                    Files.createDirectories(target.getParent());
                }
                Files.deleteIfExists(target);
                try (OutputStream out = Files.newOutputStream(target, StandardOpenOption.CREATE_NEW,
                        StandardOpenOption.WRITE, LinkOption.NOFOLLOW_LINKS)) {
                    long n;
                    while ((n = tar.read(buffer)) >= 0) {
                        out.write(buffer, 0, (int) n);
                        bytes += n;
                    }
                }
                applyAttributes(target, e);
                files++;
            } else {
                LOG.warn("skipping {}: special files (devices, fifos) are not restored", name);
            }
        }
        // read to the very end so that the checksums are compared before anything is installed
        in.transferTo(OutputStream.nullOutputStream());
        for (Deferred link : links) {
            createLink(staging, link);
        }
        directories.sort(Comparator.comparingInt((Deferred d) -> d.path().getNameCount()).reversed());
        for (Deferred d : directories) {
            applyAttributes(d.path(), d.entry());
        }
    }

    private void createLink(Path staging, Deferred link) throws IOException {
        Path target = link.path();
        requireNoLinkBetween(staging, target.getParent(), link.entry().getName());
        Files.createDirectories(target.getParent());
        if (Files.isDirectory(target, LinkOption.NOFOLLOW_LINKS)) {
            throw new UnsafeArchiveException("archive entry '" + link.entry().getName() + "' is a link but the "
                    + "archive also has entries under it; refusing an archive that could write through a link");
        }
        Files.deleteIfExists(target);
        if (link.entry().isSymbolicLink()) {
            Files.createSymbolicLink(target, Path.of(link.entry().getLinkName()));
            applyOwner(target, link.entry());
        } else {
            Path existing = staging.resolve(safeName(link.entry().getLinkName()));
            requireNoLinkBetween(staging, existing, link.entry().getName());
            Files.createLink(target, existing);
        }
    }

    /** Refuses to go through a symbolic link on the way from {@code staging} to {@code path}. */
    private static void requireNoLinkBetween(Path staging, Path path, String entry) {
        for (Path p = path; p != null && p.startsWith(staging) && !p.equals(staging); p = p.getParent()) {
            if (Files.isSymbolicLink(p)) {
                throw new UnsafeArchiveException("archive entry '" + entry + "' would be written through the "
                        + "symbolic link " + staging.relativize(p) + "; refusing to write outside the destination");
            }
        }
    }

    private boolean included(String name) {
        if (includes.isEmpty()) {
            return true;
        }
        for (Path p = Path.of(name); p != null; p = p.getParent()) {
            for (PathMatcher m : includes) {
                if (m.matches(p)) {
                    return true;
                }
            }
        }
        return false;
    }

    /** The entry name relative to the destination, or an error when it would escape it. */
    static String safeName(String raw) {
        String name = raw.replace('\\', '/');
        if (name.startsWith("/") || name.matches("^[A-Za-z]:.*")) {
            throw new UnsafeArchiveException("archive entry '" + raw + "' has an absolute path; "
                    + "refusing to write outside the destination");
        }
        List<String> parts = new ArrayList<>();
        for (String part : name.split("/")) {
            if (part.isEmpty() || part.equals(".")) {
                continue;
            }
            if (part.equals("..") || part.indexOf('\0') >= 0) {
                throw new UnsafeArchiveException("archive entry '" + raw + "' leaves its directory with '..'; "
                        + "refusing to write outside the destination");
            }
            parts.add(part);
        }
        return String.join("/", parts);
    }

    private static void applyAttributes(Path p, TarArchiveEntry e) throws IOException {
        applyOwner(p, e);
        Files.setPosixFilePermissions(p, permissions(e.getMode()));
        Files.setLastModifiedTime(p, FileTime.from(e.getLastModifiedTime().toInstant()));
    }

    private static void applyOwner(Path p, TarArchiveEntry e) throws IOException {
        if (ROOT) {
            Files.setAttribute(p, "unix:uid", (int) e.getLongUserId(), LinkOption.NOFOLLOW_LINKS);
            Files.setAttribute(p, "unix:gid", (int) e.getLongGroupId(), LinkOption.NOFOLLOW_LINKS);
        }
    }

    static Set<PosixFilePermission> permissions(int mode) {
        Set<PosixFilePermission> set = EnumSet.noneOf(PosixFilePermission.class);
        PosixFilePermission[] order = {
            PosixFilePermission.OTHERS_EXECUTE, PosixFilePermission.OTHERS_WRITE, PosixFilePermission.OTHERS_READ,
            PosixFilePermission.GROUP_EXECUTE, PosixFilePermission.GROUP_WRITE, PosixFilePermission.GROUP_READ,
            PosixFilePermission.OWNER_EXECUTE, PosixFilePermission.OWNER_WRITE, PosixFilePermission.OWNER_READ};
        for (int bit = 0; bit < order.length; bit++) {
            if ((mode & (1 << bit)) != 0) {
                set.add(order[bit]);
            }
        }
        return set;
    }

    /** Moves the staged tree into the destination. */
    private void install(Path staging) throws IOException {
        if (!Files.exists(dest, LinkOption.NOFOLLOW_LINKS)) {
            Files.move(staging, dest, StandardCopyOption.ATOMIC_MOVE);
            Files.setPosixFilePermissions(dest, permissions(0755));
            return;
        }
        merge(staging, dest);
    }

    private void merge(Path from, Path into) throws IOException {
        try (DirectoryStream<Path> children = Files.newDirectoryStream(from)) {
            for (Path child : children) {
                Path target = into.resolve(child.getFileName().toString());
                boolean bothDirs = Files.isDirectory(child, LinkOption.NOFOLLOW_LINKS)
                        && Files.isDirectory(target, LinkOption.NOFOLLOW_LINKS);
                if (bothDirs) {
                    merge(child, target);
                    continue;
                }
                if (Files.exists(target, LinkOption.NOFOLLOW_LINKS)) {
                    if (!force) {
                        throw new DestinationNotEmptyException(target + " appeared during the restore; "
                                + "pass --force to overwrite");
                    }
                    FileTrees.delete(target);
                }
                Files.move(child, target, StandardCopyOption.ATOMIC_MOVE);
            }
        }
    }

    public long files() {
        return files;
    }

    public long bytes() {
        return bytes;
    }

    private static boolean isEmpty(Path dir) throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            return s.findAny().isEmpty();
        }
    }

    private record Deferred(Path path, TarArchiveEntry entry) {
    }
}
