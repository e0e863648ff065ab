package dev.drkit.crypto;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.drkit.CorruptDataException;
import dev.drkit.DrException;
import dev.drkit.DrKit;
import dev.drkit.ObjectExistsException;
import dev.drkit.spi.FileArchive;
import dev.drkit.spi.FileArchive.PutResult;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Files kept outside backups (WAL) in a repository encrypted to a public key, written by a host
 * that holds only that key, as the README recommends: a second push of the same file must not
 * need the secret key.
 */
class EncryptedFileArchiveTest {
    @TempDir
    Path dir;

    private DrKit kit(boolean withSecretKey) throws IOException {
        return kit(withSecretKey ? TestKeys.pair() : null);
    }

    private DrKit kit(PgpKeys.Generated secret) throws IOException {
        DrKit.Builder b = DrKit.builder()
                .repository(dir.resolve("repo").toString())
                .encryption(PgpEncryption.builder()
                        .recipient(TestKeys.encryptionKey(TestKeys.pair()))
                        .build());
        if (secret != null) {
            b.decryption(PgpDecryption.builder()
                    .secretKeys(TestKeys.secretKeys(secret))
                    .build());
        }
        return b.build();
    }

    private Path storedObject() throws IOException {
        try (Stream<Path> s = Files.walk(dir.resolve("repo/wal"))) {
            return s.filter(p -> p.getFileName().toString().endsWith(".pgp"))
                    .findFirst()
                    .orElseThrow();
        }
    }

    @Test
    void aHostWithAKeyTheFileIsNotEncryptedToFailsThePushAndSaysWhichKeyItNeeds() throws IOException {
        byte[] original = bytes(2);
        try (DrKit kit = kit(false)) {
            put(kit.archive("wal"), original);
        }
        try (DrKit kit = kit(TestKeys.other())) {
            assertThatThrownBy(() -> put(kit.archive("wal"), original))
                    .isInstanceOf(DrException.class)
                    .hasMessageContaining(TestKeys.pair().keyId());
        }
    }

    @Test
    void aDamagedOrMissingStoredCopyIsNeverTakenForStored() throws IOException {
        byte[] original = bytes(3);
        try (DrKit kit = kit(false)) {
            FileArchive a = kit.archive("wal");
            put(a, original);
            Path object = storedObject();
            byte[] stored = Files.readAllBytes(object);
            stored[stored.length / 2] ^= 1;
            Files.write(object, stored);
            assertThatThrownBy(() -> put(a, original))
                    .isInstanceOf(CorruptDataException.class)
                    .hasMessageContaining("is damaged");
            Files.delete(object);
            assertThatThrownBy(() -> put(a, original)).hasMessageContaining("is recorded but missing");
        }
    }

    private static byte[] bytes(int seed) {
        byte[] b = new byte[200_000];
        new Random(seed).nextBytes(b);
        return b;
    }

    private static PutResult put(FileArchive a, byte[] b) throws IOException {
        return a.put("1/00000001/seg", new ByteArrayInputStream(b), stored -> Arrays.equals(stored.readAllBytes(), b));
    }

    @Test
    void aHostWithOnlyThePublicKeyPushesTheSameFileAgainAndIsRefusedOtherBytes() throws IOException {
        byte[] original = bytes(1);
        try (DrKit kit = kit(false)) {
            FileArchive a = kit.archive("wal");
            assertThat(put(a, original)).isEqualTo(PutResult.STORED);
            assertThat(put(a, original)).isEqualTo(PutResult.ALREADY_STORED);
            byte[] flipped = original.clone();
            flipped[100_000] ^= 1;
            assertThatThrownBy(() -> put(a, flipped))
                    .isInstanceOf(ObjectExistsException.class)
                    .hasMessageContaining("with other content");
            assertThatThrownBy(() -> put(a, Arrays.copyOf(original, original.length - 1)))
                    .isInstanceOf(ObjectExistsException.class);
        }
        // what is stored is still the first file, and a host with the key compares the bytes themselves
        try (DrKit kit = kit(true)) {
            FileArchive a = kit.archive("wal");
            try (InputStream in = a.open("1/00000001/seg").orElseThrow()) {
                assertThat(in.readAllBytes()).isEqualTo(original);
            }
            assertThat(put(a, original)).isEqualTo(PutResult.ALREADY_STORED);
            // with the key, the caller's comparison decides
            assertThatThrownBy(() -> a.put("1/00000001/seg", new ByteArrayInputStream(original), stored -> false))
                    .isInstanceOf(ObjectExistsException.class);
        }
    }
}
