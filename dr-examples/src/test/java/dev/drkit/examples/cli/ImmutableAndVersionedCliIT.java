package dev.drkit.examples.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.drkit.testkit.VersionedS3Server;
import io.minio.GetObjectArgs;
import io.minio.MinioClient;
import io.minio.PutObjectArgs;
import io.minio.RemoveObjectArgs;
import io.minio.StatObjectArgs;
import java.io.ByteArrayInputStream;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * What a new user does through the jar against a server with versioning and Object Lock
 * (moto): an offsite copy that cannot be deleted before its lock passes, and a versioned
 * bucket restored whole or as it was at a moment.
 */
class ImmutableAndVersionedCliIT {
    static VersionedS3Server s3;
    static Map<String, String> env;
    static MinioClient mc;

    @TempDir
    Path work;

    @BeforeAll
    static void start() throws Exception {
        s3 = VersionedS3Server.start();
        env = Map.of("AWS_ACCESS_KEY_ID", s3.accessKey(), "AWS_SECRET_ACCESS_KEY", s3.secretKey());
        mc = MinioClient.builder()
                .endpoint(s3.endpoint().toString())
                .region("us-east-1")
                .credentials(s3.accessKey(), s3.secretKey())
                .build();
    }

    @AfterAll
    static void stop() throws Exception {
        if (s3 != null) {
            s3.close();
        }
    }

    @Test
    void anOffsiteCopyWithObjectLockIsKeptByPruneUntilItsLockPasses() throws Exception {
        s3.createLockedBucket("vault");
        Path data = Files.createDirectories(work.resolve("etc/app"));
        Files.writeString(data.resolve("app.yaml"), "port: 8080\n");
        Path local = work.resolve("local");
        String offsite = "s3://vault/prod?endpoint=" + s3.endpoint() + "&object-lock=compliance&lock-for=1d";
        for (int i = 0; i < 2; i++) {
            CliProcess.Result b = CliProcess.run(
                    local, List.of(), env, "backup", "files", "--name", "config", "--path", data.toString());
            assertThat(b.exit()).as(b.err()).isZero();
        }
        CliProcess.Result copy =
                CliProcess.run(local, List.of(), env, "copy", "--name", "config", "--all", "--to", offsite);
        assertThat(copy.exit()).as(copy.err()).isZero();
        assertThat(copy.out()).contains("copied 2 backup(s)");

        CliProcess.Result verify =
                CliProcess.run(null, List.of(), env, "--repo", offsite, "verify", "--name", "config", "--latest");
        assertThat(verify.exit()).as(verify.err()).isZero();
        CliProcess.Result prune = CliProcess.run(
                null, List.of(), env, "--repo", offsite, "prune", "--name", "config", "--keep-last", "1");
        assertThat(prune.exit()).as(prune.err()).isZero();
        assertThat(prune.out()).contains("immutable until").contains("0 backup(s) deleted");
        String listed =
                CliProcess.run(null, List.of(), env, "--repo", offsite, "list").out();
        assertThat(listed).contains("IMMUTABLE UNTIL");
        assertThat(listed.lines().filter(l -> l.contains("config")))
                .hasSize(2)
                .allMatch(l -> l.matches(".*  \\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\dZ$"));
        assertThat(CliProcess.run(local, List.of(), env, "list").out()).doesNotContain("IMMUTABLE");

        // the local repository has no lock: the same prune deletes there
        CliProcess.Result localPrune =
                CliProcess.run(local, List.of(), env, "prune", "--name", "config", "--keep-last", "1");
        assertThat(localPrune.out()).contains("1 backup(s) deleted");
    }

    private static void put(String bucket, String key, String text, String type) throws Exception {
        byte[] b = text.getBytes(StandardCharsets.UTF_8);
        mc.putObject(
                PutObjectArgs.builder().bucket(bucket).object(key).stream(new ByteArrayInputStream(b), b.length, -1)
                        .contentType(type)
                        .userMetadata(Map.of("owner", "finance"))
                        .build());
        Thread.sleep(1100); // the server keeps whole seconds
    }

    private static String get(String bucket, String key) throws Exception {
        try (InputStream in =
                mc.getObject(GetObjectArgs.builder().bucket(bucket).object(key).build())) {
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
    }

    @Test
    void aVersionedBucketIsRestoredAsItWasBeforeTheDeletes() throws Exception {
        s3.createVersionedBucket("finance");
        put("finance", "q3.pdf", "%PDF-1.4 q3 draft", "application/pdf");
        put("finance", "q3.pdf", "%PDF-1.4 q3 final", "application/pdf");
        put("finance", "notes.txt", "quarter closed", "text/plain");
        Instant beforeIncident = Instant.now();
        Thread.sleep(1100);
        mc.removeObject(
                RemoveObjectArgs.builder().bucket("finance").object("q3.pdf").build());
        mc.removeObject(
                RemoveObjectArgs.builder().bucket("finance").object("notes.txt").build());

        Path repo = work.resolve("repo");
        CliProcess.Result backup = CliProcess.run(
                repo,
                List.of(),
                env,
                "backup",
                "minio-bucket",
                "--name",
                "finance-bucket",
                "--endpoint",
                s3.endpoint().toString(),
                "--bucket",
                "finance",
                "--versions");
        assertThat(backup.exit()).as(backup.err()).isZero();

        CliProcess.Result restore = CliProcess.run(
                repo,
                List.of(),
                env,
                "restore",
                "--name",
                "finance-bucket",
                "--latest",
                "--endpoint",
                s3.endpoint().toString(),
                "--time",
                beforeIncident.toString(),
                "--to-bucket",
                "finance-restored");
        assertThat(restore.exit()).as(restore.err()).isZero();
        assertThat(get("finance-restored", "q3.pdf")).isEqualTo("%PDF-1.4 q3 final");
        assertThat(get("finance-restored", "notes.txt")).isEqualTo("quarter closed");
        var pdf = mc.statObject(StatObjectArgs.builder()
                .bucket("finance-restored")
                .object("q3.pdf")
                .build());
        assertThat(pdf.contentType()).isEqualTo("application/pdf");
        assertThat(pdf.userMetadata()).containsEntry("owner", "finance");
    }
}
