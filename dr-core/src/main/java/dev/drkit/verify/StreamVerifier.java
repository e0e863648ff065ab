package dev.drkit.verify;

import dev.drkit.ArtifactInfo;
import dev.drkit.BackupNotFoundException;
import dev.drkit.ChecksumMismatchException;
import dev.drkit.CorruptDataException;
import dev.drkit.Settings;
import dev.drkit.VerificationResult;
import dev.drkit.VerifyLevel;
import dev.drkit.internal.pipeline.CheckedInputStream;
import dev.drkit.internal.repo.Repository;
import dev.drkit.spi.OptionSchema;
import dev.drkit.spi.VerificationContext;
import dev.drkit.spi.Verifier;
import dev.drkit.spi.VerifierProvider;
import java.io.IOException;
import java.io.InputStream;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * The two built-in verifiers, which apply to every target type:
 * {@code checksum} re-reads every stored artifact and compares its size and sha256 with
 * the manifest; {@code decode} also decrypts and decompresses it end to end and compares
 * the raw size and CRC32C.
 */
public final class StreamVerifier implements Verifier {
    private final boolean decode;

    private StreamVerifier(boolean decode) {
        this.decode = decode;
    }

    @Override
    public String name() {
        return decode ? "decode" : "checksum";
    }

    @Override
    public VerificationResult verify(VerificationContext context) throws IOException {
        VerificationResult.Timer timer = VerificationResult.start(name());
        List<String> problems = new ArrayList<>();
        long bytes = 0;
        byte[] buffer = new byte[256 * 1024];
        for (ArtifactInfo a : context.manifest().artifacts()) {
            try (InputStream in = open(context, a)) {
                long n;
                while ((n = in.read(buffer)) >= 0) {
                    bytes += n;
                }
            } catch (ChecksumMismatchException | CorruptDataException | BackupNotFoundException e) {
                problems.add(e.getMessage());
            }
        }
        return timer.result(
                problems, Map.of("artifacts", context.manifest().artifacts().size(), "bytesRead", bytes));
    }

    private InputStream open(VerificationContext context, ArtifactInfo a) throws IOException {
        // a deduplicated artifact's stored object is only its chunk list: its chunks are proven
        // by reading them (each checked against its id), which needs no key when unencrypted
        if (decode || (Repository.isChunked(a) && a.recipients().isEmpty())) {
            return context.openDecoded(a);
        }
        context.checkStoredChunks(a); // encrypted: their stored bytes, as no key is needed for those
        String what = "stored artifact " + context.manifest().target() + "/"
                + context.manifest().id() + "/" + a.storedName();
        return new CheckedInputStream(context.openStored(a), a.storedSize(), a.sha256(), what, null);
    }

    /** A built-in provider: applies to every target type. */
    private abstract static class Provider implements VerifierProvider {
        private final boolean decode;

        Provider(boolean decode) {
            this.decode = decode;
        }

        @Override
        public String name() {
            return decode ? "decode" : "checksum";
        }

        @Override
        public VerifyLevel level() {
            return decode ? VerifyLevel.DECODE : VerifyLevel.CHECKSUM;
        }

        @Override
        public boolean supports(String targetType) {
            return true;
        }

        @Override
        public Verifier create(Settings settings) {
            return new StreamVerifier(decode);
        }

        @Override
        public OptionSchema schema() {
            return OptionSchema.none();
        }
    }

    /** Provides {@code checksum}. */
    public static final class ChecksumProvider extends Provider {
        public ChecksumProvider() {
            super(false);
        }
    }

    /** Provides {@code decode}. */
    public static final class DecodeProvider extends Provider {
        public DecodeProvider() {
            super(true);
        }
    }
}
