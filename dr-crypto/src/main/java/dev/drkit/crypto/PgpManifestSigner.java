package dev.drkit.crypto;

import dev.drkit.ConfigException;
import dev.drkit.spi.ManifestSigner;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.Date;
import java.util.Iterator;
import java.util.List;
import java.util.Optional;
import org.bouncycastle.bcpg.ArmoredOutputStream;
import org.bouncycastle.bcpg.HashAlgorithmTags;
import org.bouncycastle.bcpg.sig.KeyFlags;
import org.bouncycastle.openpgp.PGPException;
import org.bouncycastle.openpgp.PGPPrivateKey;
import org.bouncycastle.openpgp.PGPPublicKey;
import org.bouncycastle.openpgp.PGPSecretKey;
import org.bouncycastle.openpgp.PGPSecretKeyRing;
import org.bouncycastle.openpgp.PGPSecretKeyRingCollection;
import org.bouncycastle.openpgp.PGPSignature;
import org.bouncycastle.openpgp.PGPSignatureGenerator;
import org.bouncycastle.openpgp.PGPSignatureSubpacketGenerator;
import org.bouncycastle.openpgp.operator.jcajce.JcaPGPContentSignerBuilder;
import org.bouncycastle.openpgp.operator.jcajce.JcaPGPDigestCalculatorProviderBuilder;
import org.bouncycastle.openpgp.operator.jcajce.JcePBESecretKeyDecryptorBuilder;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Signs manifests with an OpenPGP signing key (Ed25519 from {@code drkit key generate}, or
 * any key gpg made): an armored detached signature, {@code manifest.json.asc}, that
 * {@code gpg --verify manifest.json.asc manifest.json} checks. Immutable and thread-safe.
 */
public final class PgpManifestSigner implements ManifestSigner {
    private static final Logger LOG = LoggerFactory.getLogger(PgpManifestSigner.class);
    /** How long before its expiry a signing key is warned of. */
    static final Duration WARN_BEFORE = Duration.ofDays(30);

    private static final String RENEW = " (restores do not believe manifests it signs now); extend its expiry, or "
            + "make a new signing key and add its public key to the keys restores trust";

    private final PGPPrivateKey key;
    private final PGPPublicKey publicKey;
    /** When the key (or its primary) expires, null for never. */
    private final Instant expiry;

    private final Clock clock;

    private PgpManifestSigner(PGPPrivateKey key, PGPPublicKey publicKey, Instant expiry, Clock clock) {
        this.key = key;
        this.publicKey = publicKey;
        this.expiry = expiry;
        this.clock = clock;
    }

    /** The first signing-capable key in a secret key file, unlocked with {@code passphrase} (or null). */
    public static PgpManifestSigner fromFile(Path secretKeyFile, char[] passphrase) throws IOException {
        return of(PgpKeys.secretKeys(secretKeyFile), passphrase, secretKeyFile.toString());
    }

    public static PgpManifestSigner of(PGPSecretKeyRingCollection keys, char[] passphrase, String what) {
        return of(keys, passphrase, what, Clock.systemUTC());
    }

    static PgpManifestSigner of(PGPSecretKeyRingCollection keys, char[] passphrase, String what, Instant now) {
        return of(keys, passphrase, what, Clock.fixed(now, ZoneOffset.UTC));
    }

