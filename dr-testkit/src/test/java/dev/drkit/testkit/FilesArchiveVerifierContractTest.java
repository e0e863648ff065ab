package dev.drkit.testkit;

import dev.drkit.files.FilesArchiveVerifier;
import dev.drkit.spi.VerifierProvider;

class FilesArchiveVerifierContractTest extends FilesVerifierContract {
    @Override
    protected VerifierProvider provider() {
        return new FilesArchiveVerifier.Provider();
    }
}
