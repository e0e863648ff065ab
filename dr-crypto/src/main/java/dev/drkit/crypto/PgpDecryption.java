package dev.drkit.crypto;

import dev.drkit.CorruptDataException;
import dev.drkit.DrException;
import dev.drkit.DrException.ErrorCode;
import dev.drkit.spi.DecryptionStage;
import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Path;
import java.security.Provider;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.List;
import java.util.stream.Collectors;
import org.bouncycastle.openpgp.PGPCompressedData;
import org.bouncycastle.openpgp.PGPEncryptedData;
import org.bouncycastle.openpgp.PGPEncryptedDataList;
import org.bouncycastle.openpgp.PGPException;
import org.bouncycastle.openpgp.PGPLiteralData;
import org.bouncycastle.openpgp.PGPMarker;
import org.bouncycastle.openpgp.PGPPBEEncryptedData;
import org.bouncycastle.openpgp.PGPPrivateKey;
import org.bouncycastle.openpgp.PGPPublicKeyEncryptedData;
import org.bouncycastle.openpgp.PGPSecretKey;
import org.bouncycastle.openpgp.PGPSecretKeyRing;
import org.bouncycastle.openpgp.PGPSecretKeyRingCollection;
import org.bouncycastle.openpgp.PGPUtil;
import org.bouncycastle.openpgp.jcajce.JcaPGPObjectFactory;
import org.bouncycastle.openpgp.operator.jcajce.JcaPGPDigestCalculatorProviderBuilder;
import org.bouncycastle.openpgp.operator.jcajce.JcePBEDataDecryptorFactoryBuilder;
import org.bouncycastle.openpgp.operator.jcajce.JcePBESecretKeyDecryptorBuilder;
import org.bouncycastle.openpgp.operator.jcajce.JcePublicKeyDataDecryptorFactoryBuilder;

/**
 * Opens OpenPGP messages written by {@link PgpEncryption} or by gpg: with any of the given
 * secret keys (passphrase-protected ones too) or a passphrase. When nothing fits, it fails
 * before a byte is returned and names the key ids the message needs. Messages without an
 * integrity check are refused, and the check is enforced when the stream ends, together with the
 * message's end: a packet after the literal data, or any byte after the encrypted packet, is
 * {@link CorruptDataException}.
 * Immutable and thread-safe.
 */
public final class PgpDecryption implements DecryptionStage {

    private final List<PGPSecretKeyRingCollection> keyRings;
    private final char[] passphrase;

    private PgpDecryption(List<PGPSecretKeyRingCollection> keyRings, char[] passphrase) {
        this.keyRings = List.copyOf(keyRings);
        this.passphrase = passphrase == null ? null : passphrase.clone();
    }

    public static Builder builder() {
        return new Builder();
    }

    @Override
    public String codecName() {
        return "pgp";
    }

    @Override
    public InputStream decrypt(InputStream stored, String what) throws IOException {
        InputStream decoded = decoderStream(stored, what);
        PGPEncryptedDataList list = encryptedDataList(decoded, what);
        List<String> needed = new ArrayList<>();
        for (PGPEncryptedData ed : list) {
            InputStream clear = null;
            if (ed instanceof PGPPublicKeyEncryptedData) {
                PGPPublicKeyEncryptedData pk = (PGPPublicKeyEncryptedData) ed;
                needed.add(Pgp.keyId(pk.getKeyID()));
                PGPPrivateKey key = privateKey(pk.getKeyID(), what);
                if (key != null) {
                    clear = open(
                            () -> pk.getDataStream(new JcePublicKeyDataDecryptorFactoryBuilder()
                                    .setProvider(Pgp.BC)
                                    .setContentProvider(contentProvider())
                                    .build(key)),
                            what);
                }
            } else if (ed instanceof PGPPBEEncryptedData) {
                needed.add("passphrase");
                if (passphrase != null) {
                    PGPPBEEncryptedData pbe = (PGPPBEEncryptedData) ed;
                    clear = tryPassphrase(pbe, what);
                }
            }
            if (clear != null) {
                if (!ed.isIntegrityProtected()) {
                    // stripped by someone who wrote the repository, or never written by drkit: corrupt
                    throw new CorruptDataException(what + " has no integrity protection; refusing to trust it");
                }
                return new Verified(literalData(clear, what), ed, decoded, what);
            }
        }
        throw new DrException(
                ErrorCode.DECRYPTION,
                what + " is encrypted to " + String.join(", ", needed)
                        + " but "
                        + (keyRings.isEmpty() && passphrase == null
                                ? "no key was given"
                                : "the keys given (" + String.join(", ", available()) + ") do not fit")
                        + "; give the right secret key (setting 'secret-key') or passphrase (setting 'passphrase-file')");
    }

