package dev.drkit.spi.support;

import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;

/** SHA-256 helpers; the JDK's implementation uses the CPU's SHA extensions where present. */
public final class Sha256 {
    private Sha256() {}

    public static MessageDigest newDigest() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("the JDK lacks SHA-256", e);
        }
    }

    public static String hex(byte[] digest) {
        return HexFormat.of().formatHex(digest);
    }

    public static String hex(byte[] data, int off, int len) {
        MessageDigest md = newDigest();
        md.update(data, off, len);
        return hex(md.digest());
    }

    /**
     * The content of a {@code .sha256} sidecar, in the format {@code sha256sum -c} reads:
     * {@code <hex>  <file name>\n}.
     */
    public static String sidecar(String hex, String fileName) {
        return hex + "  " + fileName + "\n";
    }
}
