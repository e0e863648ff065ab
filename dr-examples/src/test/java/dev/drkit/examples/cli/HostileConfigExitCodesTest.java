package dev.drkit.examples.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A setup file or a flag with a value out of range is a usage error (2) that says what to change. */
class HostileConfigExitCodesTest {
    @TempDir
    Path dir;

    private static InProcessCli.Run run(String... args) {
        return InProcessCli.run(args);
    }

    private Path setup(String retention) throws Exception {
        Files.createDirectories(dir.resolve("data"));
        Path f = dir.resolve("drkit-" + Math.abs(retention.hashCode()) + ".yaml");
        Files.writeString(
                f,
                "repository: " + dir.resolve("repo") + "\ntargets:\n  a:\n    type: files\n    path: "
                        + dir.resolve("data") + "\n    retention: {keep-within: \"" + retention + "\"}\n");
        return f;
    }

    @Test
    void aKeepWithinOutOfRangeInTheSetupFileIsAUsageErrorWithItsLine() throws Exception {
        // were: exit 1 "check failed: keep-within must not be negative: PT-24H" / "For input string" /
        // "Exceeds capacity of Duration", and 99999999999y passed the check to fail every prune
        for (String within : new String[] {"P-1D", "9999999999999999999d", "999999999999999y", "99999999999y"}) {
            Path f = setup(within);
            InProcessCli.Run r = run("-q", "--config", f.toString(), "config", "check");
            assertThat(r.exit()).as(within + ": " + r.err()).isEqualTo(DrkitCli.USAGE);
            assertThat(r.err())
                    .contains(f + ":6:")
                    .doesNotContain("For input string")
                    .doesNotContain("Exceeds capacity");
        }
        assertThat(dir.resolve("repo")).doesNotExist();
    }

    @Test
    void anOverlongLockWaitIsAUsageErrorThatNamesTheFlag() {
        InProcessCli.Run r =
                run("-q", "--repo", dir.resolve("repo").toString(), "--lock-wait", "9999999999999999999s", "list");
        assertThat(r.exit()).as(r.err()).isEqualTo(DrkitCli.USAGE);
        assertThat(r.err()).contains("--lock-wait").doesNotContain("For input string");
    }
}
