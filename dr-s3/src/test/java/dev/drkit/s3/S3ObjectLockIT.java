package dev.drkit.s3;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.drkit.BackupResult;
import dev.drkit.DrException;
import dev.drkit.DrKit;
import dev.drkit.PruneResult;
import dev.drkit.RestoreRequest;
import dev.drkit.Settings;
import dev.drkit.TargetSpec;
import dev.drkit.VerifyLevel;
import dev.drkit.retention.GfsRetentionPolicy;
import dev.drkit.testkit.VersionedS3Server;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.model.HeadObjectResponse;
import software.amazon.awssdk.services.s3.model.ObjectVersion;
import software.amazon.awssdk.services.s3.model.S3Exception;

/**
 * Immutable backups with S3 Object Lock, against a server that enforces it (moto): the
 * repository's data is written with a retention, cannot be deleted by version while it lasts,
 * and prune keeps locked backups until their retention has passed.
 */
class S3ObjectLockIT {
    static VersionedS3Server s3;
    static S3Client client;

    @TempDir
    Path dir;

    @BeforeAll
    static void start() throws Exception {
        s3 = VersionedS3Server.start();
        client = TestClients.s3(s3.endpoint(), s3.accessKey(), s3.secretKey()).build();
    }

    @AfterAll
    static void stop() throws Exception {
        if (client != null) {
            client.close();
        }
        if (s3 != null) {
            s3.close();
        }
    }

    private Path config() throws Exception {
        Path src = Files.createDirectories(dir.resolve("etc"));
        Files.writeString(src.resolve("app.yaml"), "port: 8080\n");
        byte[] blob = new byte[7 << 20]; // incompressible: a multipart upload with 5 MiB parts
        new Random(5).nextBytes(blob);
        Files.write(src.resolve("blob.bin"), blob);
        return src;
    }

    private static S3StorageBackend backend(String bucket, String mode, Duration lockFor) {
        return S3StorageBackend.builder()
                .client(client)
                .bucket(bucket)
                .prefix("repo")
                .partSize(5 << 20)
                .objectLock(mode, lockFor)
                .build();
    }

    @Test
    void backupDataIsWrittenLockedAndCannotBeDeletedByVersion() throws Exception {
        s3.createLockedBucket("vault");
        Path src = config();
        try (DrKit kit = DrKit.builder()
                .storage(backend("vault", "compliance", Duration.ofDays(1)))
                .build()) {
            Instant before = Instant.now();
            BackupResult b = kit.backup(TargetSpec.files("config", src.toString()));
            assertThat(b.manifest().lockedUntil()).isAfter(before.plus(Duration.ofHours(23)));
            assertThat(kit.verify("config", b.id(), VerifyLevel.DECODE).passed())
                    .isTrue();

            List<ObjectVersion> versions = client.listObjectVersions(
                            r -> r.bucket("vault").prefix("repo/backups/"))
                    .versions();
            assertThat(versions)
                    .extracting(ObjectVersion::key)
                    .anyMatch(k -> k.endsWith("/manifest.json"))
                    .anyMatch(k -> k.endsWith(".sha256"));
            for (ObjectVersion v : versions) { // every artifact, checksum and the manifest
                HeadObjectResponse h =
                        client.headObject(r -> r.bucket("vault").key(v.key()).versionId(v.versionId()));
                assertThat(h.objectLockModeAsString()).as(v.key()).isEqualTo("COMPLIANCE");
                assertThat(h.objectLockRetainUntilDate()).as(v.key()).isAfter(before.plus(Duration.ofHours(23)));
            }
            // what an attacker with the host's credentials would try
            ObjectVersion manifest = versions.stream()
                    .filter(v -> v.key().endsWith("/manifest.json"))
                    .findFirst()
                    .orElseThrow();
            assertThatThrownBy(() -> client.deleteObject(
                            r -> r.bucket("vault").key(manifest.key()).versionId(manifest.versionId())))
                    .isInstanceOfSatisfying(
                            S3Exception.class, e -> assertThat(e.statusCode()).isEqualTo(403));

            // retention would expire the older backup, but it is immutable: prune keeps it and says why
            BackupResult newer = kit.backup(TargetSpec.files("config", src.toString()));
            PruneResult pruned =
                    kit.prune("config", GfsRetentionPolicy.builder().keepLast(1).build(), false);
            assertThat(pruned.deleted().get("config")).isEmpty();
            assertThat(pruned.plans().get("config").decisions()).anySatisfy(d -> {
                assertThat(d.backupId()).isEqualTo(b.id());
                assertThat(d.keep()).isTrue();
                assertThat(d.reasons()).anyMatch(r -> r.startsWith("immutable until "));
            });
            assertThat(kit.list("config")).hasSize(2);

            // and the locked backups still restore
            Path out = dir.resolve("restored");
            kit.restore(new RestoreRequest(
                    "config",
                    newer.id(),
                    Settings.builder().set("to", out.toString()).build(),
                    false));
            assertThat(Files.readString(out.resolve(src.toString().substring(1)).resolve("app.yaml")))
                    .isEqualTo("port: 8080\n");
        }
    }

    @Test
    void pruneDeletesOnceTheRetentionHasPassed() throws Exception {
        s3.createLockedBucket("vault-short");
        Path src = config();
        try (DrKit kit = DrKit.builder()
                // long enough that two small backups end inside it on a loaded machine
                .storage(backend("vault-short", "GOVERNANCE", Duration.ofSeconds(12)))
                .build()) {
            BackupResult first = kit.backup(TargetSpec.files("config", src.toString()));
            kit.backup(TargetSpec.files("config", src.toString()));
            assertThat(kit.prune(
                                    "config",
                                    GfsRetentionPolicy.builder().keepLast(1).build(),
                                    false)
                            .deleted()
                            .get("config"))
                    .isEmpty();
            Thread.sleep(Duration.between(Instant.now(), first.manifest().lockedUntil())
                            .toMillis()
                    + 1500);
            PruneResult pruned =
                    kit.prune("config", GfsRetentionPolicy.builder().keepLast(1).build(), false);
            assertThat(pruned.deleted().get("config")).containsExactly(first.id());
            assertThat(kit.list("config")).hasSize(1);
        }
    }

    @Test
    void aBucketWithoutObjectLockIsAClearError() throws Exception {
        s3.createVersionedBucket("not-locked");
        Path src = config();
        try (DrKit kit = DrKit.builder()
                .storage(backend("not-locked", "COMPLIANCE", Duration.ofDays(1)))
                .build()) {
            assertThatThrownBy(() -> kit.backup(TargetSpec.files("config", src.toString())))
                    .isInstanceOf(DrException.class)
                    .hasMessageContaining("Object Lock");
            assertThat(kit.list("config")).isEmpty();
        }
    }
}
