package dev.drkit.s3;

import static org.assertj.core.api.Assertions.assertThat;

import dev.drkit.BackupResult;
import dev.drkit.ConfigException;
import dev.drkit.DrException;
import dev.drkit.DrKit;
import dev.drkit.RestoreRequest;
import dev.drkit.TargetSpec;
import dev.drkit.VerifyLevel;
import dev.drkit.testkit.S3ServerExtension;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Random;
import org.assertj.core.api.Assertions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/** A repository named by an s3:// URI, found through the provider, with multipart artifacts. */
class S3RepositoryUriIT {
    @RegisterExtension
    static final S3ServerExtension s3 = new S3ServerExtension("corporate-intel-backups", "vault");

    @TempDir
    Path dir;

    @Test
    void backupVerifyRestoreThroughAnS3Uri() throws Exception {
        try {
            System.setProperty("aws.accessKeyId", s3.accessKey());
            System.setProperty("aws.secretAccessKey", s3.secretKey());
            Path data = Files.createDirectories(dir.resolve("data"));
            byte[] chunk = new byte[1 << 20];
            Random r = new Random(1);
            try (OutputStream out = Files.newOutputStream(data.resolve("big.bin"))) {
                for (int i = 0; i < 40; i++) { // 40 MiB: several multipart parts
                    r.nextBytes(chunk);
                    out.write(chunk);
                }
            }
            String uri = "s3://corporate-intel-backups/production?region=eu-west-1&endpoint=" + s3.endpoint()
                    + "&path-style=true&part-size=8M";
            try (DrKit kit = DrKit.builder().repository(uri).build()) {
                assertThat(kit.repositoryDescription())
                        .startsWith("s3://corporate-intel-backups/production")
                        .doesNotContain(s3.secretKey());
                BackupResult b = kit.backup(TargetSpec.files("data", data.toString()));
                assertThat(b.manifest().storedSize()).isGreaterThan(40L << 20);
                assertThat(kit.verify("data", b.id(), VerifyLevel.DECODE).passed())
                        .isTrue();
                kit.restore(RestoreRequest.files("data", b.id(), dir.resolve("out")));
            }
            Path back = dir.resolve("out").resolve(data.toString().substring(1)).resolve("big.bin");
            assertThat(Files.mismatch(back, data.resolve("big.bin"))).isEqualTo(-1L);
        } finally {
            System.clearProperty("aws.accessKeyId");
            System.clearProperty("aws.secretAccessKey");
        }
    }

    @Test
    void credentialsFromAProfileOfAPrivateCredentialsFile() throws Exception {
        Path creds = dir.resolve("credentials");
        Files.writeString(
                creds,
                "[default]\naws_access_key_id = wrong\naws_secret_access_key = wrong\n\n"
                        + "[backup]\naws_access_key_id = " + s3.accessKey() + "\naws_secret_access_key = "
                        + s3.secretKey() + "\n");
        Files.setPosixFilePermissions(creds, PosixFilePermissions.fromString("rw-------"));
        Path data = Files.createDirectories(dir.resolve("data"));
        Files.writeString(data.resolve("app.yaml"), "port: 8080\n");
        String base = "s3://vault/prod?endpoint=" + s3.endpoint() + "&credentials-file=" + creds;
        try (DrKit kit = DrKit.builder().repository(base + "&profile=backup").build()) {
            BackupResult b = kit.backup(TargetSpec.files("data", data.toString()));
            assertThat(kit.verify("data", b.id(), VerifyLevel.DECODE).passed()).isTrue();
        }
        // the server checks signatures: the default profile's keys are refused
        Assertions.assertThatThrownBy(() -> {
                    try (DrKit kit = DrKit.builder().repository(base).build()) {
                        kit.list("data");
                    }
                })
                .isInstanceOf(DrException.class)
                .hasMessageNotContaining(s3.secretKey());
        Assertions.assertThatThrownBy(
                        () -> DrKit.builder().repository(base + "&profile=nope").build())
                .isInstanceOf(ConfigException.class)
                .hasMessageContaining("no profile 'nope'")
                .hasMessageContaining("backup");
        Files.setPosixFilePermissions(creds, PosixFilePermissions.fromString("rw-r--r--"));
        Assertions.assertThatThrownBy(() -> DrKit.builder().repository(base).build())
                .isInstanceOf(ConfigException.class)
                .hasMessageContaining("chmod 600");
    }
}
