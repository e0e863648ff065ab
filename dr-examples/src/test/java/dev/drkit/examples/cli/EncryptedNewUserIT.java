package dev.drkit.examples.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.drkit.internal.repo.ManifestCodec;
import dev.drkit.testkit.Prerequisites;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The encryption issue's "tried as a new user would", through the real jar and the real gpg. */
class EncryptedNewUserIT {
    private static final String SECRET = "STRIPE_KEY=sk_live_never_in_a_repository";

    @TempDir
    Path work;

    Path repo;
    Path tree;
    Path gnupg;

    @BeforeEach
    void setUp() throws Exception {
        Prerequisites.requireTool("gpg");
        Prerequisites.requireTool("zstd");
        repo = work.resolve("repo");
        tree = Files.createDirectories(work.resolve("app/conf"));
        Files.writeString(tree.resolve(".env.production"), SECRET + "\n");
        Files.writeString(tree.resolve("app.yaml"), "listen: 8080\n".repeat(500));
        gnupg = Files.createTempDirectory(
                Path.of("/tmp"),
                "gpg",
                PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
    }

    @AfterEach
    void stopAgent() throws Exception {
        new ProcessBuilder("gpgconf", "--homedir", gnupg.toString(), "--kill", "all")
                .start()
                .waitFor();
        new ProcessBuilder("rm", "-rf", gnupg.toString()).start().waitFor();
    }

    private CliProcess.Result ok(CliProcess.Result r) {
        assertThat(r.exit()).as(r.err()).isZero();
        return r;
    }

    private String gpg(String args) throws Exception {
        return CliProcess.sh(work, "gpg --homedir " + gnupg + " --batch --yes --pinentry-mode loopback " + args);
    }

    @Test
    void encryptedBackupsOpenOnlyWithTheRightKeyAndWithGpg() throws Exception {
        ok(CliProcess.run(null, "key", "generate", "--out", work.resolve("keys").toString()));
        ok(CliProcess.run(
                null, "key", "generate", "--out", work.resolve("other").toString()));
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(work.resolve("keys/secret.asc"))))
                .isEqualTo("rw-------");

        String id = ok(CliProcess.run(
                        repo,
                        "backup",
                        "files",
                        "--name",
                        "config",
                        "--path",
                        tree.toString(),
                        "--encrypt-to",
                        work.resolve("keys/public.asc").toString()))
                .lastLine();

        try (Stream<Path> files = Files.walk(repo)) {
            for (Path f : files.filter(Files::isRegularFile).toList()) {
                assertThat(Files.readString(f, StandardCharsets.ISO_8859_1))
                        .as(f.toString())
                        .doesNotContain("sk_live")
                        .doesNotContain("listen: 8080");
            }
        }

        Path artifact = repo.resolve("backups/config/" + id + "/files.tar.zst.pgp");
        gpg("--import " + work.resolve("keys/secret.asc"));
        String listing = CliProcess.sh(
                work, "gpg --homedir " + gnupg + " --batch --decrypt " + artifact + " 2>/dev/null | zstd -d | tar -t");
        assertThat(listing).contains("app/conf/.env.production").contains("app/conf/app.yaml");

        CliProcess.Result noKey = CliProcess.run(
                repo,
                "restore",
                "--name",
                "config",
                "--id",
                id,
                "--to",
                work.resolve("r1").toString());
        assertThat(noKey.exit()).isEqualTo(1);
        assertThat(noKey.err()).contains("--secret-key").doesNotContain("setting '");
        assertThat(work.resolve("r1")).doesNotExist();

        CliProcess.Result wrongKey = CliProcess.run(
                repo,
                "restore",
                "--name",
                "config",
                "--id",
                id,
                "--to",
                work.resolve("r2").toString(),
                "--secret-key",
                work.resolve("other/secret.asc").toString());
        assertThat(wrongKey.exit()).isEqualTo(1);
        assertThat(wrongKey.err()).contains("do not fit");
        assertThat(work.resolve("r2")).doesNotExist();

        ok(CliProcess.run(
                repo,
                "restore",
                "--name",
                "config",
                "--id",
                id,
                "--to",
                work.resolve("r3").toString(),
                "--secret-key",
                work.resolve("keys/secret.asc").toString()));
        Path restored = work.resolve("r3").resolve(tree.toString().substring(1));
        assertThat(restored.resolve(".env.production")).hasContent(SECRET);
        assertThat(Files.mismatch(restored.resolve("app.yaml"), tree.resolve("app.yaml")))
                .isEqualTo(-1L);

