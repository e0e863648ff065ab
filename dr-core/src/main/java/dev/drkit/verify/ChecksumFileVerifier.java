package dev.drkit.verify;

import dev.drkit.ArtifactInfo;
import dev.drkit.Settings;
import dev.drkit.VerificationResult;
import dev.drkit.VerifyLevel;
import dev.drkit.spi.OptionSchema;
import dev.drkit.spi.VerificationContext;
import dev.drkit.spi.Verifier;
import dev.drkit.spi.VerifierProvider;
import dev.drkit.spi.support.Sha256;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * {@code checksum-files}: every artifact's {@code .sha256} file exists and says exactly what
 * the manifest records, in the form {@code sha256sum -c} reads. The break-glass restore
 * without drkit starts with that command, so a damaged checksum file is a damaged backup.
 */
public final class ChecksumFileVerifier implements Verifier {
    @Override
    public String name() {
        return "checksum-files";
    }

    @Override
    public VerificationResult verify(VerificationContext context) throws IOException {
        VerificationResult.Timer timer = VerificationResult.start(name());
        List<String> problems = new ArrayList<>();
        String backup = context.manifest().target() + "/" + context.manifest().id();
        for (ArtifactInfo a : context.manifest().artifacts()) {
            byte[] stored = context.checksumFile(a);
            String file = backup + "/" + a.storedName() + ".sha256";
            if (stored == null) {
                problems.add("checksum file " + file + " is missing");
            } else if (!new String(stored, StandardCharsets.US_ASCII)
                    .equals(Sha256.sidecar(a.sha256(), a.storedName()))) {
                problems.add("checksum file " + file + " does not match the manifest (the check with sha256sum "
                        + "would fail)");
            }
        }
        return timer.result(
                problems, Map.of("artifacts", context.manifest().artifacts().size()));
    }

    /** Provides {@code checksum-files} for every target type, at the checksum level. */
    public static final class Provider implements VerifierProvider {
        @Override
        public String name() {
            return "checksum-files";
        }

        @Override
        public VerifyLevel level() {
            return VerifyLevel.CHECKSUM;
        }

        @Override
        public boolean supports(String targetType) {
            return true;
        }

        @Override
        public Verifier create(Settings settings) {
            return new ChecksumFileVerifier();
        }

        @Override
        public OptionSchema schema() {
            return OptionSchema.none();
        }
    }
}
