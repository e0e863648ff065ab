package dev.drkit.examples.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.drkit.testkit.S3ServerExtension;
import io.minio.GetObjectArgs;
import io.minio.MinioClient;
import io.minio.PutObjectArgs;
import io.minio.RemoveObjectArgs;
import io.minio.StatObjectArgs;
import java.io.ByteArrayInputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.s3.S3Client;

/** The CLI against an S3 repository (S3Proxy), credentials from the environment. */
class S3CliIT {
    @RegisterExtension
    static final S3ServerExtension s3 = new S3ServerExtension("offsite");

    @TempDir
    Path work;

    @Test
    void backupListVerifyRestoreWithAnS3Repository() throws Exception {
        Path data = Files.createDirectories(work.resolve("etc/app"));
        Files.writeString(data.resolve("app.yaml"), "port: 8080\n".repeat(1000));
        String repo = "s3://offsite/production?region=eu-west-1&endpoint=" + s3.endpoint();
        Map<String, String> env = Map.of(
                "AWS_ACCESS_KEY_ID", s3.accessKey(), "AWS_SECRET_ACCESS_KEY", s3.secretKey(), "DRKIT_REPO", repo);

        CliProcess.Result backup =
                CliProcess.run(null, List.of(), env, "backup", "files", "--name", "config", "--path", data.toString());
        assertThat(backup.exit()).as(backup.err()).isZero();
        String id = backup.lastLine();
        assertThat(CliProcess.run(null, List.of(), env, "list").out()).contains(id);
        CliProcess.Result verify = CliProcess.run(null, List.of(), env, "verify", "--name", "config", "--id", id);
        assertThat(verify.exit()).as(verify.err()).isZero();
        CliProcess.Result restore = CliProcess.run(
                null,
                List.of(),
                env,
                "restore",
                "--name",
                "config",
                "--latest",
                "--to",
                work.resolve("out").toString());
        assertThat(restore.exit()).as(restore.err()).isZero();
        assertThat(work.resolve("out").resolve(data.toString().substring(1)).resolve("app.yaml"))
                .hasSameTextualContentAs(data.resolve("app.yaml"));

        // a local backup copied offsite verifies there
        Path local = work.resolve("local");
        CliProcess.Result localBackup =
                CliProcess.run(local, List.of(), env, "backup", "files", "--name", "config", "--path", data.toString());
        assertThat(localBackup.exit()).as(localBackup.err()).isZero();
        String localId = localBackup.lastLine();
        CliProcess.Result copy =
                CliProcess.run(local, List.of(), env, "copy", "--name", "config", "--all", "--to", repo);
        assertThat(copy.exit()).as(copy.err()).isZero();
        assertThat(copy.out()).contains("copied 1 backup(s)");
        CliProcess.Result offsiteVerify =
                CliProcess.run(null, List.of(), env, "verify", "--name", "config", "--id", localId);
        assertThat(offsiteVerify.exit()).as(offsiteVerify.err()).isZero();

        // the same with the MinIO SDK backend
        String minio = "minio://127.0.0.1:" + s3.endpoint().getPort() + "/offsite/minio-prod?secure=false";
        CliProcess.Result mBackup = CliProcess.run(
                null,
                List.of(),
                env,
                "--repo",
                minio,
                "backup",
                "files",
                "--name",
                "config",
                "--path",
                data.toString());
        assertThat(mBackup.exit()).as(mBackup.err()).isZero();
        assertThat(CliProcess.run(null, List.of(), env, "--repo", minio, "verify", "--name", "config", "--latest")
                        .exit())
                .isZero();
        CliProcess.Result mRestore = CliProcess.run(
                null,
                List.of(),
                env,
                "--repo",
                minio,
                "restore",
                "--name",
                "config",
                "--latest",
                "--to",
                work.resolve("out-minio").toString());
        assertThat(mRestore.exit()).as(mRestore.err()).isZero();
        assertThat(work.resolve("out-minio")
                        .resolve(data.toString().substring(1))
                        .resolve("app.yaml"))
                .hasSameTextualContentAs(data.resolve("app.yaml"));

        // a bucket backed up with its metadata, both objects deleted, restored
        MinioClient mc = MinioClient.builder()
                .endpoint(s3.endpoint().toString())
                .region("us-east-1")
                .credentials(s3.accessKey(), s3.secretKey())
                .build();
        s3.createBucket("finance");
        byte[] pdf = new byte[100_000];
        new Random(2).nextBytes(pdf);
        mc.putObject(PutObjectArgs.builder().bucket("finance").object("q3.pdf").stream(
                        new ByteArrayInputStream(pdf), pdf.length, -1)
                .contentType("application/pdf")
                .userMetadata(Map.of("owner", "finance"))
                .build());
        CliProcess.Result bucketBackup = CliProcess.run(
                null,
                List.of(),
                env,
                "backup",
                "minio-bucket",
                "--name",
                "finance-bucket",
                "--endpoint",
                s3.endpoint().toString(),
                "--bucket",
                "finance");
        assertThat(bucketBackup.exit()).as(bucketBackup.err()).isZero();
        mc.removeObject(
                RemoveObjectArgs.builder().bucket("finance").object("q3.pdf").build());
        // the backup recorded where the bucket lives: the restore is not told again
        CliProcess.Result bucketRestore = CliProcess.run(
                null, List.of(), env, "restore", "--name", "finance-bucket", "--latest", "--to-bucket", "finance");
        assertThat(bucketRestore.exit()).as(bucketRestore.err()).isZero();
        var stat = mc.statObject(
                StatObjectArgs.builder().bucket("finance").object("q3.pdf").build());
        assertThat(stat.contentType()).isEqualTo("application/pdf");
        assertThat(stat.userMetadata()).containsEntry("owner", "finance");
        try (var in = mc.getObject(
                GetObjectArgs.builder().bucket("finance").object("q3.pdf").build())) {
            assertThat(in.readAllBytes()).isEqualTo(pdf);
        }

        CliProcess.Result noCreds = CliProcess.run(
                null,
                List.of(),
                Map.of("DRKIT_REPO", repo, "AWS_ACCESS_KEY_ID", "wrong", "AWS_SECRET_ACCESS_KEY", "wrong-secret-value"),
                "list");
        assertThat(noCreds.exit()).isEqualTo(1);
        assertThat(noCreds.err()).startsWith("drkit: ").doesNotContain("wrong-secret-value");
    }

