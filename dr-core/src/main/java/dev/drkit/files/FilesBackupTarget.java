package dev.drkit.files;

import dev.drkit.BackupManifest;
import dev.drkit.BackupResult;
import dev.drkit.Capability;
import dev.drkit.ConfigException;
import dev.drkit.DrException;
import dev.drkit.DrException.ErrorCode;
import dev.drkit.spi.BackupContext;
import dev.drkit.spi.BackupTarget;
import dev.drkit.spi.RestoreContext;
import dev.drkit.spi.support.FileNames;
import dev.drkit.spi.support.OtherWriters;
import dev.drkit.spi.support.SourceErrors;
import dev.drkit.spi.support.TarEntryReader;
import dev.drkit.spi.support.TarExtractor;
import dev.drkit.spi.support.TarWriter;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.FileSystems;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.PathMatcher;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Backs up directory trees and files (configuration, env files, TLS material) as one PAX
 * tar artifact, {@code files.tar}, that GNU tar reads. Entries are named by their absolute
 * path without the leading {@code /}, so {@code tar -x -C /} puts them back in place.
 * Permissions, owners, modification times, symbolic links (as links) and empty directories
 * are kept.
 */
public final class FilesBackupTarget implements BackupTarget {
    /** The artifact name. */
    public static final String ARTIFACT = "files.tar";

    /**
     * Manifest key: the files and directories left out because their names cannot be read as
     * text (the first 1000; {@code namesLeftOutCount} has how many).
     */
    public static final String NAMES_LEFT_OUT = BackupManifest.NAMES_LEFT_OUT;

    private static final Logger LOG = LoggerFactory.getLogger(FilesBackupTarget.class);
    private static final String UNREADABLE_ADVICE =
            "check that the user running the backup may read it, " + "or leave it out with setting 'exclude'";
    private static final int S_IFMT = 0170000;
    private static final int S_IFIFO = 0010000;
    private static final int S_IFCHR = 0020000;
    private static final int S_IFBLK = 0060000;
    private static final int S_IFSOCK = 0140000;

    private final List<Path> paths;
    private final List<String> excludes;
    private final List<PathMatcher> matchers;
    private final TarWriter.Hooks hooks;

    FilesBackupTarget(List<Path> paths, List<String> excludes) {
        this(paths, excludes, null);
    }

    /** With {@code beforeOpen} run before each file is opened: the seam for tests of a tree that changes. */
    FilesBackupTarget(List<Path> paths, List<String> excludes, BeforeOpen beforeOpen) {
        this.paths = List.copyOf(paths);
        this.excludes = List.copyOf(excludes);
        this.matchers = excludes.stream()
                .map(g -> FileSystems.getDefault().getPathMatcher("glob:" + g))
                .toList();
        this.hooks = new TarWriter.Hooks() {
            @Override
            public void beforeOpen(TarWriter.Item item) throws IOException {
                if (beforeOpen != null) {
                    beforeOpen.run(item);
                }
            }

            @Override
            public RuntimeException unreadable(TarWriter.Item item, IOException e) {
                return SourceErrors.unreadable(item.path(), e, UNREADABLE_ADVICE);
            }
        };
    }

    /** See {@link TarWriter.Hooks#beforeOpen}. */
    @FunctionalInterface
    interface BeforeOpen {
        void run(TarWriter.Item item) throws IOException;
    }

    @Override
    public String type() {
        return FilesBackupTargetProvider.TYPE;
    }

    @Override
    public Set<Capability> capabilities() {
        return EnumSet.of(Capability.FULL, Capability.SELECTIVE_RESTORE);
    }

