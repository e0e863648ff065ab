package dev.drkit.testkit;

import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;
import org.junit.jupiter.api.Assertions;
import org.junit.jupiter.api.Assumptions;

/**
 * Finds the external tools a test needs. Locally a missing tool skips the test; under
 * {@code CI=true} it fails it, so that a green CI run means every test really ran.
 */
public final class Prerequisites {
    private Prerequisites() {}

    /** Whether this is a CI run ({@code CI=true}). */
    public static boolean isCi() {
        return "true".equalsIgnoreCase(System.getenv("CI"));
    }

    /** The executable on PATH, or skips (locally) / fails (CI) the calling test. */
    public static Path requireTool(String name) {
        return require(findOnPath(name), name + " is not on PATH; install it (.ci/run does) to run this test");
    }

    /**
     * What was found, or skips (locally) / fails (CI) the calling test.
     *
     * @param missing what is missing and how to install it, for the message
     */
    public static <T> T require(Optional<T> found, String missing) {
        if (found.isEmpty()) {
            if (isCi()) {
                Assertions.fail(missing);
            }
            Assumptions.abort(missing);
        }
        return found.get();
    }

    /** Goes on when {@code met}, else skips (locally) / fails (CI) the calling test, saying what is {@code missing}. */
    public static void require(boolean met, String missing) {
        require(met ? Optional.of(Boolean.TRUE) : Optional.empty(), missing);
    }

    /** The executable on PATH, if any. */
    public static Optional<Path> findOnPath(String name) {
        String path = System.getenv("PATH");
        if (path == null) {
            return Optional.empty();
        }
        for (String dir : path.split(File.pathSeparator)) {
            Path p = Path.of(dir, name);
            if (Files.isExecutable(p)) {
                return Optional.of(p);
            }
        }
        return Optional.empty();
    }
}
