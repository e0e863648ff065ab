package dev.drkit.examples;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class EmbeddingExampleTest {
    @TempDir
    Path dir;

    @Test
    void theReadmeExampleBacksUpVerifiesAndRestores() throws Exception {
        Path config = Files.createDirectories(dir.resolve("etc/app"));
        Files.writeString(config.resolve("app.yaml"), "port: 8080\n");

        Path restored = EmbeddingExample.run(dir.resolve("repo"), config, dir.resolve("restored"));

        assertThat(restored.resolve("app.yaml")).hasContent("port: 8080");
        assertThat(dir.resolve("repo/backups/config")).isDirectory();
    }
}
