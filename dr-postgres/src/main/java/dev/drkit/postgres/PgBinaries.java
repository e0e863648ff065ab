package dev.drkit.postgres;

import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.Optional;
import java.util.stream.Stream;

/** Where PostgreSQL programs live on this host: the directories on PATH and Debian's /usr/lib/postgresql/N/bin. */
final class PgBinaries {
    private static final Path DEBIAN = Path.of("/usr/lib/postgresql");

    private PgBinaries() {}

    /** The first directory on PATH holding an executable {@code tool}. */
    static Optional<Path> onPath(String tool) {
        for (String d : System.getenv().getOrDefault("PATH", "").split(File.pathSeparator)) {
            if (!d.isEmpty() && Files.isExecutable(Path.of(d, tool))) {
                return Optional.of(Path.of(d));
            }
        }
        return Optional.empty();
    }

    /** Debian's bin directory of that major version, if it holds {@code tool}. */
    static Optional<Path> debian(String tool, String major) {
        Path bin = DEBIAN.resolve(major).resolve("bin");
        return Files.isExecutable(bin.resolve(tool)) ? Optional.of(bin) : Optional.empty();
    }

    /** The newest of Debian's bin directories holding {@code tool}. */
    static Optional<Path> newestDebian(String tool) {
        if (!Files.isDirectory(DEBIAN)) {
            return Optional.empty();
        }
        try (Stream<Path> s = Files.list(DEBIAN)) {
            return s.map(v -> v.resolve("bin"))
                    .filter(b -> Files.isExecutable(b.resolve(tool)))
                    .max(Comparator.comparingInt(
                            b -> major(b.getParent().getFileName().toString())));
        } catch (IOException e) {
            return Optional.empty();
        }
    }

    /** The major version a directory or version string starts with, or -1. */
    static int major(String s) {
        try {
            return Integer.parseInt(s.replaceAll("^(\\d+).*", "$1"));
        } catch (NumberFormatException e) {
            return -1;
        }
    }
}