    @Override
    public void backup(BackupContext context) throws IOException {
        if (paths.isEmpty()) {
            throw new ConfigException("files target: set at least one path to back up (setting 'path')");
        }
        List<Path> roots = new ArrayList<>();
        for (Path root : paths) {
            checkRoot(root);
            roots.add(root);
            if (Files.isSymbolicLink(root)) {
                // a path set to back up that is a link (a directory moved to a volume and linked
                // back) means what it leads to: the link is kept, and what it leads to too
                Path real;
                try {
                    real = root.toRealPath();
                } catch (NoSuchFileException dangling) {
                    throw new DrException(
                            ErrorCode.TARGET,
                            "cannot back up " + root + ": it is a symbolic link to " + "nothing; check setting 'path'");
                }
                checkRoot(real);
                roots.add(real);
            }
        }
        Scan scan = new Scan();
        for (Path root : roots) {
            scan.root = root;
            Files.walkFileTree(root, scan);
        }
        List<TarWriter.Item> items = scan.items;
        long total = items.stream().mapToLong(TarWriter.Item::size).sum();
        context.expectBytes(total);
        TarWriter.Stats stats;
        try (OutputStream out = context.newArtifact(ARTIFACT)) {
            stats = TarWriter.write(items, out, null, hooks);
        }
        Map<String, Object> meta = new LinkedHashMap<>();
        meta.put("paths", paths.stream().map(Path::toString).toList());
        if (!excludes.isEmpty()) {
            meta.put("excludes", excludes);
        }
        meta.put("files", stats.files());
        meta.put("directories", stats.directories());
        meta.put("symlinks", stats.symlinks());
        meta.put("bytes", stats.bytes());
        if (scan.skipped > 0) {
            meta.put("skipped", scan.skipped);
        }
        if (!scan.namesLeftOut.isEmpty()) {
            List<String> names = scan.namesLeftOut;
            meta.put(NAMES_LEFT_OUT, names.size() > 1000 ? List.copyOf(names.subList(0, 1000)) : names);
            meta.put(NAMES_LEFT_OUT + "Count", names.size());
            LOG.warn(
                    "left out {} file(s) or directories whose names cannot be read as text, so a restore would give "
                            + "them another name: {}{}; {}",
                    names.size(),
                    String.join(", ", names.subList(0, Math.min(20, names.size()))),
                    names.size() > 20 ? ", ..." : "",
                    FileNames.advice());
        }
        if (stats.incompleteCount() > 0) {
            meta.put(
                    BackupResult.INCOMPLETE_FILES,
                    stats.incomplete().stream().map(i -> i.path().toString()).toList());
            meta.put(BackupResult.INCOMPLETE_FILE_COUNT, stats.incompleteCount());
            LOG.warn(
                    "{} file(s) changed or vanished while they were copied; the backup records them as incomplete: "
                            + "{}",
                    stats.incompleteCount(),
                    stats.incomplete().stream()
                            .map(i -> i.path() + " " + i.reason())
                            .collect(Collectors.joining("; ")));
        }
        meta.forEach(context::metadata);
    }

    @Override
    public void restore(RestoreContext context) throws IOException {
        warnIncomplete(new BackupResult(context.manifest()));
        String to = context.options()
                .get("to")
                .orElseThrow(() -> new ConfigException("files restore needs a destination directory (setting 'to')"));
        Path dest = Path.of(to).toAbsolutePath().normalize();
        if (!context.options().bool("shared-destination", false)) {
            OtherWriters.on(dest).ifPresent(why -> {
                throw new ConfigException("files restore into " + dest + " refused: " + why + ", who could swap a "
                        + "directory of the restore for a link while it runs and send its files (written as this "
                        + "process's user) elsewhere; restore into a directory only this user and root may change "
                        + "and move the files from there, or set 'shared-destination' if you trust every user "
                        + "who may write there");
            });
        }
        TarExtractor extractor =
                new TarExtractor(dest, context.force(), context.options().getAll("include"));
        extractor.checkDestination();
        try (InputStream in = context.openArtifact(ARTIFACT)) {
            extractor.extract(in);
        }
    }

    /**
     * Files that changed while they were backed up are restored as stored, not left out: what
     * was read of them is real data an operator may need, and leaving them out would lose it as
     * silently as zeros would mislead. Naming them lets the operator check each one.
     */
    private static void warnIncomplete(BackupResult backup) {
        if (backup.incomplete()) {
            LOG.warn(
                    "backup {} is incomplete: {} file(s) changed or vanished while they were backed up and are "
                            + "restored as far as they were read (one that shrank ends in zeros): {}{}; check them before use",
                    backup.id(),
                    backup.incompleteFileCount(),
                    backup.incompleteFiles().stream()
                            .map(TarEntryReader::printable)
                            .collect(Collectors.joining(", ")),
                    backup.incompleteFileCount() > backup.incompleteFiles().size() ? ", ..." : "");
        }
    }

