package dev.drkit.crypto;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;
import java.security.AlgorithmParameters;
import java.security.GeneralSecurityException;
import java.security.InvalidAlgorithmParameterException;
import java.security.InvalidKeyException;
import java.security.Key;
import java.security.NoSuchAlgorithmException;
import java.security.SecureRandom;
import java.security.spec.AlgorithmParameterSpec;
import java.security.spec.InvalidParameterSpecException;
import javax.crypto.Cipher;
import javax.crypto.CipherSpi;
import javax.crypto.NoSuchPaddingException;
import javax.crypto.ShortBufferException;
import javax.crypto.spec.IvParameterSpec;
import javax.crypto.spec.SecretKeySpec;

/**
 * AES in full-block CFB mode (what OpenPGP's encrypted data packets use) built on the JDK's
 * hardware-accelerated AES, several times faster than the JDK's own CFB, which runs the
 * feedback loop in Java one block at a time.
 *
 * <p>Encryption: CFB's keystream is K(i+1) = AES(P(i) xor K(i)), which is exactly CBC
 * encryption of the plaintext with K(1) as the IV, so one CBC call (an AES-NI intrinsic)
 * yields the keystream for a whole run of blocks. Decryption: K(i) = AES(C(i-1)) depends
 * only on ciphertext, so one ECB call (pipelined AES-NI) yields it. Partial blocks at the
 * edges are handled byte by byte. Not thread-safe, as any Cipher.
 */
public final class OpenPgpCfbCipher extends CipherSpi {
    private static final int BLOCK = 16;
    private static final int BULK = 64 * 1024;
    private static final VarHandle LONGS = MethodHandles.byteArrayViewVarHandle(long[].class, ByteOrder.LITTLE_ENDIAN);

    private boolean encrypt;
    private SecretKeySpec key;
    private Cipher ecb;
    private Cipher cbc;
    private byte[] iv;
    private final byte[] register = new byte[BLOCK]; // the previous ciphertext block
    private final byte[] keystream = new byte[BLOCK]; // AES(register), for a partial block
    private final byte[] current = new byte[BLOCK]; // ciphertext bytes of the partial block
    private int used = BLOCK; // keystream bytes consumed; BLOCK = aligned
    private final byte[] scratch = new byte[BULK + BLOCK];

    public OpenPgpCfbCipher() {}

    @Override
    protected void engineSetMode(String mode) throws NoSuchAlgorithmException {
        if (!mode.equalsIgnoreCase("CFB") && !mode.equalsIgnoreCase("CFB128")) {
            throw new NoSuchAlgorithmException("only CFB: " + mode);
        }
    }

    @Override
    protected void engineSetPadding(String padding) throws NoSuchPaddingException {
        if (!padding.equalsIgnoreCase("NoPadding")) {
            throw new NoSuchPaddingException("only NoPadding: " + padding);
        }
    }

    @Override
    protected int engineGetBlockSize() {
        return BLOCK;
    }

    @Override
    protected int engineGetOutputSize(int inputLen) {
        return inputLen;
    }

    @Override
    protected byte[] engineGetIV() {
        return iv == null ? null : iv.clone();
    }

    @Override
    protected AlgorithmParameters engineGetParameters() {
        return null;
    }

    @Override
    protected void engineInit(int opmode, Key k, SecureRandom random) throws InvalidKeyException {
        try {
            engineInit(opmode, k, new IvParameterSpec(new byte[BLOCK]), random);
        } catch (InvalidAlgorithmParameterException e) {
            throw new InvalidKeyException(e);
        }
    }

    @Override
    protected void engineInit(int opmode, Key k, AlgorithmParameterSpec params, SecureRandom random)
            throws InvalidKeyException, InvalidAlgorithmParameterException {
        if (!(params instanceof IvParameterSpec) || ((IvParameterSpec) params).getIV().length != BLOCK) {
            throw new InvalidAlgorithmParameterException("CFB needs a 16-byte IV");
        }
        encrypt = opmode == Cipher.ENCRYPT_MODE || opmode == Cipher.WRAP_MODE;
        key = new SecretKeySpec(k.getEncoded(), "AES");
        iv = ((IvParameterSpec) params).getIV().clone();
        System.arraycopy(iv, 0, register, 0, BLOCK);
        used = BLOCK;
        try {
            ecb = Cipher.getInstance("AES/ECB/NoPadding");
            ecb.init(Cipher.ENCRYPT_MODE, key);
            cbc = Cipher.getInstance("AES/CBC/NoPadding");
        } catch (GeneralSecurityException e) {
            throw new InvalidKeyException("AES is not available: " + e.getMessage(), e);
        }
    }

