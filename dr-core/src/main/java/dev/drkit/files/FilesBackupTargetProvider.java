package dev.drkit.files;

import dev.drkit.ConfigException;
import dev.drkit.Settings;
import dev.drkit.spi.BackupTarget;
import dev.drkit.spi.BackupTargetProvider;
import java.nio.file.FileSystems;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Provides the {@code files} target. Settings: {@code path} (repeatable, required to back up)
 * and {@code exclude} (repeatable glob, matched against the file name and the absolute path).
 * Restore options: {@code to} (the destination directory) and {@code include} (repeatable
 * glob on entry names, to restore only part of a backup).
 */
public final class FilesBackupTargetProvider implements BackupTargetProvider {
    public static final String TYPE = "files";

    @Override
    public String type() {
        return TYPE;
    }

    @Override
    public BackupTarget create(Settings settings) {
        List<String> problems = new ArrayList<>();
        List<Path> paths = new ArrayList<>();
        for (String p : settings.getAll("path")) {
            if (p.isBlank()) {
                problems.add("files target: empty path");
            } else {
                paths.add(Path.of(p).toAbsolutePath().normalize());
            }
        }
        for (String glob : settings.getAll("exclude")) {
            try {
                FileSystems.getDefault().getPathMatcher("glob:" + glob);
            } catch (RuntimeException e) {
                problems.add("files target: invalid exclude glob '" + glob + "': " + e.getMessage());
            }
        }
        if (!problems.isEmpty()) {
            throw new ConfigException(problems);
        }
        return new FilesBackupTarget(paths, settings.getAll("exclude"));
    }
}
