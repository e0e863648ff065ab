package dev.drkit.crypto;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatCode;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.drkit.ConfigException;
import dev.drkit.DrException;
import dev.drkit.testkit.Prerequisites;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.bouncycastle.openpgp.PGPPublicKey;
import org.bouncycastle.openpgp.PGPSecretKey;
import org.bouncycastle.openpgp.PGPSignature;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * drkit and the real gpg read each other's messages, both ways, with keys and passphrases; and
 * drkit reads a key's designated revoker and its revocation as gpg writes them.
 */
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
        return run(List.of("--batch"), "", args);
    }

    /**
     * gpg answering its prompts with {@code answers} (one a line) read from --command-fd, as a
     * user at a terminal would; not in batch mode, which --desig-revoke refuses.
     */
    private String gpgAnswering(String answers, String... args) throws IOException, InterruptedException {
        return run(List.of("--no-tty", "--command-fd", "0", "--status-fd", "1"), answers, args);
    }

    private String run(List<String> mode, String input, String... args) throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>(List.of("gpg", "--homedir", home.toString()));
        cmd.addAll(mode);
        cmd.addAll(List.of("--yes", "--pinentry-mode", "loopback"));
        cmd.addAll(List.of(args));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        try (var stdin = p.getOutputStream()) {
            stdin.write(input.getBytes(StandardCharsets.UTF_8));
        }
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

    // A designated revoker as gpg makes one: addrevoker on the signing key, then --desig-revoke
    // by the revoker. Keys are made two days ago (--faked-system-time), so that manifests can be
    // signed between a key's making and its revocation, which gpg dates now.

    private static final byte[] MANIFEST = "{\"format\" : 1}\n".getBytes(StandardCharsets.UTF_8);
    private static final Duration KEY_AGE = Duration.ofDays(2);
    /** Answers to gpg's menu of revocation reasons. */
    private static final String COMPROMISED = "1";

    private static final String SUPERSEDED = "2";

    /** gpg's signing key {@code key}, which designated {@code revoker} to revoke it (fingerprints). */
    private record Designated(String key, String revoker) {}

    private static long keyId(String fingerprint) {
        return Long.parseUnsignedLong(fingerprint.substring(fingerprint.length() - 16), 16);
    }

    /** A new unprotected Ed25519 key that gpg dates {@code made}, its fingerprint. */
    private String newKey(Instant made, String userId, String usage, String expire) throws Exception {
        gpg(
                "--faked-system-time",
                made.getEpochSecond() + "!",
                "--passphrase",
                "",
                "--quick-gen-key",
                userId,
                "ed25519",
                usage,
                expire);
        return listing(userId)
                .lines()
                .filter(l -> l.startsWith("fpr:"))
                .findFirst()
                .orElseThrow()
                .split(":")[9];
    }

    private String listing(String key) throws Exception {
        return gpg("--list-keys", "--with-colons", key);
    }

    /** gpg's validity of {@code key}: r revoked, e expired, u ultimately trusted (gpg's own key). */
    private String validity(String key) throws Exception {
        return listing(key)
                .lines()
                .filter(l -> l.startsWith("pub:"))
                .findFirst()
                .orElseThrow()
                .split(":")[1];
    }

    /** {@code key} designates a new key as its revoker with gpg's addrevoker, dated {@code at}. */
    private Designated designate(String key, Instant at) throws Exception {
        String revoker = newKey(at, "security <security@drkit.dev>", "cert", "never");
        gpgAnswering(
                "addrevoker\n" + revoker + "\ny\nsave\n",
                "--faked-system-time",
                at.getEpochSecond() + "!",
                "--edit-key",
                key);
        assertThat(listing(key)).as("gpg lists the revoker").contains("rvk:").contains(revoker);
        return new Designated(key, revoker);
    }

    private Designated designatedRevoker() throws Exception {
        Instant made = Instant.now().truncatedTo(ChronoUnit.SECONDS).minus(KEY_AGE);
        return designate(newKey(made, "signer <signer@drkit.dev>", "sign", "never"), made);
    }

    /** The revoker's revocation of the key for {@code reason}, gpg's --desig-revoke, not imported yet. */
    private Path revocation(Designated d, String reason) throws Exception {
        Path revocation = dir.resolve("revocation.asc");
        gpgAnswering(
                "y\n" + reason + "\n\ny\n", "--armor", "--output", revocation.toString(), "--desig-revoke", d.key());
        return revocation;
    }

    private void importRevocation(Designated d, Path revocation) throws Exception {
        gpg("--import", revocation.toString());
        assertThat(validity(d.key())).as("gpg believes the key revoked").isEqualTo("r");
    }

    /** The manifest signed by drkit, dated {@code at}, with the key's secret key as gpg exports it. */
    private byte[] signedByDrkit(String key, Instant at) throws Exception {
        Path secret = dir.resolve("secret-" + key + ".asc");
        gpg("--armor", "--output", secret.toString(), "--export-secret-keys", key);
        return PgpManifestSigner.of(PgpKeys.secretKeys(secret), null, "gpg's key", at)
                .sign(MANIFEST);
    }

    /** The manifest signed by gpg now: a detached signature, as drkit writes one. */
    private byte[] signedByGpg(String key) throws Exception {
        Path manifest = Files.write(dir.resolve("manifest.json"), MANIFEST);
        Path signature = dir.resolve("manifest.json.asc");
        gpg("--local-user", key, "--armor", "--output", signature.toString(), "--detach-sign", manifest.toString());
        return Files.readAllBytes(signature);
    }

    /** A verifier trusting the public keys as gpg exports them, in one file, {@code trusted.asc}. */
    private PgpManifestVerifier trusting(String... keys) throws Exception {
        Path file = dir.resolve("trusted.asc");
        List<String> args = new ArrayList<>(List.of("--armor", "--output", file.toString(), "--export"));
        args.addAll(List.of(keys));
        gpg(args.toArray(String[]::new));
        return PgpManifestVerifier.fromFile(file);
    }

    @Test
    void aKeyItsDesignatedRevokerRevokedAsCompromisedIsBelievedForNothing() throws Exception {
        Designated d = designatedRevoker();
        byte[] dayOld = signedByDrkit(d.key(), Instant.now().minus(Duration.ofDays(1)));
        byte[] byGpg = signedByGpg(d.key());
        PgpManifestVerifier unrevoked = trusting(d.key(), d.revoker());
        for (byte[] signature : List.of(dayOld, byGpg)) {
            assertThatCode(() -> unrevoked.verify(MANIFEST, signature, "manifest"))
                    .doesNotThrowAnyException();
        }

        importRevocation(d, revocation(d, COMPROMISED));

        PgpManifestVerifier verifier = trusting(d.key(), d.revoker());
        for (byte[] signature : List.of(dayOld, byGpg)) {
            assertThatThrownBy(() -> verifier.verify(MANIFEST, signature, "manifest"))
                    .isInstanceOf(DrException.class)
                    .hasMessageContaining("the key " + Pgp.keyId(keyId(d.key())) + " is revoked as compromised");
        }
    }

    @Test
    void aKeyItsDesignatedRevokerRevokedAsSupersededKeepsWhatItSignedBefore() throws Exception {
        Designated d = designatedRevoker();
        byte[] dayOld = signedByDrkit(d.key(), Instant.now().minus(Duration.ofDays(1)));
        Path revocation = revocation(d, SUPERSEDED);
        // gpg signs as long as it does not know of the revocation: dated its second, or later
        byte[] after = signedByGpg(d.key());
        importRevocation(d, revocation);

        PgpManifestVerifier verifier = trusting(d.key(), d.revoker());
        assertThatCode(() -> verifier.verify(MANIFEST, dayOld, "manifest")).doesNotThrowAnyException();
        assertThatThrownBy(() -> verifier.verify(MANIFEST, after, "manifest"))
                .isInstanceOf(DrException.class)
                .hasMessageContaining("after the key " + Pgp.keyId(keyId(d.key())) + " was revoked as superseded");
    }

    @Test
    void aRevocationByADesignatedRevokerTheTrustedFileLacksCountsForNothing() throws Exception {
        Designated d = designatedRevoker();
        byte[] byGpg = signedByGpg(d.key());
        importRevocation(d, revocation(d, COMPROMISED));

        PgpManifestVerifier verifier = trusting(d.key());
        PGPPublicKey exported =
                PgpKeys.publicKeyRings(dir.resolve("trusted.asc")).getPublicKey(keyId(d.key()));
        assertThat(exported.getSignaturesOfType(PGPSignature.KEY_REVOCATION))
                .toIterable()
                .as("the trusted file holds the revocation by the revoker")
                .singleElement()
                .satisfies(s -> assertThat(s.getKeyID()).isEqualTo(keyId(d.revoker())));
        assertThatCode(() -> verifier.verify(MANIFEST, byGpg, "manifest")).doesNotThrowAnyException();
    }

    /**
     * addrevoker writes a direct-key signature, newer than the user id's self-signature and
     * without the key's expiry: the key expires all the same, for gpg and for drkit.
     */
    @Test
    void aKeyThatDesignatedARevokerStillExpires() throws Exception {
        Instant made = Instant.now().truncatedTo(ChronoUnit.SECONDS).minus(KEY_AGE);
        Instant expired = made.plus(Duration.ofDays(1));
        String key = newKey(
                made,
                "expiring <expiring@drkit.dev>",
                "sign",
                "seconds=" + Duration.ofDays(1).toSeconds());
        designate(key, made.plus(Duration.ofMinutes(1)));
        assertThat(validity(key)).as("gpg believes the key expired").isEqualTo("e");

        PgpManifestVerifier verifier = trusting(key);
        byte[] before = signedByDrkit(key, expired.minus(Duration.ofHours(1)));
        assertThatCode(() -> verifier.verify(MANIFEST, before, "manifest")).doesNotThrowAnyException();
        Path secret = dir.resolve("secret-" + key + ".asc");
        PGPSecretKey signing = PgpKeys.secretKeys(secret).getSecretKey(keyId(key));
        byte[] after = TestKeys.detached(
                signing.extractPrivateKey(null), signing.getPublicKey(), MANIFEST, expired.plus(Duration.ofHours(1)));
        assertThatThrownBy(() -> verifier.verify(MANIFEST, after, "manifest"))
                .isInstanceOf(DrException.class)
                .hasMessageContaining("after the key " + Pgp.keyId(keyId(key)) + " expired (" + expired);
        assertThatThrownBy(() -> PgpManifestSigner.of(PgpKeys.secretKeys(secret), null, "gpg's key", Instant.now()))
                .isInstanceOf(ConfigException.class)
                .hasMessageContaining("expired on " + expired);
    }
}
