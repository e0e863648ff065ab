package dev.drkit.crypto;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Random;
import javax.crypto.Cipher;
import javax.crypto.spec.IvParameterSpec;
import javax.crypto.spec.SecretKeySpec;
import org.junit.jupiter.api.Test;

class OpenPgpCfbCipherTest {

    /** Feeds the same data in random-sized pieces to the JDK's CFB and to ours: outputs must match. */
    @Test
    void matchesTheJdksCfbForAnyWayTheDataIsSplit() throws Exception {
        Random r = new Random(17);
        for (int round = 0; round < 40; round++) {
            byte[] key = new byte[32];
            byte[] iv = new byte[16];
            r.nextBytes(key);
            r.nextBytes(iv);
            byte[] plain = new byte[r.nextInt(300_000)];
            r.nextBytes(plain);
            for (int mode : new int[] {Cipher.ENCRYPT_MODE, Cipher.DECRYPT_MODE}) {
                Cipher jdk = Cipher.getInstance("AES/CFB/NoPadding");
                jdk.init(mode, new SecretKeySpec(key, "AES"), new IvParameterSpec(iv));
                Cipher ours = Cipher.getInstance("AES/CFB/NoPadding", CfbProvider.INSTANCE);
                ours.init(mode, new SecretKeySpec(key, "AES"), new IvParameterSpec(iv));
                byte[] expected = jdk.doFinal(plain);
                byte[] actual = new byte[plain.length];
                int pos = 0;
                while (pos < plain.length) {
                    int n = Math.min(plain.length - pos, r.nextInt(4) == 0 ? r.nextInt(40) : r.nextInt(100_000));
                    ours.update(plain, pos, n, actual, pos);
                    pos += n;
                }
                assertThat(actual)
                        .as("round %d mode %d length %d", round, mode, plain.length)
                        .isEqualTo(expected);
            }
        }
    }

    @Test
    void worksInPlace() throws Exception {
        byte[] key = new byte[32];
        byte[] data = new byte[100_003];
        new Random(3).nextBytes(data);
        byte[] copy = data.clone();
        Cipher enc = Cipher.getInstance("AES/CFB/NoPadding", CfbProvider.INSTANCE);
        enc.init(Cipher.ENCRYPT_MODE, new SecretKeySpec(key, "AES"), new IvParameterSpec(new byte[16]));
        enc.update(data, 0, data.length, data, 0);
        Cipher dec = Cipher.getInstance("AES/CFB/NoPadding", CfbProvider.INSTANCE);
        dec.init(Cipher.DECRYPT_MODE, new SecretKeySpec(key, "AES"), new IvParameterSpec(new byte[16]));
        dec.update(data, 0, data.length, data, 0);
        assertThat(data).isEqualTo(copy);
    }
}
