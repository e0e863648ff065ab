package dev.drkit.spi.support;

import dev.drkit.ConfigException;
import dev.drkit.DestinationNotEmptyException;
import dev.drkit.DrException;
import dev.drkit.UnsafeArchiveException;
import dev.drkit.spi.support.TarEntryReader.Entry;
import dev.drkit.spi.support.TarEntryReader.Kind;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.channels.Channels;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.DirectoryStream;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.OpenOption;
import java.nio.file.Path;
import java.nio.file.PathMatcher;
import java.nio.file.SecureDirectoryStream;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.PosixFileAttributeView;
import java.nio.file.attribute.PosixFileAttributes;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.EnumSet;
import java.util.HashSet;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.UUID;
import java.util.function.Consumer;
import java.util.function.Function;
import java.util.function.Predicate;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Extracts a tar stream into a destination directory, contained and all or nothing.
 *
 * <ul>
 *   <li>Entries go to a private staging directory beside the destination; only when the whole
 *       stream has been read to its end-of-archive marker and its checksums matched are they
 *       moved into place, so a corrupt or hostile backup leaves the destination as it was. A
 *       failed extraction removes its staging directory; one left by a killed process is removed
 *       by the next restore to the same destination once it is a day old.</li>
 *   <li>Every entry is checked by {@link TarEntryReader} and placed by {@link TarPlacement}, the
 *       rules a decode-level verify applies too: absolute names, {@code ..}, NUL, hard links out,
 *       an entry under a link or replacing an entry of another kind are refused.</li>
 *   <li>Nothing is applied through a link: every path component is checked to be a real
 *       directory before use, modes, times and owners are set without following links, symbolic
 *       links are created last, and a directory's deferred attributes are applied only if it is
 *       still the very directory that was created (same file key).</li>
 *   <li>Devices and FIFOs are skipped with a warning; setuid and setgid bits are removed (a
 *       backup must not be a way to plant a privileged program).</li>
 *   <li>A destination that holds anything is refused unless {@code force} is set.</li>
 * </ul>
 *
 * <p>Not thread-safe; several extractors may unpack into one staging directory at once.
 */
public final class TarExtractor {
    private static final Logger LOG = LoggerFactory.getLogger(TarExtractor.class);
    private static final boolean ROOT = "root".equals(System.getProperty("user.name"));
    /** Marks a staging directory: {@code .<destination name>.drkit-restore-<uuid>}. */
    static final String STAGING_MARK = ".drkit-restore-";
    /** How old a staging directory must be before a later restore takes it for abandoned. */
    static final Duration ABANDONED = Duration.ofDays(1);

    private final Path dest;
    private final boolean force;
    private final List<PathMatcher> includes;
    private final List<String> includeGlobs;
    private long includedEntries;
    private long files;
    private long bytes;
    private long skippedSpecial;
    private long setIdStripped;
    /** Entries another user owned in the archive, restored as this user's (not root: no chown). */
    private long ownersNotKept;

    private int firstOtherOwner;
    /** The process's umask, once known; -1 before. */
    private int umask = -1;
    /** Told of every regular file this extractor wrote and closed; none by default. */
    private Consumer<Path> written = p -> {};

    /**
     * @param dest the destination directory
     * @param force whether a non-empty destination may be overwritten
     * @param includeGlobs restore only entries matching one of these globs (or below a match); empty for all
     */
    public TarExtractor(Path dest, boolean force, List<String> includeGlobs) {
        this.dest = dest;
        this.force = force;
        this.includeGlobs = List.copyOf(includeGlobs);
        this.includes = includeMatchers(includeGlobs);
    }

