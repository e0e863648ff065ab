package dev.drkit.examples.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.drkit.Capability;
import dev.drkit.DrKit;
import dev.drkit.spi.BackupContext;
import dev.drkit.spi.BackupTarget;
import dev.drkit.spi.RestoreContext;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Path;
import java.util.EnumSet;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A backup's kind is free text a target (or whoever wrote the repository) chose: the listing,
 * on stdout, shows it without its control characters, as it shows a damaged backup's reason.
 */
class ListKindControlsTest {
    @TempDir
    Path dir;

    /** A target of a host's that names its kind with an escape sequence. */
    private static final class OddKind implements BackupTarget {
        @Override
        public String type() {
            return "odd";
        }

        @Override
        public Set<Capability> capabilities() {
            return EnumSet.of(Capability.FULL);
        }

        @Override
        public void backup(BackupContext context) throws IOException {
            context.kind("x\u001b]2;owned\u0007\u202e");
            try (OutputStream out = context.newArtifact("data.bin")) {
                out.write(1);
            }
        }

        @Override
        public void restore(RestoreContext context) {}
    }

    @Test
    void aKindWithControlCharactersIsListedWithout() {
        String repo = dir.resolve("repo").toString();
        try (DrKit kit =
                DrKit.builder().repository(repo).target("odd", new OddKind()).build()) {
            kit.backup("odd");
        }

        InProcessCli.Run list = InProcessCli.run("--repo", repo, "list");

        assertThat(list.exit()).isZero();
        assertThat(list.out()).contains("x?]2;owned??").doesNotContain("\u001b").doesNotContain("\u202e");
    }
}