    /**
     * The first signing-capable key that is neither revoked nor expired at {@code now}: restores
     * do not believe manifests such a key signs, so a backup must fail rather than write them.
     */
    static PgpManifestSigner of(PGPSecretKeyRingCollection keys, char[] passphrase, String what, Clock clock) {
        Instant now = clock.instant();
        String unusable = null;
        for (PGPSecretKeyRing ring : keys) {
            for (Iterator<PGPSecretKey> it = ring.getSecretKeys(); it.hasNext(); ) {
                PGPSecretKey secret = it.next();
                if (secret.isSigningKey() && canSign(secret.getPublicKey())) {
                    Instant expiry = expiry(secret.getPublicKey(), ring.getPublicKey());
                    if (secret.getPublicKey().hasRevocation()
                            || ring.getPublicKey().hasRevocation()) {
                        unusable = unusable != null
                                ? unusable
                                : "the signing key " + Pgp.keyId(secret.getKeyID()) + " is revoked" + RENEW;
                        continue;
                    }
                    Instant made = secret.getPublicKey().getCreationTime().toInstant();
                    if (now.isBefore(made)) {
                        unusable = unusable != null
                                ? unusable
                                : "the signing key " + Pgp.keyId(secret.getKeyID()) + " was made on " + made
                                        + ", after this host's time (" + now + "): restores would not believe "
                                        + "manifests it signs now, dated before it was made; check this host's clock";
                        continue;
                    }
                    if (expiry != null && !now.isBefore(expiry)) {
                        unusable = unusable != null
                                ? unusable
                                : "the signing key " + Pgp.keyId(secret.getKeyID()) + " expired on " + expiry + RENEW;
                        continue;
                    }
                    if (expiry != null && now.plus(WARN_BEFORE).isAfter(expiry)) {
                        LOG.warn(
                                "the signing key {} in {} expires on {}: extend its expiry, or make a new signing "
                                        + "key and add its public key to the keys restores trust, before then; "
                                        + "backups fail once it has expired",
                                Pgp.keyId(secret.getKeyID()),
                                what,
                                expiry);
                    }
                    try {
                        PGPPrivateKey privateKey = secret.extractPrivateKey(
                                new JcePBESecretKeyDecryptorBuilder(new JcaPGPDigestCalculatorProviderBuilder()
                                                .setProvider(Pgp.BC)
                                                .build())
                                        .setProvider(Pgp.BC)
                                        .build(passphrase == null ? new char[0] : passphrase));
                        return new PgpManifestSigner(privateKey, secret.getPublicKey(), expiry, clock);
                    } catch (PGPException e) {
                        throw new ConfigException("signing key " + Pgp.keyId(secret.getKeyID()) + " in " + what
                                + " cannot be unlocked: wrong or missing passphrase");
                    }
                }
            }
        }
        if (unusable != null) {
            throw new ConfigException(what + " holds no OpenPGP key that can sign today: " + unusable);
        }
        throw new ConfigException(what + " holds no OpenPGP key that can sign");
    }

    /**
     * When a key (and, for a subkey, its primary) stops being valid, or null for never: as
     * restores see it (not Bouncy Castle's {@code getValidSeconds}, which keeps an expiry a newer
     * self-signature removed, and takes a subkey's longest binding rather than its newest).
     */
    private static Instant expiry(PGPPublicKey key, PGPPublicKey primary) {
        Instant at = null;
        for (PGPPublicKey k : key.isMasterKey() ? List.of(key) : List.of(primary, key)) {
            Instant end = PgpManifestVerifier.expiry(k, primary);
            if (end != null) {
                at = at == null || end.isBefore(at) ? end : at;
            }
        }
        return at;
    }

    private static boolean canSign(PGPPublicKey k) {
        Iterator<PGPSignature> sigs = k.getSignatures();
        while (sigs.hasNext()) {
            PGPSignature s = sigs.next();
            if (s.getHashedSubPackets() != null && s.getHashedSubPackets().getKeyFlags() != 0) {
                return (s.getHashedSubPackets().getKeyFlags() & KeyFlags.SIGN_DATA) != 0;
            }
        }
        return k.isMasterKey();
    }

    /** The signing key's id. */
    public String keyId() {
        return Pgp.keyId(publicKey.getKeyID());
    }

    @Override
    public String signatureSuffix() {
        return ".asc";
    }

    @Override
    public Optional<Instant> validUntil() {
        return Optional.ofNullable(expiry);
    }

    /**
     * Signs, dated by this signer's clock; refuses once the key has expired. A host process
     * (the scheduler, a service) loads its signer once and may run past the expiry: what it
     * signed then would be refused by every restore, so the backup or WAL archiving fails
     * instead, saying why.
     */
    @Override
    public byte[] sign(byte[] manifest) throws IOException {
        Instant now = clock.instant();
        if (expiry != null && !now.isBefore(expiry)) {
            throw new ConfigException("the signing key " + keyId() + " expired on " + expiry + RENEW);
        }
        try {
            PGPSignatureGenerator generator = new PGPSignatureGenerator(
                    new JcaPGPContentSignerBuilder(publicKey.getAlgorithm(), HashAlgorithmTags.SHA256)
                            .setProvider(Pgp.BC),
                    publicKey);
            generator.init(PGPSignature.BINARY_DOCUMENT, key);
            PGPSignatureSubpacketGenerator dated = new PGPSignatureSubpacketGenerator();
            dated.setSignatureCreationTime(false, Date.from(now));
            generator.setHashedSubpackets(dated.generate());
            generator.update(manifest);
            ByteArrayOutputStream bytes = new ByteArrayOutputStream();
            try (ArmoredOutputStream armored =
                    ArmoredOutputStream.builder().clearHeaders().build(bytes)) {
                generator.generate().encode(armored);
            }
            return bytes.toByteArray();
        } catch (PGPException e) {
            throw new IOException("signing the manifest failed: " + e.getMessage(), e);
        }
    }

    @Override
    public String toString() {
        return "PgpManifestSigner[" + keyId() + "]";
    }
}
