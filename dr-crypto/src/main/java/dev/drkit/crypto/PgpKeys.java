package dev.drkit.crypto;

import dev.drkit.ConfigException;
import dev.drkit.spi.support.PrivateFiles;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.KeyPairGenerator;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Date;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.bouncycastle.bcpg.ArmoredOutputStream;
import org.bouncycastle.bcpg.HashAlgorithmTags;
import org.bouncycastle.bcpg.PublicKeyAlgorithmTags;
import org.bouncycastle.bcpg.SymmetricKeyAlgorithmTags;
import org.bouncycastle.bcpg.sig.Features;
import org.bouncycastle.bcpg.sig.KeyFlags;
import org.bouncycastle.openpgp.PGPException;
import org.bouncycastle.openpgp.PGPKeyPair;
import org.bouncycastle.openpgp.PGPKeyRingGenerator;
import org.bouncycastle.openpgp.PGPMarker;
import org.bouncycastle.openpgp.PGPObjectFactory;
import org.bouncycastle.openpgp.PGPPublicKey;
import org.bouncycastle.openpgp.PGPPublicKeyRing;
import org.bouncycastle.openpgp.PGPPublicKeyRingCollection;
import org.bouncycastle.openpgp.PGPSecretKeyRing;
import org.bouncycastle.openpgp.PGPSecretKeyRingCollection;
import org.bouncycastle.openpgp.PGPSignature;
import org.bouncycastle.openpgp.PGPSignatureSubpacketGenerator;
import org.bouncycastle.openpgp.PGPUtil;
import org.bouncycastle.openpgp.operator.PGPDigestCalculator;
import org.bouncycastle.openpgp.operator.jcajce.JcaKeyFingerprintCalculator;
import org.bouncycastle.openpgp.operator.jcajce.JcaPGPContentSignerBuilder;
import org.bouncycastle.openpgp.operator.jcajce.JcaPGPDigestCalculatorProviderBuilder;
import org.bouncycastle.openpgp.operator.jcajce.JcaPGPKeyPair;
import org.bouncycastle.openpgp.operator.jcajce.JcePBESecretKeyEncryptorBuilder;

/**
 * Reading and generating OpenPGP keys. Generated keys are what gpg 2.2 makes with
 * {@code --quick-gen-key ... future-default}: an Ed25519 primary key for certification and
 * signing with an X25519 (cv25519) subkey for encryption.
 */
public final class PgpKeys {
    private PgpKeys() {}

    /**
     * The encryption keys in an armored or binary public key file: for each key ring, its
     * newest key that may encrypt.
     *
     * @throws ConfigException when the file is missing, is not an OpenPGP public key, or holds
     *     no usable encryption key
     */
    public static List<PGPPublicKey> encryptionKeys(Path file) throws IOException {
        PrivateFiles.requireExisting(file, "public key file");
        try (InputStream in = Files.newInputStream(file)) {
            return encryptionKeys(in, file.toString());
        }
    }

    /** The public key rings of an armored or binary file, e.g. the keys trusted to sign manifests. */
    static PGPPublicKeyRingCollection publicKeyRings(Path file) throws IOException {
        PrivateFiles.requireExisting(file, "public key file");
        try (InputStream in = Files.newInputStream(file)) {
            return new PGPPublicKeyRingCollection(merged(keyRings(in, file.toString(), PUBLIC, SECRET), file));
        }
    }

    /**
     * The certificates with the copies of each key joined into one: Bouncy Castle's collection
     * keeps only the last copy of a key, and an export from before a revocation, collected
     * after it, would undo the revocation.
     */
    private static List<PGPPublicKeyRing> merged(List<PGPPublicKeyRing> rings, Path file) {
        Map<Long, PGPPublicKeyRing> byKey = new LinkedHashMap<>();
        for (PGPPublicKeyRing ring : rings) {
            PGPPublicKeyRing first = byKey.putIfAbsent(ring.getPublicKey().getKeyID(), ring);
            if (first != null) {
                try {
                    byKey.put(ring.getPublicKey().getKeyID(), PGPPublicKeyRing.join(first, ring));
                } catch (IllegalArgumentException e) {
                    throw new ConfigException(file + " holds two different keys with the id "
                            + Pgp.keyId(ring.getPublicKey().getKeyID()) + "; remove the one restores must not trust");
                } catch (PGPException e) {
                    throw new ConfigException(file + " holds copies of the key "
                            + Pgp.keyId(ring.getPublicKey().getKeyID()) + " that cannot be joined (" + e.getMessage()
                            + "); keep one export of it, made after its last change");
                }
            }
        }
        return new ArrayList<>(byKey.values());
    }

