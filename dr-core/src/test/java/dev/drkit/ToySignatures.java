package dev.drkit;

import dev.drkit.spi.ManifestSigner;
import dev.drkit.spi.ManifestVerifier;
import java.util.Arrays;

/** A toy signature for tests of what trusted keys change: the signed bytes reversed, in {@code .sig}. */
public final class ToySignatures {
    private ToySignatures() {}

    static byte[] reversed(byte[] b) {
        byte[] out = new byte[b.length];
        for (int i = 0; i < b.length; i++) {
            out[i] = b[b.length - 1 - i];
        }
        return out;
    }

    public static final ManifestSigner SIGNER = new ManifestSigner() {
        @Override
        public String signatureSuffix() {
            return ".sig";
        }

        @Override
        public byte[] sign(byte[] manifest) {
            return reversed(manifest);
        }
    };

    public static final ManifestVerifier TRUSTED = new ManifestVerifier() {
        @Override
        public String signatureSuffix() {
            return ".sig";
        }

        @Override
        public void verify(byte[] manifest, byte[] signature, String what) {
            if (signature == null || !Arrays.equals(reversed(manifest), signature)) {
                throw new DrException(DrException.ErrorCode.SIGNATURE, what + " is not signed by a trusted key");
            }
        }
    };
}