    /**
     * A path given to back up must be a file, directory or symbolic link: reading a FIFO would
     * wait for a writer, a device would never end or yield nothing the restore could put back.
     */
    private static void checkRoot(Path root) {
        int mode;
        try {
            mode = (Integer) Files.getAttribute(root, "unix:mode", LinkOption.NOFOLLOW_LINKS);
        } catch (NoSuchFileException e) {
            throw new DrException(
                    ErrorCode.TARGET, "cannot back up " + root + ": it does not exist; check setting 'path'");
        } catch (IOException e) {
            throw SourceErrors.unreadable(root, e, UNREADABLE_ADVICE);
        }
        String kind = switch (mode & S_IFMT) {
            case S_IFIFO -> "a named pipe (FIFO)";
            case S_IFSOCK -> "a socket";
            case S_IFCHR -> "a character device";
            case S_IFBLK -> "a block device";
            default -> null;
        };
        if (kind != null) {
            throw new ConfigException("files target: " + root + " is " + kind + ", not a file or directory; "
                    + "setting 'path' takes files, directories and symbolic links");
        }
    }

    /**
     * Collects the items of the trees. Excludes are applied to failures too: the JDK opens a
     * directory before {@link #preVisitDirectory} sees it, so an excluded directory that cannot
     * be read arrives in {@link #visitFileFailed}.
     */
    final class Scan extends SimpleFileVisitor<Path> {
        final List<TarWriter.Item> items = new ArrayList<>();
        final List<String> namesLeftOut = new ArrayList<>();
        long skipped;
        Path root;

        @Override
        public FileVisitResult preVisitDirectory(Path dir, BasicFileAttributes attrs) {
            if (!dir.equals(root) && excluded(dir)) {
                return FileVisitResult.SKIP_SUBTREE;
            }
            return add(dir) ? FileVisitResult.CONTINUE : FileVisitResult.SKIP_SUBTREE;
        }

        @Override
        public FileVisitResult visitFile(Path file, BasicFileAttributes attrs) {
            if (excluded(file)) {
                return FileVisitResult.CONTINUE;
            }
            if (attrs.isRegularFile() || attrs.isSymbolicLink()) {
                add(file);
            } else {
                skipped++;
                LOG.warn("skipping {}: not a regular file, directory or symbolic link", file);
            }
            return FileVisitResult.CONTINUE;
        }

        @Override
        public FileVisitResult visitFileFailed(Path file, IOException e) {
            if (!file.equals(root) && (excluded(file) || e instanceof NoSuchFileException)) {
                return FileVisitResult.CONTINUE; // excluded, or vanished since its directory was read
            }
            throw SourceErrors.unreadable(file, e, UNREADABLE_ADVICE);
        }

        @Override
        public FileVisitResult postVisitDirectory(Path dir, IOException e) {
            if (e != null) {
                throw SourceErrors.unreadable(dir, e, UNREADABLE_ADVICE);
            }
            return FileVisitResult.CONTINUE;
        }

        /**
         * Adds a scanned path; false when it vanished since its directory was read, or when its
         * name cannot be stored (then a directory's contents are left out with it).
         */
        private boolean add(Path p) {
            try {
                TarWriter.Item item = TarWriter.Item.of(p);
                // a name, or a link's target, that is not text would come back as another one
                if (FileNames.notText(p) || FileNames.notText(item.linkTarget())) {
                    namesLeftOut.add(TarEntryReader.printable(p.toString()));
                    return false;
                }
                items.add(item);
                return true;
            } catch (NoSuchFileException e) {
                return false;
            } catch (IOException e) {
                throw SourceErrors.unreadable(p, e, UNREADABLE_ADVICE);
            }
        }
    }

    private boolean excluded(Path p) {
        Path name = p.getFileName();
        for (PathMatcher m : matchers) {
            if (m.matches(p) || (name != null && m.matches(name))) {
                return true;
            }
        }
        return false;
    }
}
