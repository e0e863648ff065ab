package dev.drkit;

import static org.assertj.core.api.Assertions.assertThat;

import dev.drkit.spi.ManifestVerifier;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A kit with a signer and trusted keys tries its signer on a probe before each backup. A
 * verifier may look at what it is given (its contract speaks of manifests only): one that cannot
 * judge the probe must not stop every backup, nor status.
 */
class SignerTrustProbeTest {
    @TempDir
    Path dir;

    /** Trusts the toy signature, and reads only manifests (JSON objects). */
    private static final ManifestVerifier READS_MANIFESTS = new ManifestVerifier() {
        @Override
        public String signatureSuffix() {
            return ToySignatures.TRUSTED.signatureSuffix();
        }

        @Override
        public void verify(byte[] manifest, byte[] signature, String what) {
            if (manifest.length == 0 || manifest[0] != '{') {
                throw new CorruptDataException(what + " is not a manifest");
            }
            ToySignatures.TRUSTED.verify(manifest, signature, what);
        }
    };

    @Test
    void aVerifierThatReadsOnlyManifestsDoesNotStopBackupsNorStatus() throws Exception {
        Path src = Files.createDirectories(dir.resolve("src"));
        Files.writeString(src.resolve("app.conf"), "x=1\n");
        try (DrKit kit = DrKit.builder()
                .repository(dir.resolve("repo").toString())
                .signer(ToySignatures.SIGNER)
                .trustedSignatures(READS_MANIFESTS)
                .build()) {
            BackupResult b = kit.backup(TargetSpec.files("config", src.toString()));

            kit.restore(RestoreRequest.files("config", b.id(), dir.resolve("out")));
            assertThat(dir.resolve("out")).isDirectory();
            assertThat(kit.status(Map.of()).problems()).isEmpty();
        }
    }
}
