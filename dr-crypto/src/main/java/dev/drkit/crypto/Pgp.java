package dev.drkit.crypto;

import java.security.Provider;
import java.util.Locale;
import org.bouncycastle.jce.provider.BouncyCastleProvider;

/** Shared OpenPGP plumbing: a private Bouncy Castle provider (never installed globally). */
final class Pgp {
    /** For key agreement, signatures and key generation; bulk AES runs on the JDK's provider. */
    static final Provider BC = new BouncyCastleProvider();

    private Pgp() {}

    /** A key id as gpg prints it (16 upper-case hex digits). */
    static String keyId(long id) {
        return String.format(Locale.ROOT, "%016X", id);
    }
}