        ok(CliProcess.run(
                repo,
                "verify",
                "--name",
                "config",
                "--id",
                id,
                "--level",
                "decode",
                "--secret-key",
                work.resolve("keys/secret.asc").toString()));
        byte[] data = Files.readAllBytes(artifact);
        data[data.length / 2] ^= 0x40;
        Files.write(artifact, data);
        CliProcess.Result flipped = CliProcess.run(
                repo,
                "verify",
                "--name",
                "config",
                "--id",
                id,
                "--level",
                "decode",
                "--secret-key",
                work.resolve("keys/secret.asc").toString());
        assertThat(flipped.exit()).isEqualTo(1);
        assertThat(flipped.err()).contains("files.tar.zst.pgp");
    }

    @Test
    void passphraseBackupsDecryptWithGpgAndTheSamePassphrase() throws Exception {
        Path pass = Files.writeString(work.resolve("passphrase"), "correct horse battery staple\n");
        Files.setPosixFilePermissions(pass, PosixFilePermissions.fromString("rw-------"));
        String id = ok(CliProcess.run(
                        repo,
                        "backup",
                        "files",
                        "--name",
                        "config",
                        "--path",
                        tree.toString(),
                        "--passphrase-file",
                        pass.toString()))
                .lastLine();
        Path artifact = repo.resolve("backups/config/" + id + "/files.tar.zst.pgp");

        String listing = CliProcess.sh(
                work,
                "gpg --homedir " + gnupg + " --batch --pinentry-mode loopback " + "--passphrase-file " + pass
                        + " --decrypt " + artifact + " 2>/dev/null | zstd -d | tar -t");
        assertThat(listing).contains("app/conf/.env.production");

        ok(CliProcess.run(
                repo,
                "restore",
                "--name",
                "config",
                "--latest",
                "--to",
                work.resolve("r").toString(),
                "--passphrase-file",
                pass.toString()));
        assertThat(work.resolve("r").resolve(tree.toString().substring(1)).resolve(".env.production"))
                .hasContent(SECRET);
    }

    @Test
    void signedManifestsAreCheckedAgainstTheTrustedKey() throws Exception {
        ok(CliProcess.run(null, "key", "generate", "--out", work.resolve("keys").toString()));
        ok(CliProcess.run(
                null, "key", "generate", "--out", work.resolve("other").toString()));
        String id = ok(CliProcess.run(
                        repo,
                        "backup",
                        "files",
                        "--name",
                        "config",
                        "--path",
                        tree.toString(),
                        "--sign-with",
                        work.resolve("keys/secret.asc").toString()))
                .lastLine();
        Path manifest = repo.resolve("backups/config/" + id + "/manifest.json");

        gpg("--import " + work.resolve("keys/public.asc"));
        assertThat(gpg("--verify " + manifest + ".asc " + manifest)).contains("Good signature");

        ok(CliProcess.run(
                repo,
                "verify",
                "--name",
                "config",
                "--id",
                id,
                "--trusted-key",
                work.resolve("keys/public.asc").toString()));
        CliProcess.Result untrusted = CliProcess.run(
                repo,
                "verify",
                "--name",
                "config",
                "--id",
                id,
                "--trusted-key",
                work.resolve("other/public.asc").toString());
        assertThat(untrusted.exit()).isEqualTo(1);
        assertThat(untrusted.err()).contains("not a trusted key");

        String json = Files.readString(manifest);
        Files.delete(manifest);
        String forged = json.replace("\"kind\" : \"full\"", "\"kind\" : \"f\u0075ll\" ");
        Files.writeString(manifest, forged);
        // the checksum file fixed up too, as an attacker would: only the signature can tell
        Path checksum = manifest.resolveSibling("manifest.json.sha256");
        Files.delete(checksum);
        Files.write(checksum, ManifestCodec.checksumFile(forged.getBytes(StandardCharsets.UTF_8), "manifest.json"));
        CliProcess.Result tampered = CliProcess.run(
                repo,
                "restore",
                "--name",
                "config",
                "--id",
                id,
                "--to",
                work.resolve("r").toString(),
                "--trusted-key",
                work.resolve("keys/public.asc").toString());
        assertThat(tampered.exit()).isEqualTo(1);
        assertThat(tampered.err()).contains("modified");
        assertThat(work.resolve("r")).doesNotExist();
    }
}