    private static InputStream decoderStream(InputStream stored, String what) {
        try {
            return PGPUtil.getDecoderStream(stored);
        } catch (IOException | RuntimeException e) {
            throw new CorruptDataException(what + " is not a readable OpenPGP message: " + e.getMessage(), e);
        }
    }

    private static PGPEncryptedDataList encryptedDataList(InputStream decoded, String what) throws IOException {
        try {
            JcaPGPObjectFactory factory = new JcaPGPObjectFactory(decoded);
            Object o = factory.nextObject();
            while (o instanceof PGPMarker) {
                o = factory.nextObject();
            }
            if (o instanceof PGPEncryptedDataList) {
                return (PGPEncryptedDataList) o;
            }
        } catch (IOException | RuntimeException e) {
            throw new CorruptDataException(what + " is not a readable OpenPGP message: " + e.getMessage(), e);
        }
        throw new CorruptDataException(what + " is not an encrypted OpenPGP message");
    }

    private InputStream tryPassphrase(PGPPBEEncryptedData pbe, String what) {
        try {
            return pbe.getDataStream(new JcePBEDataDecryptorFactoryBuilder(new JcaPGPDigestCalculatorProviderBuilder()
                            .setProvider(Pgp.BC)
                            .build())
                    .setProvider(contentProvider())
                    .build(passphrase));
        } catch (PGPException e) {
            return null; // wrong passphrase: the session key does not check out
        }
    }

    private PGPPrivateKey privateKey(long keyId, String what) {
        for (PGPSecretKeyRingCollection rings : keyRings) {
            try {
                PGPSecretKey secret = rings.getSecretKey(keyId);
                if (secret == null) {
                    continue;
                }
                return secret.extractPrivateKey(
                        new JcePBESecretKeyDecryptorBuilder(new JcaPGPDigestCalculatorProviderBuilder()
                                        .setProvider(Pgp.BC)
                                        .build())
                                .setProvider(Pgp.BC)
                                .build(passphrase == null ? new char[0] : passphrase));
            } catch (PGPException e) {
                throw new DrException(
                        ErrorCode.DECRYPTION,
                        "secret key " + Pgp.keyId(keyId) + " for " + what
                                + " cannot be unlocked: wrong or missing passphrase (setting 'passphrase-file')",
                        e);
            }
        }
        return null;
    }

    private List<String> available() {
        List<String> ids = new ArrayList<>();
        for (PGPSecretKeyRingCollection rings : keyRings) {
            for (PGPSecretKeyRing ring : rings) {
                for (Iterator<PGPSecretKey> it = ring.getSecretKeys(); it.hasNext(); ) {
                    ids.add(Pgp.keyId(it.next().getKeyID()));
                }
            }
        }
        if (passphrase != null) {
            ids.add("a passphrase");
        }
        return ids;
    }

    private static Provider contentProvider() {
        return CfbProvider.INSTANCE;
    }

    private interface Opener {
        InputStream open() throws PGPException;
    }

    private static InputStream open(Opener opener, String what) {
        try {
            return opener.open();
        } catch (PGPException e) {
            throw new DrException(
                    ErrorCode.DECRYPTION, "cannot decrypt the session key of " + what + ": " + e.getMessage(), e);
        }
    }

    /** The literal data, and the packet bodies around it that must end where it ends, innermost first. */
    private record Plaintext(InputStream literal, List<InputStream> enclosing) {}

