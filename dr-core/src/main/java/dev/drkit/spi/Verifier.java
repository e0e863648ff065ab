package dev.drkit.spi;

import dev.drkit.VerificationResult;
import java.io.IOException;

/**
 * Checks one backup and reports what it found. Verifiers never modify the repository.
 * Instances are created per use and need not be thread-safe.
 */
public interface Verifier {

    /** The verifier's name (e.g. {@code checksum}). */
    String name();

    /**
     * Verifies a backup. Problems found in the backup are reported in the result, not
     * thrown; exceptions mean the verifier could not do its job (storage unreachable).
     */
    VerificationResult verify(VerificationContext context) throws IOException;
}
