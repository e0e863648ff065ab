package dev.drkit.testkit;

import dev.drkit.ArtifactInfo;
import dev.drkit.BackupManifest;
import dev.drkit.spi.VerifierProvider;
import dev.drkit.verify.ChecksumFileVerifier;
import java.nio.charset.StandardCharsets;

/** {@code checksum-files} reads the {@code .sha256} files, so the damage is to one of them. */
class ChecksumFileVerifierContractTest extends FilesVerifierContract {
    @Override
    protected VerifierProvider provider() {
        return new ChecksumFileVerifier.Provider();
    }

    @Override
    protected String corrupt(BackupManifest manifest) throws Exception {
        ArtifactInfo artifact = manifest.artifacts().get(0);
        String key = objectKey(manifest, artifact.storedName() + ".sha256");
        storage.delete(key);
        storage.createIfAbsent(
                key, ("0".repeat(64) + "  " + artifact.storedName() + "\n").getBytes(StandardCharsets.US_ASCII));
        return artifact.storedName() + ".sha256";
    }
}
