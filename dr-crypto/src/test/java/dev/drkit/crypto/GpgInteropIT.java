package dev.drkit.crypto;

import static org.assertj.core.api.Assertions.assertThat;

import dev.drkit.testkit.Prerequisites;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** drkit and the real gpg read each other's messages, both ways, with keys and passphrases. */
class GpgInteropIT {
    @TempDir
    Path dir;

    Path home;
    PgpKeys.Generated keys;
    byte[] payload;

    @BeforeEach
    void gpgHome() throws Exception {
        Prerequisites.requireTool("gpg");
        // gpg-agent's socket path must stay short
        home = Files.createTempDirectory(
                Path.of("/tmp"),
                "gpg",
                PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
        keys = PgpKeys.writeTo(dir.resolve("keys"), "drkit interop <interop@drkit.dev>", null);
        gpg("--import", dir.resolve("keys/secret.asc").toString());
        payload = new byte[3_000_000];
        new Random(9).nextBytes(payload);
    }

    @AfterEach
    void stopAgent() throws Exception {
        new ProcessBuilder("gpgconf", "--homedir", home.toString(), "--kill", "all")
                .start()
                .waitFor();
        new ProcessBuilder("rm", "-rf", home.toString()).start().waitFor();
    }

    private String gpg(String... args) throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>(
                List.of("gpg", "--homedir", home.toString(), "--batch", "--yes", "--pinentry-mode", "loopback"));
        cmd.addAll(List.of(args));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor()).as(String.join(" ", cmd) + "\n" + out).isZero();
        return out;
    }

    @Test
    void gpgAcceptsTheGeneratedKey() throws Exception {
        String listing = gpg("--list-secret-keys", "--with-colons");
        assertThat(listing).contains("ed25519").contains("cv25519").contains(keys.keyId());
    }

    @Test
    void gpgDecryptsWhatDrkitEncryptsToAKey() throws Exception {
        Path message = dir.resolve("data.pgp");
        Files.write(
                message,
                PgpEncryptionTest.encrypt(
                        PgpEncryption.builder()
                                .recipients(dir.resolve("keys/public.asc"))
                                .build(),
                        payload));
        gpg("--output", dir.resolve("out.bin").toString(), "--decrypt", message.toString());
        assertThat(Files.readAllBytes(dir.resolve("out.bin"))).isEqualTo(payload);
    }

    @Test
    void drkitDecryptsWhatGpgEncryptsToItsKey() throws Exception {
        Files.write(dir.resolve("in.bin"), payload);
        gpg(
                "--trust-model",
                "always",
                "--recipient",
                keys.keyId(),
                "--output",
                dir.resolve("in.gpg").toString(),
                "--encrypt",
                dir.resolve("in.bin").toString());
        byte[] clear = PgpEncryptionTest.decrypt(
                PgpDecryption.builder()
                        .secretKeys(dir.resolve("keys/secret.asc"))
                        .build(),
                Files.readAllBytes(dir.resolve("in.gpg")));
        assertThat(clear).isEqualTo(payload);
    }

    @Test
    void gpgVerifiesDrkitManifestSignatures() throws Exception {
        byte[] manifest = "{\"format\" : 1}\n".getBytes(StandardCharsets.UTF_8);
        Files.write(dir.resolve("manifest.json"), manifest);
        Files.write(
                dir.resolve("manifest.json.asc"),
                PgpManifestSigner.fromFile(dir.resolve("keys/secret.asc"), null).sign(manifest));
        String out = gpg(
                "--verify",
                dir.resolve("manifest.json.asc").toString(),
                dir.resolve("manifest.json").toString());
        assertThat(out).contains("Good signature");
    }

    @Test
    void passphraseMessagesWorkBothWays() throws Exception {
        Path pass = Files.writeString(dir.resolve("pass"), "a long passphrase for the drill\n");
        Files.setPosixFilePermissions(pass, PosixFilePermissions.fromString("rw-------"));
        char[] secret = Passphrases.fromFile(pass);

        Files.write(
                dir.resolve("sym.pgp"),
                PgpEncryptionTest.encrypt(
                        PgpEncryption.builder().passphrase(secret).build(), payload));
        gpg(
                "--passphrase-file",
                pass.toString(),
                "--output",
                dir.resolve("sym.out").toString(),
                "--decrypt",
                dir.resolve("sym.pgp").toString());
        assertThat(Files.readAllBytes(dir.resolve("sym.out"))).isEqualTo(payload);

        Files.write(dir.resolve("in.bin"), payload);
        gpg(
                "--passphrase-file",
                pass.toString(),
                "--symmetric",
                "--cipher-algo",
                "AES256",
                "-z",
                "0",
                "--output",
                dir.resolve("in.gpg").toString(),
                dir.resolve("in.bin").toString());
        assertThat(PgpEncryptionTest.decrypt(
                        PgpDecryption.builder().passphrase(secret).build(), Files.readAllBytes(dir.resolve("in.gpg"))))
                .isEqualTo(payload);
    }
}
