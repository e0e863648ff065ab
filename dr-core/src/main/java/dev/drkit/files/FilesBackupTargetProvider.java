package dev.drkit.files;

import dev.drkit.ConfigException;
import dev.drkit.Settings;
import dev.drkit.spi.BackupTarget;
import dev.drkit.spi.BackupTargetProvider;
import dev.drkit.spi.OptionSchema;
import dev.drkit.spi.OptionSpec;
import dev.drkit.spi.OptionSpec.Type;
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

    private static final OptionSchema SCHEMA = OptionSchema.of(
            OptionSpec.builder("path", Type.PATH)
                    .required()
                    .repeatable()
                    .description("a file or directory to back up")
                    .build(),
            OptionSpec.builder("exclude", Type.STRING)
                    .repeatable()
                    .description("a glob of files to leave out, matched against the file name and the absolute path")
                    .build());

    private static final OptionSchema RESTORE = OptionSchema.of(
            OptionSpec.builder("to", Type.PATH)
                    .required()
                    .description("the directory to restore into, new or empty")
                    .build(),
            OptionSpec.builder("include", Type.STRING)
                    .repeatable()
                    .description("a glob of entry names to restore, to restore only part of a backup")
                    .build(),
            OptionSpec.builder("shared-destination", Type.BOOLEAN)
                    .defaultValue("false")
                    .description("restore even where another user may change the destination or a directory "
                            + "above it (and so could send the restore's writes elsewhere)")
                    .build());

    @Override
    public OptionSchema schema() {
        return SCHEMA;
    }

    @Override
    public OptionSchema restoreSchema() {
        return RESTORE;
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
