package dev.drkit.postgres;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Empty tmpfs volumes mounted for a test (a data directory or a tablespace provisioned as a
 * volume), unmounted in reverse order by {@link #unmountAll}. Mounting needs root: a test skips
 * where this host cannot mount, and fails under {@code CI=true}, where it runs as root and a
 * green run must mean the restore onto a volume ran.
 */
final class Tmpfs {
    private final List<Path> mounted = new ArrayList<>();

    /** Mounts an empty tmpfs of {@code size} (such as {@code 64m}) at {@code at}, made if missing. */
    Path mount(Path at, String size) throws Exception {
        Files.createDirectories(at);
        boolean mountedHere = run("mount", "-t", "tmpfs", "-o", "size=" + size, "drkit-test", at.toString()) == 0;
        if ("true".equalsIgnoreCase(System.getenv("CI"))) {
            assertThat(mountedHere).as("mount -t tmpfs (needs root)").isTrue();
        }
        assumeTrue(mountedHere, "cannot mount a tmpfs here (needs root)");
        mounted.add(at);
        return at;
    }

    /** Unmounts what {@link #mount} mounted, the last first. */
    void unmountAll() throws Exception {
        Collections.reverse(mounted);
        for (Path at : mounted) {
            assertThat(run("umount", at.toString())).as("umount " + at).isZero();
        }
        mounted.clear();
    }

    private static int run(String... command) throws Exception {
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        assertThat(p.waitFor(30, TimeUnit.SECONDS)).isTrue();
        return p.exitValue();
    }
}
