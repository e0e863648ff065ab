package dev.drkit;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.drkit.internal.repo.ManifestCodec;
import dev.drkit.spi.ManifestSigner;
import dev.drkit.spi.ManifestVerifier;
import dev.drkit.spi.support.Json;
import dev.drkit.storage.FileStorageBackend;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * With trusted keys, a copy judged the destination's manifest by its checksum alone: a manifest
 * forged there (checksum rewritten) made every later copy report the backup as already copied,
 * and the offsite copy stayed damaged for every reader that trusts the key. The destination is
 * now read with the same trusted keys, and such a manifest is put back.
 */
class CopyDestinationSignatureTest {
    @TempDir
    Path dir;

    static final ManifestSigner SIGNER = ToySignatures.SIGNER;
    static final ManifestVerifier TRUSTED = ToySignatures.TRUSTED;

    @Test
    void aCopyWithTrustedKeysPutsBackADestinationManifestThatIsNotSigned() throws Exception {
        Path data = Files.createDirectories(dir.resolve("etc/app"));
        Files.writeString(data.resolve("a.conf"), "a=1\n");
        FileStorageBackend offsite = new FileStorageBackend(dir.resolve("offsite"));
        try (DrKit local = DrKit.builder()
                .repository(dir.resolve("local").toString())
                .signer(SIGNER)
                .trustedSignatures(TRUSTED)
                .build()) {
            String id =
                    local.backup(TargetSpec.files("config", data.toString())).id();
            local.copy("config", id, false, offsite);

            // the forger rewrites the offsite manifest and its checksum file (no key: the signature stays stale)
            Path manifest = dir.resolve("offsite/backups/config/" + id + "/manifest.json");
            ObjectNode tree = (ObjectNode) Json.mapper().readTree(Files.readAllBytes(manifest));
            ((ObjectNode) tree.get("metadata")).putArray("paths").add("/forged");
            byte[] forged = Json.write(tree);
            Files.write(manifest, forged);
            Files.write(
                    manifest.resolveSibling("manifest.json.sha256"),
                    ManifestCodec.checksumFile(forged, "manifest.json"));

            CopyResult again = local.copy("config", id, false, offsite);
            assertThat(again.skipped()).as("reported as already copied").doesNotContain(id);
        }
        try (DrKit remote =
                DrKit.builder().storage(offsite).trustedSignatures(TRUSTED).build()) {
            assertThat(remote.list("config")).extracting(BackupManifest::id).hasSize(1);
        }
    }
}
