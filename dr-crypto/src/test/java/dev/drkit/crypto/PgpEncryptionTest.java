package dev.drkit.crypto;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.drkit.BackupResult;
import dev.drkit.CorruptDataException;
import dev.drkit.DrException;
import dev.drkit.DrKit;
import dev.drkit.RestoreRequest;
import dev.drkit.TargetSpec;
import dev.drkit.VerifyLevel;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class PgpEncryptionTest {
    private static final String SECRET = "DATABASE_PASSWORD=correct-horse-battery-staple";

    @TempDir
    Path dir;

    Path config;

    @BeforeEach
    void writeConfig() throws IOException {
        config = Files.createDirectories(dir.resolve("etc/app"));
        Files.writeString(config.resolve(".env.production"), SECRET + "\n".repeat(10));
    }

    private DrKit kit(PgpEncryption enc, PgpDecryption dec) {
        return DrKit.builder()
                .repository(dir.resolve("repo").toString())
                .encryption(enc)
                .decryption(dec)
                .compression("none")
                .build();
    }

    private static PgpEncryption toKey(PgpKeys.Generated g) throws IOException {
        return PgpEncryption.builder().recipient(TestKeys.encryptionKey(g)).build();
    }

    private static PgpDecryption withKey(PgpKeys.Generated g) throws IOException {
        return PgpDecryption.builder().secretKeys(TestKeys.secretKeys(g)).build();
    }

    @Test
    void noPlaintextReachesTheRepositoryEvenUncompressed() throws Exception {
        try (DrKit kit = kit(toKey(TestKeys.pair()), null)) {
            BackupResult r = kit.backup(TargetSpec.files("config", config.toString()));
            assertThat(r.manifest().artifacts().get(0).storedName()).isEqualTo("files.tar.pgp");
            assertThat(r.manifest().artifacts().get(0).codecs()).containsExactly("pgp");
            assertThat(r.manifest().artifacts().get(0).recipients())
                    .containsExactly(TestKeys.pair().keyId());
        }
        try (Stream<Path> files = Files.walk(dir.resolve("repo"))) {
            for (Path f : files.filter(Files::isRegularFile).toList()) {
                assertThat(Files.readString(f, StandardCharsets.ISO_8859_1))
                        .as(f.toString())
                        .doesNotContain("correct-horse")
                        .doesNotContain(".env.production");
            }
        }
    }

    @Test
    void restoreWithoutAKeyFailsAndSaysWhichKeyIsNeeded() throws Exception {
        String id;
        try (DrKit kit = kit(toKey(TestKeys.pair()), null)) {
            id = kit.backup(TargetSpec.files("config", config.toString())).id();
            assertThatThrownBy(() -> kit.restore(RestoreRequest.files("config", id, dir.resolve("out"))))
                    .isInstanceOf(DrException.class)
                    .hasMessageContaining(TestKeys.pair().keyId())
                    .hasMessageContaining("setting 'secret-key'");
            // checksum verification needs no key; decode does
            assertThat(kit.verify("config", id, VerifyLevel.CHECKSUM).passed()).isTrue();
        }
        assertThat(dir.resolve("out")).doesNotExist();
    }

    @Test
    void anotherKeyFailsBeforeWritingAnything() throws Exception {
        try (DrKit kit = kit(toKey(TestKeys.pair()), withKey(TestKeys.other()))) {
            String id =
                    kit.backup(TargetSpec.files("config", config.toString())).id();
            assertThatThrownBy(() -> kit.restore(RestoreRequest.files("config", id, dir.resolve("out"))))
                    .isInstanceOfSatisfying(DrException.class, e -> {
                        assertThat(e.code()).isEqualTo(DrException.ErrorCode.DECRYPTION);
                        assertThat(e.getMessage())
                                .contains(TestKeys.pair().keyId())
                                .contains("do not fit");
                    });
        }
        assertThat(dir.resolve("out")).doesNotExist();
        try (Stream<Path> s = Files.list(dir)) {
            assertThat(s.map(p -> p.getFileName().toString())).noneMatch(n -> n.contains("drkit-restore"));
        }
    }

    @Test
    void rightKeyRestoresIdenticalFiles() throws Exception {
        try (DrKit kit = kit(toKey(TestKeys.pair()), withKey(TestKeys.pair()))) {
            String id =
                    kit.backup(TargetSpec.files("config", config.toString())).id();
            assertThat(kit.verify("config", id, VerifyLevel.DECODE).passed()).isTrue();
            kit.restore(RestoreRequest.files("config", id, dir.resolve("out")));
        }
        assertThat(dir.resolve("out").resolve(config.toString().substring(1)).resolve(".env.production"))
                .hasSameTextualContentAs(config.resolve(".env.production"));
    }

    @Test
    void rotationKeepsOldBackupsOpenWithTheOldKey() throws Exception {
        PgpEncryption both = PgpEncryption.builder()
                .recipient(TestKeys.encryptionKey(TestKeys.pair()))
                .recipient(TestKeys.encryptionKey(TestKeys.other()))
                .build();
        byte[] message = encrypt(both, "payload".getBytes(StandardCharsets.UTF_8));
        assertThat(decrypt(withKey(TestKeys.pair()), message)).isEqualTo("payload".getBytes(StandardCharsets.UTF_8));
        assertThat(decrypt(withKey(TestKeys.other()), message)).isEqualTo("payload".getBytes(StandardCharsets.UTF_8));
    }

    @Test
    void passphraseProtectedSecretKeyNeedsItsPassphrase() throws Exception {
        PgpKeys.Generated locked = PgpKeys.generate("locked <l@drkit.dev>", "s3cret".toCharArray());
        byte[] message = encrypt(toKey(locked), "payload".getBytes(StandardCharsets.UTF_8));
        PgpDecryption noPass =
                PgpDecryption.builder().secretKeys(TestKeys.secretKeys(locked)).build();
        assertThatThrownBy(() -> decrypt(noPass, message))
                .isInstanceOf(DrException.class)
                .hasMessageContaining("passphrase")
                .hasMessageNotContaining("s3cret");
        PgpDecryption withPass = PgpDecryption.builder()
                .secretKeys(TestKeys.secretKeys(locked))
                .passphrase("s3cret".toCharArray())
                .build();
        assertThat(decrypt(withPass, message)).isEqualTo("payload".getBytes(StandardCharsets.UTF_8));
    }

    @Test
    void passphraseEncryptionOpensOnlyWithThePassphrase() throws Exception {
        PgpEncryption enc =
                PgpEncryption.builder().passphrase("open sesame".toCharArray()).build();
        assertThat(enc.recipients()).containsExactly("passphrase");
        assertThat(enc.toString()).doesNotContain("sesame");
        byte[] message = encrypt(enc, "payload".getBytes(StandardCharsets.UTF_8));
        assertThat(decrypt(
                        PgpDecryption.builder()
                                .passphrase("open sesame".toCharArray())
                                .build(),
                        message))
                .isEqualTo("payload".getBytes(StandardCharsets.UTF_8));
        assertThatThrownBy(() -> decrypt(
                        PgpDecryption.builder()
                                .passphrase("wrong".toCharArray())
                                .build(),
                        message))
                .isInstanceOf(DrException.class)
                .hasMessageContaining("passphrase")
                .hasMessageNotContaining("wrong");
    }

    @Test
    void tamperedCiphertextFailsTheIntegrityCheck() throws Exception {
        byte[] plain = new byte[200_000];
        byte[] message = encrypt(toKey(TestKeys.pair()), plain);
        message[message.length - 40_000] ^= 0x01;
        // damaged or forged bytes, not a key problem: a reader with other copies tries them
        assertThatThrownBy(() -> decrypt(withKey(TestKeys.pair()), message))
                .isInstanceOf(CorruptDataException.class)
                .hasMessageContaining("fails its OpenPGP integrity check");
    }

    static byte[] encrypt(PgpEncryption enc, byte[] plain) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (OutputStream e = enc.encrypt(out, "data")) {
            e.write(plain);
        }
        return out.toByteArray();
    }

    static byte[] decrypt(PgpDecryption dec, byte[] message) throws IOException {
        try (InputStream in = dec.decrypt(new ByteArrayInputStream(message), "test message")) {
            return in.readAllBytes();
        }
    }
}