    /** The matchers of the globs, or one error that names every glob that is not one. */
    private static List<PathMatcher> includeMatchers(List<String> globs) {
        List<PathMatcher> matchers = new ArrayList<>();
        List<String> problems = new ArrayList<>();
        for (String glob : globs) {
            try {
                matchers.add(FileSystems.getDefault().getPathMatcher("glob:" + glob));
            } catch (PatternSyntaxException e) {
                problems.add("setting 'include' has '" + TarEntryReader.printable(glob) + "', which is not a glob ("
                        + e.getDescription() + "); write it as e.g. etc/nginx/**");
            }
        }
        if (!problems.isEmpty()) {
            throw new ConfigException(problems);
        }
        return List.copyOf(matchers);
    }

    /**
     * Tells {@code sink} of every regular file this extractor wrote itself, once it is closed
     * and its attributes are set (not of files a {@link ContentWriter} built), on the
     * extracting thread: a restore may start syncing each file while the next ones are written.
     *
     * @return this extractor
     */
    public TarExtractor onFileWritten(Consumer<Path> sink) {
        this.written = Objects.requireNonNull(sink, "sink");
        return this;
    }

    /** Refuses a destination that is not a directory, or that holds data without force. */
    public void checkDestination() throws IOException {
        if (Files.exists(dest, LinkOption.NOFOLLOW_LINKS)) {
            if (!Files.isDirectory(dest, LinkOption.NOFOLLOW_LINKS)) {
                throw new DestinationNotEmptyException("restore destination " + dest
                        + " exists and is not a directory; choose a new or empty directory");
            }
            if (!force && holdsData(dest)) {
                throw new DestinationNotEmptyException("restore destination " + dest
                        + " is not empty; choose a new or empty directory, or restore with RestoreRequest.force "
                        + "to overwrite");
            }
        }
    }

    public void extract(InputStream in) throws IOException {
        Path staging = stagingFor(dest);
        Throwable failure = null;
        try {
            unpack(in, staging, name -> true, name -> null, "the archive restored to " + dest);
            if (!includes.isEmpty() && includedEntries == 0) {
                // an empty restore reported as done would pass for a recovery
                throw new ConfigException("no entry of the backup matches setting 'include' "
                        + TarEntryReader.printable(String.valueOf(includeGlobs))
                        + "; entries are named without the leading '/' (etc/nginx/** for /etc/nginx); "
                        + "nothing was restored");
            }
            install(staging);
        } catch (IOException | RuntimeException | Error e) {
            failure = e;
            throw e;
        } finally {
            try {
                FileTrees.delete(staging);
            } catch (DrException e) {
                if (failure != null) {
                    failure.addSuppressed(e);
                } else {
                    throw e;
                }
            }
        }
    }

    /**
     * A new private directory (mode 0700) beside {@code dest} for a restore to build its tree in
     * before it moves it into place: {@code .<name>.drkit-restore-<pid>-<start>-<uuid>}, naming
     * the process that made it. The ones restores to {@code dest} left behind when they were
     * killed are removed first, so that each kill does not leave a hidden copy of what was
     * restored: one of this host (this boot) when the process that made it is gone, another
     * (another host's, an older drkit's) once it is more than a day old. A restore still running,
     * however long it takes, keeps its own.
     */
    public static Path newStaging(Path dest) throws IOException {
        Path parent = dest.toAbsolutePath().getParent();
        if (parent == null) {
            throw new DestinationNotEmptyException("cannot restore to " + dest + ": it has no parent directory to "
                    + "build the restore beside; choose a new or empty directory");
        }
        Files.createDirectories(parent);
        removeAbandonedStaging(parent, "." + dest.getFileName() + STAGING_MARK, dest.toAbsolutePath());
        return makeStaging(parent.resolve("." + dest.getFileName() + STAGING_MARK + stagingOwner()));
    }

    /**
     * Where {@link #extract} builds its tree: inside the destination when it already is a
     * directory (a mount point, {@code /}, an existing tree), so that moving what it built into
     * place stays on the destination's file system; beside it (see {@link #newStaging}) when it
     * does not exist yet.
     */
    private static Path stagingFor(Path dest) throws IOException {
        Path abs = dest.toAbsolutePath();
        if (!Files.isDirectory(abs, LinkOption.NOFOLLOW_LINKS)) {
            return newStaging(abs);
        }
        return newStagingIn(abs);
    }

