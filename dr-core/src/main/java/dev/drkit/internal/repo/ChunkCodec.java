package dev.drkit.internal.repo;

import com.github.luben.zstd.Zstd;
import com.github.luben.zstd.ZstdCompressCtx;
import com.github.luben.zstd.ZstdException;
import dev.drkit.ConfigException;
import dev.drkit.CorruptDataException;
import dev.drkit.DrException;
import dev.drkit.DrException.ErrorCode;
import dev.drkit.spi.DecryptionStage;
import dev.drkit.spi.EncryptionStage;
import dev.drkit.spi.support.PrivateFiles;
import dev.drkit.spi.support.Sha256;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.TreeSet;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * How the chunks of one artifact are named and stored. Unencrypted: a chunk's id is the
 * SHA-256 of its bytes and it is stored as a zstd frame. Encrypted: its id is an HMAC-SHA256
 * of its bytes under the chunk key (so ids say nothing about the content to whoever reads the
 * repository), and it is stored as the zstd frame encrypted on its own (so {@code gpg -d} opens
 * each chunk). The HMAC key is derived from the chunk key and the recipients, so chunks
 * encrypted to other recipients are never taken for these. Thread-safe.
 */
final class ChunkCodec {
    /** The scheme of unencrypted chunk lists. */
    static final String SHA256 = "sha256";
    /** The scheme of encrypted chunk lists, followed by the chunk key's id. */
    static final String HMAC = "hmac-sha256";

    private final String scheme;
    private final byte[] macKey;
    private final EncryptionStage encryption;
    private final DecryptionStage decryption;

    private ChunkCodec(String scheme, byte[] macKey, EncryptionStage encryption, DecryptionStage decryption) {
        this.scheme = scheme;
        this.macKey = macKey;
        this.encryption = encryption;
        this.decryption = decryption;
    }

    /** Unencrypted chunks: SHA-256 ids, zstd frames. */
    static final ChunkCodec PLAIN = new ChunkCodec(SHA256, null, null, null);

    /** Encrypted chunks for writing: ids keyed by {@code chunkKey} and the recipients. */
    static ChunkCodec encrypted(byte[] chunkKey, EncryptionStage encryption) {
        return new ChunkCodec(
                HMAC + " " + keyId(chunkKey),
                macKey(chunkKey, encryption.codecName(), encryption.recipients()),
                encryption,
                null);
    }

    /** Encrypted chunks for reading an artifact encrypted with {@code codec} to {@code recipients}. */
    static ChunkCodec encrypted(byte[] chunkKey, String codec, List<String> recipients, DecryptionStage decryption) {
        return new ChunkCodec(HMAC + " " + keyId(chunkKey), macKey(chunkKey, codec, recipients), null, decryption);
    }

    /** What a chunk list's header says after {@code drkit-chunks 1}. */
    String scheme() {
        return scheme;
    }

    boolean encrypted() {
        return macKey != null;
    }

    /** A chunk's id. */
    String id(byte[] raw, int off, int len) {
        if (macKey == null) {
            return Sha256.hex(raw, off, len);
        }
        Mac mac = mac(macKey);
        mac.update(raw, off, len);
        return HexFormat.of().formatHex(mac.doFinal());
    }

    /**
     * A chunk as stored (the first {@code length} bytes of {@code raw}): its zstd frame,
     * encrypted when the artifact is; compressed into {@code scratch}, which holds at least
     * {@code Zstd.compressBound(length)} bytes.
     */
    byte[] encode(ZstdCompressCtx zstd, byte[] scratch, byte[] raw, int length, String what) throws IOException {
        int size = zstd.compressByteArray(scratch, 0, scratch.length, raw, 0, length);
        byte[] frame = Arrays.copyOf(scratch, size);
        if (encryption == null) {
            return frame;
        }
        ByteArrayOutputStream out = new ByteArrayOutputStream(frame.length + 1024);
        try (OutputStream enc = encryption.encrypt(out, what)) {
            enc.write(frame);
        }
        return out.toByteArray();
    }

    /**
     * The chunk's bytes when {@code stored} decodes to {@code length} bytes whose id is {@code id};
     * else null.
     *
     * @throws DrException when an encrypted chunk cannot be opened for want of its key
     */
    byte[] decode(String id, int length, byte[] stored) throws IOException {
        byte[] frame = stored;
        if (macKey != null) {
            if (decryption == null) {
                throw new DrException(
                        ErrorCode.DECRYPTION,
                        "the chunks are encrypted and no decryption key was given; give its secret key "
                                + "(setting 'secret-key') or passphrase (setting 'passphrase-file')");
            }
            try (InputStream in = decryption.decrypt(new ByteArrayInputStream(stored), "chunk " + id)) {
                frame = in.readNBytes(ChunkStore.MAX_STORED + 1);
            } catch (CorruptDataException | IOException e) {
                return null; // not a message this key opens as one whole chunk
            }
        }
        try {
            byte[] out = Zstd.decompress(frame, length);
            return out.length == length && id(out, 0, out.length).equals(id) ? out : null;
        } catch (ZstdException e) {
            return null;
        }
    }

    /** The id of a chunk key: the first 16 hex digits of a SHA-256 over a label and the key. */
    static String keyId(byte[] chunkKey) {
        MessageDigest md = Sha256.newDigest();
        md.update("drkit-chunk-key-v1\0".getBytes(StandardCharsets.US_ASCII));
        md.update(chunkKey);
        return Sha256.hex(md.digest()).substring(0, 16);
    }

    private static byte[] macKey(byte[] chunkKey, String codec, List<String> recipients) {
        Mac mac = mac(chunkKey);
        mac.update(("drkit-chunk-ids-v1\0" + codec + "\0" + String.join(",", new TreeSet<>(recipients)))
                .getBytes(StandardCharsets.UTF_8));
        return mac.doFinal();
    }

    private static Mac mac(byte[] key) {
        try {
            Mac mac = Mac.getInstance("HmacSHA256");
            mac.init(new SecretKeySpec(key, "HmacSHA256"));
            return mac;
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("HmacSHA256 is not available in this JVM", e);
        }
    }

    /**
     * The chunk key in a file: 64 hex digits (32 random bytes, e.g. {@code openssl rand -hex
     * 32}), on the first line, in a file only its owner can read.
     *
     * @throws ConfigException when the file is missing, open to others, or holds no such key
     */
    static byte[] readKey(Path file) {
        PrivateFiles.requirePrivate(file, "chunk key file (setting 'dedup-key-file')");
        String text;
        try {
            text = Files.readString(file, StandardCharsets.US_ASCII).strip();
        } catch (IOException e) {
            throw new ConfigException("dedup-key-file: cannot read " + file + ": " + e.getMessage());
        }
        if (!text.matches("[0-9a-fA-F]{64}")) {
            throw new ConfigException("dedup-key-file: " + file + " does not hold 64 hex digits (32 random "
                    + "bytes, e.g. from 'openssl rand -hex 32')");
        }
        return HexFormat.of().parseHex(text.toLowerCase(Locale.ROOT));
    }
}
