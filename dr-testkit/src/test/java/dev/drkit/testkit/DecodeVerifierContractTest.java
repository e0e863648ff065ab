package dev.drkit.testkit;

import dev.drkit.spi.VerifierProvider;
import dev.drkit.verify.StreamVerifier;

class DecodeVerifierContractTest extends FilesVerifierContract {
    @Override
    protected VerifierProvider provider() {
        return new StreamVerifier.DecodeProvider();
    }
}
