package dev.drkit.crypto;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.drkit.ConfigException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** What a person sees when a key or passphrase file is missing, not a key, or open to others. */
class KeyFilesTest {
    @TempDir
    Path dir;

    private Path write(String name, byte[] content, String perms) throws Exception {
        Path f = Files.write(dir.resolve(name), content);
        Files.setPosixFilePermissions(f, PosixFilePermissions.fromString(perms));
        return f;
    }

    @Test
    void secretKeyFileReadableByGroupOrOthersIsRefused() throws Exception {
        for (String perms : new String[] {"rw-r-----", "rw----r--", "rw-r--r--"}) {
            Path key = write("secret-" + perms + ".asc", TestKeys.pair().secretArmored(), perms);
            assertThatThrownBy(() -> PgpKeys.secretKeys(key))
                    .as(perms)
                    .isInstanceOf(ConfigException.class)
                    .hasMessageContaining(key.toString())
                    .hasMessageContaining("chmod 600");
            assertThatThrownBy(() -> PgpManifestSigner.fromFile(key, null))
                    .as(perms)
                    .isInstanceOf(ConfigException.class)
                    .hasMessageContaining("chmod 600");
        }
        Path own = write("secret.asc", TestKeys.pair().secretArmored(), "rw-------");
        assertThat(PgpKeys.secretKeys(own)).hasSize(1);
    }

    @Test
    void passphraseFileReadableByOthersIsRefusedTheSameWay() throws Exception {
        Path open = write("pass", "correct horse\n".getBytes(), "rw-r--r--");
        assertThatThrownBy(() -> Passphrases.fromFile(open))
                .isInstanceOf(ConfigException.class)
                .hasMessageContaining(open.toString())
                .hasMessageContaining("chmod 600");
        Path own = write("pass-own", "correct horse\n".getBytes(), "rw-------");
        assertThat(Passphrases.fromFile(own)).containsExactly("correct horse".toCharArray());
    }

    @Test
    void missingKeyFilesAreNamedWithoutExceptionClassNames() {
        Path missing = dir.resolve("nope/secret.asc");
        for (ThrowingRead read : new ThrowingRead[] {
            () -> PgpKeys.secretKeys(missing),
            () -> PgpKeys.encryptionKeys(missing),
            () -> PgpManifestVerifier.fromFile(missing),
            () -> Passphrases.fromFile(missing)
        }) {
            assertThatThrownBy(read::run)
                    .isInstanceOf(ConfigException.class)
                    .hasMessageContaining(missing + " does not exist")
                    .hasMessageNotContaining("Exception");
        }
    }

    @Test
    void garbageIsNotTakenForAnEmptyKeyRing() throws Exception {
        Path garbage = write("garbage.asc", "this is not a key\n".getBytes(), "rw-------");
        Path binary = write("garbage.bin", new byte[] {(byte) 0x99, 0x01, 0x02, 0x03, 0x04, 0x05}, "rw-------");
        for (Path f : new Path[] {garbage, binary}) {
            assertThatThrownBy(() -> PgpKeys.secretKeys(f))
                    .as(f.toString())
                    .isInstanceOf(ConfigException.class)
                    .hasMessageContaining(f + " is not an OpenPGP secret key (armored or binary)")
                    .hasMessageNotContaining("Exception");
            assertThatThrownBy(() -> PgpKeys.encryptionKeys(f))
                    .as(f.toString())
                    .isInstanceOf(ConfigException.class)
                    .hasMessageContaining(f + " is not an OpenPGP public key (armored or binary)")
                    .hasMessageNotContaining("Exception");
        }
    }

    @Test
    void aPublicKeyGivenAsSecretKeySaysSo() throws Exception {
        Path pub = write("public.asc", TestKeys.pair().publicArmored(), "rw-------");
        assertThatThrownBy(() -> PgpKeys.secretKeys(pub))
                .isInstanceOf(ConfigException.class)
                .hasMessageContaining(pub + " holds a public key, not a secret key")
                .hasMessageNotContaining("Exception")
                .hasMessageNotContaining("PGP");
    }

    private interface ThrowingRead {
        void run() throws Exception;
    }

    @Test
    void keysAreNotWrittenIntoAPathThatIsAFile() throws Exception {
        Path file = write("keys", "not a directory\n".getBytes(), "rw-------");
        assertThatThrownBy(() -> PgpKeys.writeTo(file, "drkit backups", null))
                .isInstanceOf(ConfigException.class)
                .hasMessageContaining(file + " exists and is not a directory");
        assertThat(file).hasContent("not a directory");
    }
}