    @Override
    protected void engineInit(int opmode, Key k, AlgorithmParameters params, SecureRandom random)
            throws InvalidKeyException, InvalidAlgorithmParameterException {
        try {
            engineInit(
                    opmode,
                    k,
                    params == null
                            ? new IvParameterSpec(new byte[BLOCK])
                            : params.getParameterSpec(IvParameterSpec.class),
                    random);
        } catch (InvalidParameterSpecException e) {
            throw new InvalidAlgorithmParameterException(e);
        }
    }

    @Override
    protected byte[] engineUpdate(byte[] in, int off, int len) {
        byte[] out = new byte[len];
        process(in, off, len, out, 0);
        return out;
    }

    @Override
    protected int engineUpdate(byte[] in, int off, int len, byte[] out, int outOff) throws ShortBufferException {
        if (out.length - outOff < len) {
            throw new ShortBufferException("need " + len + " bytes of output");
        }
        process(in, off, len, out, outOff);
        return len;
    }

    @Override
    protected byte[] engineDoFinal(byte[] in, int off, int len) {
        return engineUpdate(in == null ? new byte[0] : in, off, len);
    }

    @Override
    protected int engineDoFinal(byte[] in, int off, int len, byte[] out, int outOff) throws ShortBufferException {
        return engineUpdate(in, off, len, out, outOff);
    }

    private void process(byte[] in, int off, int len, byte[] out, int outOff) {
        try {
            while (len > 0 && used < BLOCK) { // finish a partial block
                oneByte(in[off++], out, outOff++);
                len--;
            }
            while (len >= BLOCK) { // whole blocks in bulk
                int n = Math.min(len / BLOCK, BULK / BLOCK) * BLOCK;
                if (encrypt) {
                    encryptBlocks(in, off, n, out, outOff);
                } else {
                    decryptBlocks(in, off, n, out, outOff);
                }
                off += n;
                outOff += n;
                len -= n;
            }
            while (len > 0) { // start a partial block
                oneByte(in[off++], out, outOff++);
                len--;
            }
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("AES failed", e);
        }
    }

    private void oneByte(byte b, byte[] out, int outOff) throws GeneralSecurityException {
        if (used == BLOCK) {
            ecb.doFinal(register, 0, BLOCK, keystream, 0);
            used = 0;
        }
        byte c = encrypt ? (byte) (b ^ keystream[used]) : b;
        out[outOff] = (byte) (b ^ keystream[used]);
        current[used++] = c;
        if (used == BLOCK) {
            System.arraycopy(current, 0, register, 0, BLOCK);
        }
    }

    /** n is a multiple of BLOCK; the keystream is aligned (used == BLOCK). */
    private void encryptBlocks(byte[] in, int off, int n, byte[] out, int outOff) throws GeneralSecurityException {
        ecb.doFinal(register, 0, BLOCK, scratch, 0); // K(1)
        if (n > BLOCK) { // K(2..) = CBC(P(1..n-1), iv = K(1))
            cbc.init(Cipher.ENCRYPT_MODE, key, new IvParameterSpec(scratch, 0, BLOCK));
            cbc.doFinal(in, off, n - BLOCK, scratch, BLOCK);
        }
        xor(in, off, scratch, out, outOff, n);
        System.arraycopy(out, outOff + n - BLOCK, register, 0, BLOCK);
    }

    private void decryptBlocks(byte[] in, int off, int n, byte[] out, int outOff) throws GeneralSecurityException {
        System.arraycopy(register, 0, scratch, 0, BLOCK); // C(0..n-1)
        System.arraycopy(in, off, scratch, BLOCK, n - BLOCK);
        System.arraycopy(in, off + n - BLOCK, register, 0, BLOCK); // before out may overwrite in
        ecb.doFinal(scratch, 0, n, scratch, 0); // K(1..n) = AES(C(0..n-1))
        xor(in, off, scratch, out, outOff, n);
    }

    /** out = in xor keystream, eight bytes at a time (n is a multiple of 16). */
    private static void xor(byte[] in, int off, byte[] ks, byte[] out, int outOff, int n) {
        for (int i = 0; i < n; i += 8) {
            LONGS.set(out, outOff + i, (long) LONGS.get(in, off + i) ^ (long) LONGS.get(ks, i));
        }
    }

    @Override
    public String toString() {
        return "OpenPgpCfbCipher" + (encrypt ? "[encrypt]" : "[decrypt]");
    }
}