    static List<PGPPublicKey> encryptionKeys(InputStream in, String what) throws IOException {
        List<PGPPublicKeyRing> rings = keyRings(in, what, PUBLIC, SECRET);
        List<PGPPublicKey> keys = new ArrayList<>();
        for (PGPPublicKeyRing ring : rings) {
            PGPPublicKey best = null;
            for (Iterator<PGPPublicKey> it = ring.getPublicKeys(); it.hasNext(); ) {
                PGPPublicKey k = it.next();
                if (k.isEncryptionKey()
                        && !k.hasRevocation()
                        && canEncrypt(k)
                        && (best == null || k.getCreationTime().after(best.getCreationTime()))) {
                    best = k;
                }
            }
            if (best != null) {
                keys.add(best);
            }
        }
        if (keys.isEmpty()) {
            throw new ConfigException(what + " holds no OpenPGP key that can encrypt");
        }
        return keys;
    }

    private static boolean canEncrypt(PGPPublicKey k) {
        Iterator<PGPSignature> sigs =
                k.isMasterKey() ? k.getSignatures() : k.getSignaturesOfType(PGPSignature.SUBKEY_BINDING);
        boolean sawFlags = false;
        while (sigs.hasNext()) {
            PGPSignature s = sigs.next();
            if (s.getHashedSubPackets() != null && s.getHashedSubPackets().getKeyFlags() != 0) {
                sawFlags = true;
                if ((s.getHashedSubPackets().getKeyFlags() & (KeyFlags.ENCRYPT_COMMS | KeyFlags.ENCRYPT_STORAGE))
                        != 0) {
                    return true;
                }
            }
        }
        return !sawFlags;
    }

    /**
     * Secret keys from an armored or binary file, which only its owner may read.
     *
     * @throws ConfigException when the file is missing, open to other users, or not an OpenPGP
     *     secret key
     */
    public static PGPSecretKeyRingCollection secretKeys(Path file) throws IOException {
        PrivateFiles.requirePrivate(file, "secret key file");
        try (InputStream in = Files.newInputStream(file)) {
            return secretKeys(in, file.toString());
        }
    }

    /** Secret keys from armored text, e.g. an environment variable. */
    public static PGPSecretKeyRingCollection secretKeys(String armored, String what) throws IOException {
        return secretKeys(new ByteArrayInputStream(armored.getBytes(StandardCharsets.US_ASCII)), what);
    }

    static PGPSecretKeyRingCollection secretKeys(InputStream in, String what) throws IOException {
        return new PGPSecretKeyRingCollection(keyRings(in, what, SECRET, PUBLIC));
    }

    /** What a key file should hold, and how a person gets one. */
    private record Kind<T>(String name, Class<T> type, String export) {}

    private static final Kind<PGPPublicKeyRing> PUBLIC =
            new Kind<>("public", PGPPublicKeyRing.class, "export one with 'gpg --export --armor KEY'");
    private static final Kind<PGPSecretKeyRing> SECRET =
            new Kind<>("secret", PGPSecretKeyRing.class, "export one with 'gpg --export-secret-keys --armor KEY'");

    /**
     * The key rings of one kind. Anything else is refused by name rather than skipped, so that
     * a wrong file is reported as such and not later as "no key fits".
     */
    private static <T> List<T> keyRings(InputStream in, String what, Kind<T> wanted, Kind<?> opposite)
            throws IOException {
        List<T> rings = new ArrayList<>();
        Object o;
        try {
            PGPObjectFactory objects =
                    new PGPObjectFactory(PGPUtil.getDecoderStream(in), new JcaKeyFingerprintCalculator());
            while ((o = objects.nextObject()) != null && !opposite.type().isInstance(o)) {
                if (wanted.type().isInstance(o)) {
                    rings.add(wanted.type().cast(o));
                } else if (!(o instanceof PGPMarker)) {
                    break;
                }
            }
        } catch (IOException | RuntimeException e) {
            throw notAKey(what, wanted);
        }
        if (opposite.type().isInstance(o)) {
            throw new ConfigException(
                    what + " holds a " + opposite.name() + " key, not a " + wanted.name() + " key; " + wanted.export());
        }
        if (o != null || rings.isEmpty()) {
            throw notAKey(what, wanted);
        }
        return rings;
    }

    private static ConfigException notAKey(String what, Kind<?> wanted) {
        return new ConfigException(
                what + " is not an OpenPGP " + wanted.name() + " key (armored or binary); " + wanted.export());
    }

