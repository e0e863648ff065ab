package dev.drkit.crypto;

import java.security.Provider;

/**
 * A private JCA provider with one service, {@code AES/CFB/NoPadding} backed by
 * {@link OpenPgpCfbCipher}. Handed to Bouncy Castle's OpenPGP builders as their content
 * cipher provider; never installed globally.
 */
final class CfbProvider extends Provider {
    private static final long serialVersionUID = 1L;
    static final CfbProvider INSTANCE = new CfbProvider();

    private CfbProvider() {
        super("drkit-cfb", "1.0", "AES/CFB for OpenPGP on the JDK's AES-NI CBC and ECB");
        putService(new Service(this, "Cipher", "AES/CFB/NoPadding", OpenPgpCfbCipher.class.getName(), null, null));
    }
}
