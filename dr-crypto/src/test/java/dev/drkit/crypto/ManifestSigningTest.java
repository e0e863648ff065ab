package dev.drkit.crypto;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.drkit.DrException;
import dev.drkit.DrKit;
import dev.drkit.RestoreRequest;
import dev.drkit.TargetSpec;
import dev.drkit.VerifyLevel;
import dev.drkit.spi.support.Sha256;
import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.bouncycastle.openpgp.PGPPublicKeyRingCollection;
import org.bouncycastle.openpgp.PGPUtil;
import org.bouncycastle.openpgp.operator.jcajce.JcaKeyFingerprintCalculator;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ManifestSigningTest {
    @TempDir
    Path dir;

    Path config;

    @BeforeEach
    void writeConfig() throws Exception {
        config = Files.createDirectories(dir.resolve("etc/app"));
        Files.writeString(config.resolve("app.yaml"), "port: 8080\n");
    }

    static PgpManifestSigner signer(PgpKeys.Generated g) throws Exception {
        return PgpManifestSigner.of(TestKeys.secretKeys(g), null, "test key");
    }

    static PgpManifestVerifier trusting(PgpKeys.Generated g) throws Exception {
        return PgpManifestVerifier.of(new PGPPublicKeyRingCollection(
                PGPUtil.getDecoderStream(new ByteArrayInputStream(g.publicArmored())),
                new JcaKeyFingerprintCalculator()));
    }

    private DrKit kit(PgpManifestSigner signer, PgpManifestVerifier trusted) {
        return DrKit.builder()
                .repository(dir.resolve("repo").toString())
                .signer(signer)
                .trustedSignatures(trusted)
                .build();
    }

    private Path manifest(String id) {
        return dir.resolve("repo/backups/config/" + id + "/manifest.json");
    }

    @Test
    void signedBackupsVerifyAndRestore() throws Exception {
        String id;
        try (DrKit kit = kit(signer(TestKeys.pair()), null)) {
            id = kit.backup(TargetSpec.files("config", config.toString())).id();
        }
        assertThat(Files.readString(manifest(id).resolveSibling("manifest.json.asc")))
                .startsWith("-----BEGIN PGP SIGNATURE-----");
        try (DrKit kit = kit(null, trusting(TestKeys.pair()))) {
            assertThat(kit.verify("config", id, VerifyLevel.DECODE).passed()).isTrue();
            kit.restore(RestoreRequest.files("config", id, dir.resolve("out")));
        }
        assertThat(dir.resolve("out").resolve(config.toString().substring(1)).resolve("app.yaml"))
                .hasContent("port: 8080");
    }

    @Test
    void modifiedManifestIsRefused() throws Exception {
        String id;
        try (DrKit kit = kit(signer(TestKeys.pair()), null)) {
            id = kit.backup(TargetSpec.files("config", config.toString())).id();
        }
        String json = Files.readString(manifest(id));
        Files.delete(manifest(id));
        String forged = json.replace("\"kind\" : \"full\"", "\"kind\" : \"fuII\"");
        Files.writeString(manifest(id), forged);
        // an attacker who can write the repository fixes up the checksum file too: only the signature tells
        Path checksum = manifest(id).resolveSibling("manifest.json.sha256");
        Files.delete(checksum);
        byte[] bytes = forged.getBytes(StandardCharsets.UTF_8);
        Files.writeString(checksum, Sha256.sidecar(Sha256.hex(bytes, 0, bytes.length), "manifest.json"));
        try (DrKit kit = kit(null, trusting(TestKeys.pair()))) {
            assertThatThrownBy(() -> kit.restore(RestoreRequest.files("config", id, dir.resolve("out"))))
                    .isInstanceOfSatisfying(DrException.class, e -> {
                        assertThat(e.code()).isEqualTo(DrException.ErrorCode.SIGNATURE);
                        assertThat(e.getMessage()).contains("modified");
                    });
            assertThatThrownBy(() -> kit.verify("config", id, VerifyLevel.CHECKSUM))
                    .isInstanceOf(DrException.class);
        }
        assertThat(dir.resolve("out")).doesNotExist();
    }

    @Test
    void unsignedOrForeignSignedManifestsAreRefusedWhenAKeyIsTrusted() throws Exception {
        String unsigned;
        String foreign;
        try (DrKit kit = kit(null, null)) {
            unsigned = kit.backup(TargetSpec.files("config", config.toString())).id();
        }
        try (DrKit kit = kit(signer(TestKeys.other()), null)) {
            foreign = kit.backup(TargetSpec.files("config", config.toString())).id();
        }
        try (DrKit kit = kit(null, trusting(TestKeys.pair()))) {
            assertThatThrownBy(() -> kit.verify("config", unsigned, VerifyLevel.CHECKSUM))
                    .hasMessageContaining("not signed");
            assertThatThrownBy(() -> kit.verify("config", foreign, VerifyLevel.CHECKSUM))
                    .hasMessageContaining("not a trusted key");
        }
        // without a trusted key, nothing is checked (signatures are opt-in)
        try (DrKit kit = kit(null, null)) {
            assertThat(kit.verify("config", unsigned, VerifyLevel.CHECKSUM).passed())
                    .isTrue();
        }
    }

    @Test
    void signatureBytesAreDetachedOverTheExactManifest() throws Exception {
        byte[] doc = "{\"id\":1}".getBytes(StandardCharsets.UTF_8);
        byte[] sig = signer(TestKeys.pair()).sign(doc);
        trusting(TestKeys.pair()).verify(doc, sig, "doc");
        byte[] changed = "{\"id\":2}".getBytes(StandardCharsets.UTF_8);
        assertThatThrownBy(() -> trusting(TestKeys.pair()).verify(changed, sig, "doc"))
                .isInstanceOf(DrException.class);
    }
}
