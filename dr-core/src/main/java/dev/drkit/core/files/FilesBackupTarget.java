package dev.drkit.core.files;

import dev.drkit.Capability;
import dev.drkit.ConfigException;
import dev.drkit.DrException;
import dev.drkit.DrException.ErrorCode;
import dev.drkit.spi.BackupContext;
import dev.drkit.spi.BackupTarget;
import dev.drkit.spi.RestoreContext;
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
    private static final Logger LOG = LoggerFactory.getLogger(FilesBackupTarget.class);

    private final List<Path> paths;
    private final List<String> excludes;
    private final List<PathMatcher> matchers;

    FilesBackupTarget(List<Path> paths, List<String> excludes) {
        this.paths = List.copyOf(paths);
        this.excludes = List.copyOf(excludes);
        this.matchers = excludes.stream().map(g -> FileSystems.getDefault().getPathMatcher("glob:" + g)).toList();
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
            throw new ConfigException("files target: give at least one path to back up (--path DIR)");
        }
        List<TarWriter.Item> items = scan();
        long total = items.stream().mapToLong(TarWriter.Item::size).sum();
        context.expectBytes(total);
        TarWriter.Stats stats;
        try (OutputStream out = context.newArtifact(ARTIFACT)) {
            stats = TarWriter.write(items, out);
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
        if (stats.changed() > 0) {
            meta.put("changedDuringBackup", stats.changed());
        }
        meta.forEach(context::metadata);
    }

    @Override
    public void restore(RestoreContext context) throws IOException {
        String to = context.options().get("to").orElseThrow(() ->
                new ConfigException("files restore needs a destination directory (--to DIR)"));
        Path dest = Path.of(to).toAbsolutePath().normalize();
        TarExtractor extractor = new TarExtractor(dest, context.force(), context.options().getAll("include"));
        extractor.checkDestination();
        try (InputStream in = context.openArtifact(ARTIFACT)) {
            extractor.extract(in);
        }
    }

    private List<TarWriter.Item> scan() throws IOException {
        List<TarWriter.Item> items = new ArrayList<>();
        for (Path root : paths) {
            if (!Files.exists(root, LinkOption.NOFOLLOW_LINKS)) {
                throw new DrException(ErrorCode.TARGET, "cannot back up " + root
                        + ": it does not exist; check the --path given");
            }
            Files.walkFileTree(root, new SimpleFileVisitor<>() {
                @Override
                public FileVisitResult preVisitDirectory(Path dir, BasicFileAttributes attrs) throws IOException {
                    if (!dir.equals(root) && excluded(dir)) {
                        return FileVisitResult.SKIP_SUBTREE;
                    }
                    items.add(TarWriter.Item.of(dir));
                    return FileVisitResult.CONTINUE;
                }

                @Override
                public FileVisitResult visitFile(Path file, BasicFileAttributes attrs) throws IOException {
                    if (excluded(file)) {
                        return FileVisitResult.CONTINUE;
                    }
                    if (attrs.isRegularFile() || attrs.isSymbolicLink()) {
                        items.add(TarWriter.Item.of(file));
                    } else {
                        LOG.warn("skipping {}: not a regular file, directory or symbolic link", file);
                    }
                    return FileVisitResult.CONTINUE;
                }

                @Override
                public FileVisitResult visitFileFailed(Path file, IOException e) throws IOException {
                    if (e instanceof NoSuchFileException) {
                        return FileVisitResult.CONTINUE; // vanished since the directory was read
                    }
                    throw new DrException(ErrorCode.TARGET, "cannot read " + file + ": " + e.getMessage()
                            + "; check its permissions or exclude it", e);
                }
            });
        }
        return items;
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