    /**
     * A backup into S3 stopped by SIGTERM while it uploads in parts: exit 143, and nothing left
     * in the bucket, no parts of an unfinished multipart upload either. Before, the SDK refused
     * the abort of the thread the signal had interrupted, and the parts stayed stored and billed.
     */
    @Test
    void aBackupToS3StoppedBySigtermLeavesNoPartsNorObjects() throws Exception {
        Path src = Files.createDirectories(work.resolve("big"));
        CliProcess.writeRandom(src.resolve("big.bin"), 400L << 20);
        String repo = "s3://offsite/stopped?region=eu-west-1&endpoint=" + s3.endpoint();
        Path err = work.resolve("err");
        ProcessBuilder pb = CliProcess.builder(
                null, List.of(), "--repo", repo, "backup", "files", "--name", "big", "--path", src.toString());
        pb.environment().putAll(Map.of("AWS_ACCESS_KEY_ID", s3.accessKey(), "AWS_SECRET_ACCESS_KEY", s3.secretKey()));
        try (S3Client direct = S3Client.builder()
                .endpointOverride(s3.endpoint())
                .region(Region.EU_WEST_1)
                .forcePathStyle(true)
                .credentialsProvider(
                        StaticCredentialsProvider.create(AwsBasicCredentials.create(s3.accessKey(), s3.secretKey())))
                .build()) {
            Process p = pb.redirectOutput(work.resolve("out").toFile())
                    .redirectError(err.toFile())
                    .start();
            while (direct.listMultipartUploads(r -> r.bucket("offsite").prefix("stopped/"))
                    .uploads()
                    .isEmpty()) {
                assertThat(p.waitFor(5, TimeUnit.MILLISECONDS))
                        .as("the backup finished before its multipart upload was seen")
                        .isFalse();
            }
            p.destroy(); // SIGTERM
            assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();

            assertThat(p.exitValue()).as(Files.readString(err)).isEqualTo(143);
            assertThat(Files.readString(err)).contains("stopped by a signal").doesNotContain("Thread was interrupted");
            assertThat(direct.listMultipartUploads(r -> r.bucket("offsite").prefix("stopped/"))
                            .uploads())
                    .as("unfinished multipart uploads left")
                    .isEmpty();
            assertThat(direct.listObjectsV2(r -> r.bucket("offsite").prefix("stopped/"))
                            .contents())
                    .extracting(o -> o.key())
                    .as("objects left: only the repository's own description may stay")
                    .allMatch(k -> !k.contains("/backups/") && !k.contains("/locks/"));
        }
    }
}
