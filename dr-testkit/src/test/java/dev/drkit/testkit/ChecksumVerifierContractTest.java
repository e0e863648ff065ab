package dev.drkit.testkit;

import dev.drkit.spi.VerifierProvider;
import dev.drkit.verify.StreamVerifier;

class ChecksumVerifierContractTest extends FilesVerifierContract {
    @Override
    protected VerifierProvider provider() {
        return new StreamVerifier.ChecksumProvider();
    }
}
