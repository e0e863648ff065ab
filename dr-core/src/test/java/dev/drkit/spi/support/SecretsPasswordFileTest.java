package dev.drkit.spi.support;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.drkit.ConfigException;
import dev.drkit.Settings;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A database password file open to every user was taken as it was, while a passphrase
 * file, an SMTP password file, a chunk key file or a credentials file in the same state was refused
 * (PrivateFiles: "every secret file is refused the same way").
 */
class SecretsPasswordFileTest {
    @TempDir
    Path dir;

    @Test
    void aWorldReadablePasswordFileIsRefusedLikeEveryOtherSecretFile() throws Exception {
        Path file = Files.writeString(dir.resolve("pgpass"), "s3cret\n");
        Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rw-r--r--"));
        Settings s = Settings.builder().set("password-file", file.toString()).build();
        assertThatThrownBy(() -> Secrets.password(s, "PGPASSWORD"))
                .isInstanceOf(ConfigException.class)
                .hasMessageContaining("open to other users")
                .hasMessageContaining("chmod 600")
                .satisfies(e -> assertThat(e.getMessage()).doesNotContain("s3cret"));
        Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rw-------"));
        assertThat(Secrets.password(s, "PGPASSWORD")).isEqualTo("s3cret");
    }
}
