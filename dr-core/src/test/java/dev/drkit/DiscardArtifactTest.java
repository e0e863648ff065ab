package dev.drkit;

import static org.assertj.core.api.Assertions.assertThat;

import dev.drkit.spi.BackupContext;
import dev.drkit.spi.BackupTarget;
import dev.drkit.spi.BackupTargetProvider;
import dev.drkit.spi.RestoreContext;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.EnumSet;
import java.util.Set;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A target may drop an artifact it began and will not finish (a Redis key-level delta that finds
 * module data part way and takes a full snapshot instead): the manifest does not list it, nothing
 * of it stays in the repository, and its name may be used again.
 */
class DiscardArtifactTest {
    @TempDir
    Path dir;

    /** Begins "a" and "b", drops both, writes "a" again, leaves "b" out. */
    static final class ChangesItsMind implements BackupTarget {
        @Override
        public String type() {
            return "fickle";
        }

        @Override
        public Set<Capability> capabilities() {
            return EnumSet.of(Capability.FULL);
        }

        @Override
        public void backup(BackupContext context) throws IOException {
            OutputStream a = context.newArtifact("a");
            a.write(new byte[3 << 20]); // beyond the buffers: some of it reached the repository
            OutputStream b = context.newArtifact("b");
            b.write("begun".getBytes(StandardCharsets.UTF_8));
            context.discardArtifact("a");
            context.discardArtifact("b");
            context.discardArtifact("never-opened");
            try (OutputStream again = context.newArtifact("a")) {
                again.write("the one kept".getBytes(StandardCharsets.UTF_8));
            }
        }

        @Override
        public void restore(RestoreContext context) throws IOException {
            try (var in = context.openArtifact("a")) {
                Files.write(Path.of(context.options().get("to", null)), in.readAllBytes());
            }
        }
    }

    @Test
    void aDiscardedArtifactIsNeitherListedNorStored() throws Exception {
        BackupTargetProvider provider = new BackupTargetProvider() {
            @Override
            public String type() {
                return "fickle";
            }

            @Override
            public BackupTarget create(Settings settings) {
                return new ChangesItsMind();
            }
        };
        try (DrKit kit = DrKit.builder()
                .repository(dir.resolve("repo").toString())
                .register(provider)
                .build()) {
            BackupResult r = kit.backup(new TargetSpec("f", "fickle", Settings.empty()));
            assertThat(r.manifest().artifacts()).extracting(ArtifactInfo::name).containsExactly("a");
            Path out = dir.resolve("restored");
            kit.restore(new RestoreRequest(
                    "f", r.id(), Settings.builder().set("to", out.toString()).build(), false));
            assertThat(Files.readString(out)).isEqualTo("the one kept");
            try (Stream<Path> files = Files.walk(dir.resolve("repo"))) {
                assertThat(files.filter(Files::isRegularFile)
                                .map(p -> p.getFileName().toString()))
                        .noneMatch(n -> n.startsWith("b"))
                        .noneMatch(n -> n.endsWith(".part"));
            }
        }
    }
}