    private static Plaintext literalData(InputStream clear, String what) throws IOException {
        try {
            JcaPGPObjectFactory factory = new JcaPGPObjectFactory(clear);
            Object o = factory.nextObject();
            List<InputStream> enclosing = new ArrayList<>();
            if (o instanceof PGPCompressedData) { // gpg compresses unless told not to
                PGPCompressedData compressed = (PGPCompressedData) o;
                factory = new JcaPGPObjectFactory(compressed.getDataStream());
                o = factory.nextObject();
                enclosing.add(new CompressedRest(factory, compressed.getInputStream()));
            }
            enclosing.add(clear);
            if (o instanceof PGPLiteralData) {
                return new Plaintext(((PGPLiteralData) o).getInputStream(), enclosing);
            }
            throw new CorruptDataException(what + " holds no literal data packet");
        } catch (PGPException e) {
            throw new CorruptDataException(what + " cannot be read: " + e.getMessage(), e);
        } catch (DrException e) {
            throw e;
        } catch (RuntimeException e) {
            // the parser fails so on packets drkit never writes, which anyone with the public key can encrypt
            throw new CorruptDataException(
                    what + " holds packets drkit does not write; it was tampered with or is "
                            + "corrupt; use another backup",
                    e);
        }
    }

    /**
     * What a compressed packet holds after its literal data: the inflated rest must be empty; the
     * raw body may keep a few bytes the inflater did not need, which are inside the integrity check.
     */
    private static final class CompressedRest extends InputStream {
        private final JcaPGPObjectFactory inflated;
        private final InputStream body;

        CompressedRest(JcaPGPObjectFactory inflated, InputStream body) {
            this.inflated = inflated;
            this.body = body;
        }

        @Override
        public int read() throws IOException {
            Object next;
            try {
                next = inflated.nextObject();
            } catch (IOException | RuntimeException e) {
                return 0; // something that is not a packet: still something
            }
            if (next != null) {
                return 0;
            }
            body.transferTo(OutputStream.nullOutputStream());
            return -1;
        }
    }

    @Override
    public String toString() {
        return "PgpDecryption"
                + available().stream()
                        .map(s -> s.equals("a passphrase") ? "passphrase" : s)
                        .collect(Collectors.toList());
    }

    /**
     * When the plaintext ends: nothing may follow the literal data inside the encryption, the
     * integrity packet (MDC) must check out, and nothing may follow the encrypted packet.
     */
    private static final class Verified extends FilterInputStream {
        private final List<InputStream> enclosing;
        private final PGPEncryptedData data;
        private final InputStream message;
        private final String what;
        private boolean checked;

        Verified(Plaintext plain, PGPEncryptedData data, InputStream message, String what) {
            super(plain.literal());
            this.enclosing = plain.enclosing();
            this.data = data;
            this.message = message;
            this.what = what;
        }

        @Override
        public int read() throws IOException {
            int b = in.read();
            if (b < 0) {
                check();
            }
            return b;
        }

        @Override
        public int read(byte[] b, int off, int len) throws IOException {
            int n = in.read(b, off, len);
            if (n < 0) {
                check();
            }
            return n;
        }

        private void check() throws IOException {
            if (checked) {
                return;
            }
            for (InputStream s : enclosing) {
                if (s.read() >= 0) { // the integrity check would read past this and pass: look first
                    throw new CorruptDataException(what + " has more packets after its literal data; it was "
                            + "tampered with or is corrupt; use another backup");
                }
            }
            try {
                if (!data.verify()) {
                    // damaged or forged data, not a key problem: a reader that has other copies tries them
                    throw new CorruptDataException(
                            what + " fails its OpenPGP integrity check: it was tampered with or is corrupt; use "
                                    + "another backup");
                }
            } catch (PGPException e) {
                throw new CorruptDataException(what + " fails its OpenPGP integrity check: " + e.getMessage(), e);
            }
            if (message.read() >= 0) {
                throw new CorruptDataException(what + " has data after its OpenPGP message; it was tampered with "
                        + "or is corrupt; use another backup");
            }
            checked = true;
        }
    }

    /** Builder; not thread-safe. */
    public static final class Builder {
        private final List<PGPSecretKeyRingCollection> rings = new ArrayList<>();
        private char[] passphrase;

        /** Adds the secret keys of an armored or binary key file. */
        public Builder secretKeys(Path file) throws IOException {
            rings.add(PgpKeys.secretKeys(file));
            return this;
        }

        /** Adds secret keys the host provides (e.g. from its secret store). */
        public Builder secretKeys(PGPSecretKeyRingCollection keys) {
            rings.add(keys);
            return this;
        }

        /** The passphrase of the secret keys, or of passphrase-encrypted backups (copied). */
        public Builder passphrase(char[] passphrase) {
            this.passphrase = passphrase == null ? null : Arrays.copyOf(passphrase, passphrase.length);
            return this;
        }

        public PgpDecryption build() {
            return new PgpDecryption(rings, passphrase);
        }
    }
}
