package dev.drkit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A DrKit after close(): every operation fails and says so. */
class ClosedKitTest {
    @TempDir
    Path tmp;

    /**
     * DrKit.close() kept no closed state: every operation after it went on as if the kit were open.
     * On a local repository a backup after close() writes a new backup into the repository; on a
     * repository whose client close() shut down (S3) the same call fails with whatever the closed client
     * throws. The project's rule: operations after close fail clearly.
     */
    @Test
    void operationsAfterCloseFailClearly() throws Exception {
        Path source = Files.createDirectories(tmp.resolve("src"));
        Files.writeString(source.resolve("a.txt"), "a");
        DrKit kit = DrKit.builder().repository(tmp.resolve("repo").toString()).build();
        kit.backup(TargetSpec.files("config", source.toString()));
        kit.close();
        kit.close(); // idempotent

        assertThatThrownBy(() -> kit.backup(TargetSpec.files("config", source.toString())))
                .as("a backup through a closed kit")
                .isInstanceOfAny(IllegalStateException.class, DrException.class)
                .hasMessageContaining("closed");
        try (DrKit reader =
                DrKit.builder().repository(tmp.resolve("repo").toString()).build()) {
            assertThat(reader.list("config")).as("backups in the repository").hasSize(1);
        }
    }
}
