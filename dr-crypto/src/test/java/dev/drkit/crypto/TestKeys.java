package dev.drkit.crypto;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import org.bouncycastle.openpgp.PGPPublicKey;
import org.bouncycastle.openpgp.PGPSecretKeyRingCollection;

/** Key pairs for tests, generated once per JVM (generation is cheap with curve25519, but still). */
final class TestKeys {
    private static PgpKeys.Generated pair;
    private static PgpKeys.Generated other;

    private TestKeys() {}

    static synchronized PgpKeys.Generated pair() {
        if (pair == null) {
            pair = PgpKeys.generate("drkit test <test@drkit.dev>", null);
        }
        return pair;
    }

    static synchronized PgpKeys.Generated other() {
        if (other == null) {
            other = PgpKeys.generate("drkit other <other@drkit.dev>", null);
        }
        return other;
    }

    static PGPPublicKey encryptionKey(PgpKeys.Generated g) throws IOException {
        return PgpKeys.encryptionKeys(new ByteArrayInputStream(g.publicArmored()), "test key")
                .get(0);
    }

    static PGPSecretKeyRingCollection secretKeys(PgpKeys.Generated g) throws IOException {
        return PgpKeys.secretKeys(new ByteArrayInputStream(g.secretArmored()), "test key");
    }
}
