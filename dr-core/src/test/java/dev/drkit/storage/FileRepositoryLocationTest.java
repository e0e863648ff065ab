package dev.drkit.storage;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.drkit.ConfigException;
import dev.drkit.Settings;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A file repository's location that is a file, or lies under one, is a configuration problem said in words. */
class FileRepositoryLocationTest {
    @TempDir
    Path dir;

    @Test
    void aLocationThatIsAFileOrUnderOneIsRefusedInWords() throws Exception {
        Path file = Files.writeString(dir.resolve("afile"), "x");
        FileStorageBackendProvider provider = new FileStorageBackendProvider();

        assertThatThrownBy(() -> provider.create(file.toUri(), Settings.empty()))
                .isInstanceOf(ConfigException.class)
                .hasMessage("the repository location " + file + " is a file, not a directory; name a directory for "
                        + "the repository (a backup creates one that does not exist yet)");
        Path under = file.resolve("sub/repo");
        assertThatThrownBy(() -> provider.create(under.toUri(), Settings.empty()))
                .isInstanceOf(ConfigException.class)
                .hasMessage("the repository location " + under + " is under a file (" + file + "), not a directory; "
                        + "name a directory for the repository (a backup creates one that does not exist yet)");
        // one that does not exist yet, under a directory, is fine: a backup makes it
        assertThat(provider.create(dir.resolve("new/repo").toUri(), Settings.empty()))
                .isNotNull();
    }

    @Test
    void aBareZeroIsADurationOfNothing() {
        assertThat(Settings.parseDuration("lock-wait", "0")).isEqualTo(Duration.ZERO);
        assertThat(Settings.parseDuration("lock-wait", " 0 ")).isEqualTo(Duration.ZERO);
        assertThatThrownBy(() -> Settings.parseDuration("lock-wait", "5")).isInstanceOf(ConfigException.class);
    }
}