    /**
     * A new private directory (mode 0700) inside the existing directory {@code dest} for a
     * restore to build its tree in, on the destination's own file system (a mount point, an
     * existing tree): {@code .drkit-restore-<pid>-<start>-<uuid>}. The ones restores to
     * {@code dest} left there when they were killed are removed first, as {@link #newStaging}
     * does beside a destination; {@link #isStaging} tells such a directory from the destination's
     * own entries.
     */
    public static Path newStagingIn(Path dest) throws IOException {
        Path abs = dest.toAbsolutePath();
        removeAbandonedStaging(abs, STAGING_MARK, abs);
        return makeStaging(abs.resolve(STAGING_MARK + stagingOwner()));
    }

    /** Whether {@code entry} of a destination is a restore's own (see {@link #newStagingIn}), not the destination's data. */
    public static boolean isStaging(Path entry) {
        Path name = entry.getFileName();
        return name != null && name.toString().startsWith(STAGING_MARK);
    }

    private static String stagingOwner() {
        return ProcessHandle.current().pid() + "-" + PrivateScratch.processStart() + "-" + UUID.randomUUID();
    }

    private static Path makeStaging(Path staging) throws IOException {
        Files.createDirectory(
                staging, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
        return staging;
    }

    /** What follows the mark in a staging directory's name: the pid and start of its process, then a uuid. */
    private static final Pattern STAGING_OWNER = Pattern.compile("([0-9]{1,10})-([0-9A-Za-z]{1,40})-[0-9a-f-]{36}");

    /** Removes staging directories that restores to this destination left when they were killed. */
    private static void removeAbandonedStaging(Path parent, String prefix, Path dest) {
        Instant cutoff = Instant.now().minus(ABANDONED);
        try (DirectoryStream<Path> found =
                Files.newDirectoryStream(parent, p -> p.getFileName().toString().startsWith(prefix))) {
            for (Path p : found) {
                BasicFileAttributes a = Files.readAttributes(p, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
                if (!a.isDirectory()) {
                    continue;
                }
                Matcher owner = STAGING_OWNER.matcher(p.getFileName().toString().substring(prefix.length()));
                boolean abandoned;
                if (owner.matches() && PrivateScratch.ofThisBoot(owner.group(2))) {
                    abandoned = !PrivateScratch.alive(Long.parseLong(owner.group(1)), owner.group(2));
                } else {
                    abandoned = a.lastModifiedTime().toInstant().isBefore(cutoff);
                }
                if (abandoned) {
                    LOG.warn(
                            "removing {}: a restore to {} left it behind on {} and did not finish",
                            p,
                            dest,
                            a.lastModifiedTime());
                    FileTrees.delete(p);
                }
            }
        } catch (IOException | DrException e) {
            LOG.warn("could not remove the staging directories abandoned beside {}: {}", dest, e.getMessage());
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
    public void unpack(InputStream in, Path staging, Predicate<String> wanted) throws IOException {
        unpack(in, staging, wanted, name -> null);
    }

    /**
     * Writes the content of some regular files in place of the extractor, for a caller that
     * builds a file from more than one source (e.g. a base version and newer pages).
     */
    @FunctionalInterface
    public interface ContentWriter {
        /**
         * Writes the entry's {@code content} to {@code target}. The directories above
         * {@code target} are checked to be real directories of the staging tree and nothing but
         * a regular file stands at it; the writer opens it without following a link, and may
         * leave content unread. The extractor then applies the entry's owner, mode and time, and
         * refuses the archive if a later entry of it (a hard link of the same name) would take the
         * file's place.
         */
        void write(Path target, InputStream content) throws IOException;
    }

    /**
     * {@link #unpack(InputStream, Path, Predicate)} where {@code writers} may take over the
     * content of a regular file by name (null leaves it to the extractor).
     */
    public void unpack(InputStream in, Path staging, Predicate<String> wanted, Function<String, ContentWriter> writers)
            throws IOException {
        unpack(in, staging, wanted, writers, "the archive unpacked to " + staging);
    }

    private void unpack(
            InputStream in,
            Path staging,
            Predicate<String> wanted,
            Function<String, ContentWriter> writers,
            String archive)
            throws IOException {
        ContainedTree tree = new ContainedTree(staging);
        long me = ROOT ? 0 : PrivateScratch.currentUid();
        Set<String> built = new HashSet<>(); // names a writer built: no later entry may take their place
        List<Deferred> directories = new ArrayList<>();
        List<Entry> links = new ArrayList<>();
        byte[] buffer = new byte[256 * 1024];
        TarEntryReader reader = new TarEntryReader(in, archive);
        Entry e;
        while ((e = reader.next()) != null) {
            if (!e.kind().restored()) {
                skippedSpecial++;
                LOG.warn("skipping {}: devices and FIFOs are not restored", TarEntryReader.printable(e.name()));
                continue;
            }
            if (!included(e.name()) || !wanted.test(e.name())) {
                continue;
            }
            includedEntries++;
            TarPlacement.check(e, tree::kind);
            if (!ROOT && e.uid() != me) {
                if (ownersNotKept++ == 0) {
                    firstOtherOwner = e.uid();
                }
            }
            if (e.setIdStripped()) {
                setIdStripped++;
                LOG.warn("restoring {} without its setuid/setgid bits", TarEntryReader.printable(e.name()));
            }
            try {
                switch (e.kind()) {
                    case DIRECTORY -> directories.add(new Deferred(e, tree.directory(e.name())));
                    case FILE -> {
                        ContentWriter writer = writers.apply(e.name());
                        if (writer == null) {
                            writeFile(tree, reader, e, buffer);
                        } else {
                            built.add(e.name());
                            writeWith(writer, tree, reader, e, buffer);
                        }
                    }
                    default -> links.add(e);
                }
            } catch (FileAlreadyExistsException raced) {
                throw placeTaken(e);
            }
        }
        for (Entry link : links) {
            if (built.contains(link.name())) {
                throw new UnsafeArchiveException("archive entry '" + TarEntryReader.printable(link.rawName())
                        + "' would replace a file the restore builds from more than this archive; refusing the "
                        + "archive");
            }
            try {
                createLink(tree, link);
            } catch (FileAlreadyExistsException raced) {
                throw placeTaken(link);
            }
        }
        directories.sort(
                Comparator.comparingInt((Deferred d) -> d.entry().name().split("/").length)
                        .reversed());
        for (Deferred d : directories) {
            tree.applyToDirectory(d.entry().name(), d.fileKey(), d.entry(), ROOT);
        }
        if (skippedSpecial > 0) {
            LOG.warn("{} devices or FIFOs in {} were skipped", skippedSpecial, archive);
        }
        if (ownersNotKept > 0) {
            LOG.warn(
                    "{} entries of {} belonged to other users (the first to uid {}); restored by uid {}, which may not "
                            + "give files away, they keep their modes and times but belong to uid {}: restore as root "
                            + "to keep the owners",
                    ownersNotKept,
                    archive,
                    firstOtherOwner,
                    me,
                    me);
        }
    }

    /** Hands an entry's content to {@code writer}, then reads past what it left and applies the entry's attributes. */
    private void writeWith(ContentWriter writer, ContainedTree tree, TarEntryReader reader, Entry e, byte[] buffer)
            throws IOException {
        Path target = tree.parentsOf(e.name());
        Kind there = tree.kind(e.name());
        if (there != null && there != Kind.FILE) {
            throw new UnsafeArchiveException("'" + TarEntryReader.printable(e.name()) + "' is not a regular file "
                    + "where the restore expects one; refusing to write through it");
        }
        writer.write(target, new EntryContent(reader));
        while (reader.read(buffer) >= 0) {
            // the rest of the entry, which the writer did not need
        }
        ContainedTree.apply(target, e, ROOT, true);
        files++;
        bytes += e.size();
    }

    private void writeFile(ContainedTree tree, TarEntryReader reader, Entry e, byte[] buffer) throws IOException {
        Path target = tree.parentsOf(e.name());
        if (tree.kind(e.name()) == Kind.FILE) {
            Files.delete(target); // the same name again: the later entry wins, as with tar
        }
        // the mode given at creation, when the umask leaves it whole: one open of the file less;
        // not without the owner's read bit, which the JVM needs after to set the times as any user
        boolean modeAtCreation = (e.mode() & ~0777) == 0 && (e.mode() & 0400) != 0 && (e.mode() & umask(tree)) == 0;
        Set<OpenOption> options =
                Set.of(StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE, LinkOption.NOFOLLOW_LINKS);
        try (OutputStream out = modeAtCreation
                ? Channels.newOutputStream(Files.newByteChannel(
                        target, options, PosixFilePermissions.asFileAttribute(permissions(e.mode()))))
                : Files.newOutputStream(target, options.toArray(OpenOption[]::new))) {
            int n;
            while ((n = reader.read(buffer)) >= 0) {
                out.write(buffer, 0, n);
                bytes += n;
            }
        }
        ContainedTree.apply(target, e, ROOT, !modeAtCreation);
        files++;
        written.accept(target);
    }

    /**
     * The process's umask, found once per extraction from a file created in the staging tree
     * with every permission bit (Java reads no umask): the bits it takes from a new file's mode.
     */
    private int umask(ContainedTree tree) throws IOException {
        if (umask < 0) {
            Path probe = tree.root().resolve(".drkit-umask-" + UUID.randomUUID());
            Files.createFile(probe, PosixFilePermissions.asFileAttribute(permissions(0777)));
            try {
                int got = 0;
                for (PosixFilePermission bit : Files.getPosixFilePermissions(probe, LinkOption.NOFOLLOW_LINKS)) {
                    got |= 1 << (8 - bit.ordinal());
                }
                umask = 0777 & ~got;
            } finally {
                Files.delete(probe);
            }
        }
        return umask;
    }

    /**
     * Something appeared at the entry's name between the placement check and its creation:
     * another stream unpacking into the same tree at the same time (the tars of a backup, or
     * a chain restore's page deltas) put something there, so the backup holds two things at one
     * name.
     */
    private static UnsafeArchiveException placeTaken(Entry e) {
        return new UnsafeArchiveException("archive entry '" + TarEntryReader.printable(e.rawName()) + "' would take "
                + "the place of something else the restore put at that name; refusing the archive");
    }

    /** Links come last, so that nothing else is ever written through one; every check is made again now. */
    private void createLink(ContainedTree tree, Entry link) throws IOException {
        TarPlacement.check(link, tree::kind);
        Path target = tree.parentsOf(link.name());
        Path made = target.resolveSibling(".drkit-link-" + UUID.randomUUID());
        if (link.kind() == Kind.SYMLINK) {
            Files.createSymbolicLink(made, Path.of(link.link()));
            if (ROOT) {
                ContainedTree.applyOwner(made, link);
            }
        } else {
            Files.createLink(made, tree.parentsOf(link.link()));
        }
        renameIntoPlace(made, target, link); // the same name again, of the same kind (checked above): the later wins
    }

    /**
     * Moves a link made under a name of its own to its place with one rename, which replaces a
     * link or a file but never a directory: another stream unpacking into the same tree may make
     * a directory at that name at any moment after the checks and write into it, and deleting
     * that directory to put a link there would send its writes wherever the link points.
     */
    static void renameIntoPlace(Path made, Path target, Entry link) throws IOException {
        try {
            Files.move(made, target, StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException e) {
            Files.deleteIfExists(made);
            throw placeTaken(link);
        }
        Files.deleteIfExists(made); // a hard link renamed onto the file it links to leaves both names
    }

    /** An entry's data as a stream; closing it does nothing (the extractor reads past the rest). */
    private static final class EntryContent extends InputStream {
        private final TarEntryReader reader;

        EntryContent(TarEntryReader reader) {
            this.reader = reader;
        }

        @Override
        public int read() throws IOException {
            byte[] one = new byte[1];
            return read(one, 0, 1) < 0 ? -1 : one[0] & 0xff;
        }

        @Override
        public int read(byte[] b, int off, int len) throws IOException {
            Objects.checkFromIndexSize(off, len, b.length);
            return len == 0 ? 0 : reader.read(b, off, len);
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
        return TarEntryReader.safeName(raw);
    }

    public static Set<PosixFilePermission> permissions(int mode) {
        Set<PosixFilePermission> set = EnumSet.noneOf(PosixFilePermission.class);
        PosixFilePermission[] order = {
            PosixFilePermission.OTHERS_EXECUTE, PosixFilePermission.OTHERS_WRITE, PosixFilePermission.OTHERS_READ,
            PosixFilePermission.GROUP_EXECUTE, PosixFilePermission.GROUP_WRITE, PosixFilePermission.GROUP_READ,
            PosixFilePermission.OWNER_EXECUTE, PosixFilePermission.OWNER_WRITE, PosixFilePermission.OWNER_READ
        };
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
            Files.setAttribute(dest, "unix:mode", 0755, LinkOption.NOFOLLOW_LINKS);
            return;
        }
        // the destination is not private like the staging tree: each step from here is taken
        // relative to directories opened without following links (openat, renameat, unlinkat), so
        // that a link another user swaps in for one of its directories cannot lead the restore out
        try (SecureDirectoryStream<Path> from = FileTrees.openSecure(staging);
                SecureDirectoryStream<Path> into = FileTrees.openSecure(dest)) {
            merge(from, staging, into, dest);
        }
    }

    private void merge(SecureDirectoryStream<Path> from, Path fromPath, SecureDirectoryStream<Path> into, Path intoPath)
            throws IOException {
        for (Path child : from) {
            Path name = child.getFileName();
            Path target = intoPath.resolve(name.toString());
            BasicFileAttributes there = FileTrees.attributes(into, name);
            if (FileTrees.attributes(from, name).isDirectory() && there != null && there.isDirectory()) {
                try (SecureDirectoryStream<Path> f = from.newDirectoryStream(name, LinkOption.NOFOLLOW_LINKS);
                        SecureDirectoryStream<Path> i = subdirectory(into, name, target)) {
                    merge(f, fromPath.resolve(name.toString()), i, target);
                }
                continue;
            }
            if (there != null && !force) {
                throw new DestinationNotEmptyException(
                        target + " appeared during the restore; " + "restore with RestoreRequest.force to overwrite");
            }
            place(from, fromPath.resolve(name.toString()), into, intoPath, name);
        }
    }

    /** The directory {@code name} of the destination, refused when something else has taken its place. */
    private static SecureDirectoryStream<Path> subdirectory(SecureDirectoryStream<Path> into, Path name, Path target)
            throws IOException {
        try {
            return into.newDirectoryStream(name, LinkOption.NOFOLLOW_LINKS);
        } catch (IOException e) {
            BasicFileAttributes now = FileTrees.attributes(into, name);
            if (now != null && now.isDirectory()) {
                throw e;
            }
            throw new DestinationNotEmptyException(
                    "the directory " + target + " was replaced while the restore "
                            + "moved files into it; check who else writes to the destination, then restore again",
                    e);
        }
    }

    /**
     * Puts {@code name} of {@code from} at the same name in {@code into}, replacing what stands
     * there only once the new entry is ready beside it: a rename replaces a file or link at once;
     * a directory on either side is moved aside first and put back if the new entry cannot take
     * its place. Across file systems (a volume mounted inside the destination) the entry is copied
     * next to its place first, by path.
     */
    private static void place(
            SecureDirectoryStream<Path> from, Path child, SecureDirectoryStream<Path> into, Path intoPath, Path name)
            throws IOException {
        Path ready = spare();
        try {
            from.move(name, into, ready);
        } catch (AtomicMoveNotSupportedException crossDevice) {
            try {
                copyTree(child, intoPath.resolve(ready.toString()));
            } catch (IOException | RuntimeException e) {
                FileTrees.delete(into, ready);
                throw e;
            }
        }
        BasicFileAttributes there = FileTrees.attributes(into, name);
        BasicFileAttributes readied = FileTrees.attributes(into, ready); // null when another user removed it
        boolean swap = there != null && (there.isDirectory() || (readied != null && readied.isDirectory()));
        Path aside = null;
        if (swap) {
            aside = spare();
            into.move(name, into, aside);
        }
        try {
            into.move(ready, into, name); // a rename replaces a file or link at once
        } catch (IOException e) {
            if (aside != null) {
                into.move(aside, into, name);
            }
            FileTrees.delete(into, ready);
            throw e;
        }
        if (aside != null) {
            FileTrees.delete(into, aside);
        }
    }

    /** A free name in a directory of the destination. */
    private static Path spare() {
        return Path.of(STAGING_MARK + "place-" + UUID.randomUUID());
    }

    /** Copies a staged tree to another file system, links as links, with modes, times and (as root) owners. */
    private static void copyTree(Path from, Path to) throws IOException {
        if (!Files.isDirectory(from, LinkOption.NOFOLLOW_LINKS)) {
            Files.copy(from, to, StandardCopyOption.COPY_ATTRIBUTES, LinkOption.NOFOLLOW_LINKS);
            return;
        }
        Files.createDirectory(to, PosixFilePermissions.asFileAttribute(permissions(0700)));
        try (DirectoryStream<Path> children = Files.newDirectoryStream(from)) {
            for (Path child : children) {
                copyTree(child, to.resolve(child.getFileName().toString()));
            }
        }
        // a directory's own attributes last (a copy would not replace the directory, now full)
        PosixFileAttributes a = Files.readAttributes(from, PosixFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
        PosixFileAttributeView view =
                Files.getFileAttributeView(to, PosixFileAttributeView.class, LinkOption.NOFOLLOW_LINKS);
        if (!a.owner().equals(Files.getOwner(to, LinkOption.NOFOLLOW_LINKS))) {
            view.setOwner(a.owner()); // as root; staged trees are the restorer's own otherwise
        }
        view.setGroup(a.group());
        view.setPermissions(a.permissions());
        view.setTimes(a.lastModifiedTime(), a.lastAccessTime(), null);
    }

    public long files() {
        return files;
    }

    public long bytes() {
        return bytes;
    }

    /** Devices and FIFOs in the archive, skipped. */
    public long skippedSpecial() {
        return skippedSpecial;
    }

    /** Entries that belonged to other users in the archive and this user restored as its own (0 as root). */
    public long ownersNotKept() {
        return ownersNotKept;
    }

    /** Entries restored without the setuid or setgid bits the archive gave them. */
    public long setIdStripped() {
        return setIdStripped;
    }

    /** Whether {@code dir} holds anything but restores' staging directories (one a killed restore left is no data). */
    private static boolean holdsData(Path dir) throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            return s.anyMatch(p -> !isStaging(p));
        }
    }

    private record Deferred(Entry entry, Object fileKey) {}
}
