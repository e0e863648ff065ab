package dev.drkit.spi.support;

import static org.assertj.core.api.Assertions.assertThatCode;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.drkit.ConfigException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class PrivateFilesTest {
    @TempDir
    Path dir;

    private Path file(String perms) throws Exception {
        Path f = Files.writeString(dir.resolve("secret-" + perms), "s3cret\n");
        Files.setPosixFilePermissions(f, PosixFilePermissions.fromString(perms));
        return f;
    }

    @Test
    void onlyTheOwnersFilePasses() throws Exception {
        assertThatCode(() -> PrivateFiles.requirePrivate(file("rw-------"), "key file"))
                .doesNotThrowAnyException();
        assertThatCode(() -> PrivateFiles.requirePrivate(file("r--------"), "key file"))
                .doesNotThrowAnyException();
        for (String open : new String[] {"rw-r-----", "rw--w----", "rw----r--", "rw-----w-", "rwx-----x"}) {
            Path f = file(open);
            assertThatThrownBy(() -> PrivateFiles.requirePrivate(f, "key file"))
                    .as(open)
                    .isInstanceOf(ConfigException.class)
                    .hasMessage("the key file " + f + " is open to other users (" + open + "); chmod 600 " + f
                            + " so that only its owner can read it");
        }
    }

    @Test
    void missingFilesAndDirectoriesAreNamed() throws Exception {
        Path missing = dir.resolve("nope");
        assertThatThrownBy(() -> PrivateFiles.requirePrivate(missing, "passphrase file"))
                .isInstanceOf(ConfigException.class)
                .hasMessageStartingWith("the passphrase file " + missing + " does not exist");
        assertThatThrownBy(() -> PrivateFiles.requireExisting(missing, "public key file"))
                .isInstanceOf(ConfigException.class)
                .hasMessageStartingWith("the public key file " + missing + " does not exist");
        Path sub = Files.createDirectory(
                dir.resolve("keys"),
                PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
        assertThatThrownBy(() -> PrivateFiles.requirePrivate(sub, "secret key file"))
                .isInstanceOf(ConfigException.class)
                .hasMessageContaining(sub + " is not a file");
    }
}
