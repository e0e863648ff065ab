package dev.drkit;

import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.drkit.spi.BackupContext;
import dev.drkit.spi.BackupTarget;
import dev.drkit.spi.BackupTargetProvider;
import dev.drkit.spi.RestoreContext;
import java.nio.file.DirectoryIteratorException;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.EnumSet;
import java.util.Set;
import java.util.function.Supplier;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A target (or a plugin) failing with a runtime exception of its own: the error people read says
 * what failed in words, never the exception's Java class name, which only the cause keeps. A
 * review found "restore failed: java.util.regex.PatternSyntaxException: ..." reaching people.
 */
class UnexpectedFailureWordsTest {
    @TempDir
    Path dir;

    private static BackupTargetProvider failingWith(Supplier<RuntimeException> failure) {
        return new BackupTargetProvider() {
            @Override
            public String type() {
                return "failing";
            }

            @Override
            public BackupTarget create(Settings settings) {
                return new BackupTarget() {
                    @Override
                    public String type() {
                        return "failing";
                    }

                    @Override
                    public Set<Capability> capabilities() {
                        return EnumSet.of(Capability.FULL);
                    }

                    @Override
                    public void backup(BackupContext context) {
                        throw failure.get();
                    }

                    @Override
                    public void restore(RestoreContext context) {
                        throw failure.get();
                    }
                };
            }
        };
    }

    private void backUp(Supplier<RuntimeException> failure, String... says) {
        try (DrKit kit = DrKit.builder()
                .repository(dir.resolve("repo").toString())
                .register(failingWith(failure))
                .build()) {
            var thrown = assertThatThrownBy(() -> kit.backup(new TargetSpec("t", "failing", Settings.empty())))
                    .isInstanceOf(DrException.class)
                    .hasMessageNotContaining("java.")
                    .hasMessageNotContaining("Exception");
            for (String s : says) {
                thrown.hasMessageContaining(s);
            }
            RuntimeException f = failure.get();
            // the cause kept is what failed: a listing's wrapper gives way to the file failure it carries
            thrown.hasCauseInstanceOf(
                    f instanceof DirectoryIteratorException ? f.getCause().getClass() : f.getClass());
        }
    }

    @Test
    void aFailureWithWordsIsSaidInThem() {
        backUp(() -> new IllegalStateException("the source went away"), "backup of t failed: the source went away");
    }

    @Test
    void aDirectoryListingsFailureIsSaidAsTheFileFailureItWraps() {
        backUp(
                () -> new DirectoryIteratorException(new NoSuchFileException("/srv/app/gone")),
                "backup of t failed while reading its source: ",
                "/srv/app/gone");
    }

    @Test
    void aFailureWithoutWordsIsSaidToBeADefect() {
        backUp(NullPointerException::new, "backup of t failed: an unexpected internal error (a defect");
    }
}