    /** A generated key pair, armored. */
    public record Generated(String keyId, byte[] publicArmored, byte[] secretArmored) {}

    /**
     * Generates an Ed25519 + X25519 key pair.
     *
     * @param userId e.g. {@code drkit backups <ops@example.com>}
     * @param passphrase protects the secret key (AES-256, iterated S2K), or null for none
     */
    public static Generated generate(String userId, char[] passphrase) {
        try {
            Date now = new Date();
            PGPKeyPair primary = new JcaPGPKeyPair(
                    PublicKeyAlgorithmTags.EDDSA_LEGACY, generator("Ed25519").generateKeyPair(), now);
            PGPKeyPair encryption = new JcaPGPKeyPair(
                    PublicKeyAlgorithmTags.ECDH, generator("X25519").generateKeyPair(), now);

            PGPSignatureSubpacketGenerator primaryAttrs = new PGPSignatureSubpacketGenerator();
            primaryAttrs.setKeyFlags(false, KeyFlags.CERTIFY_OTHER | KeyFlags.SIGN_DATA);
            primaryAttrs.setPreferredSymmetricAlgorithms(
                    false, new int[] {SymmetricKeyAlgorithmTags.AES_256, SymmetricKeyAlgorithmTags.AES_128});
            primaryAttrs.setPreferredHashAlgorithms(
                    false, new int[] {HashAlgorithmTags.SHA512, HashAlgorithmTags.SHA256});
            primaryAttrs.setFeature(false, Features.FEATURE_MODIFICATION_DETECTION);
            PGPSignatureSubpacketGenerator subAttrs = new PGPSignatureSubpacketGenerator();
            subAttrs.setKeyFlags(false, KeyFlags.ENCRYPT_COMMS | KeyFlags.ENCRYPT_STORAGE);

            PGPDigestCalculator sha1 =
                    new JcaPGPDigestCalculatorProviderBuilder().build().get(HashAlgorithmTags.SHA1);
            PGPKeyRingGenerator rings = new PGPKeyRingGenerator(
                    PGPSignature.POSITIVE_CERTIFICATION,
                    primary,
                    userId,
                    sha1,
                    primaryAttrs.generate(),
                    null,
                    new JcaPGPContentSignerBuilder(primary.getPublicKey().getAlgorithm(), HashAlgorithmTags.SHA256)
                            .setProvider(Pgp.BC),
                    passphrase == null || passphrase.length == 0
                            ? null
                            : new JcePBESecretKeyEncryptorBuilder(SymmetricKeyAlgorithmTags.AES_256, sha1)
                                    .setProvider(Pgp.BC)
                                    .build(passphrase));
            rings.addSubKey(encryption, subAttrs.generate(), null);
            return new Generated(
                    Pgp.keyId(encryption.getKeyID()),
                    armor(out -> rings.generatePublicKeyRing().encode(out)),
                    armor(out -> rings.generateSecretKeyRing().encode(out)));
        } catch (PGPException | IOException e) {
            throw new IllegalStateException("generating an OpenPGP key failed: " + e.getMessage(), e);
        }
    }

    /** Writes {@code public.asc} (0644) and {@code secret.asc} (0600) into {@code dir}; refuses to overwrite. */
    public static Generated writeTo(Path dir, String userId, char[] passphrase) throws IOException {
        if (Files.exists(dir) && !Files.isDirectory(dir)) {
            // createDirectories would say only the path, as a FileAlreadyExistsException
            throw new ConfigException(dir + " exists and is not a directory; choose a new or empty directory for "
                    + "public.asc and secret.asc");
        }
        Files.createDirectories(dir);
        Path pub = dir.resolve("public.asc");
        Path sec = dir.resolve("secret.asc");
        if (Files.exists(pub) || Files.exists(sec)) {
            throw new ConfigException(dir + " already holds public.asc or secret.asc; choose another directory");
        }
        Generated g = generate(userId, passphrase);
        Files.createFile(sec, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
        Files.write(sec, g.secretArmored());
        Files.write(pub, g.publicArmored());
        return g;
    }

    private static KeyPairGenerator generator(String algorithm) {
        try {
            return KeyPairGenerator.getInstance(algorithm, Pgp.BC);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(algorithm + " is not available", e);
        }
    }

    private interface Encoder {
        void encode(OutputStream out) throws IOException;
    }

    private static byte[] armor(Encoder e) throws IOException {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (ArmoredOutputStream armored =
                ArmoredOutputStream.builder().clearHeaders().build(bytes)) {
            e.encode(armored);
        }
        return bytes.toByteArray();
    }
}
