package dev.drkit.s3;

import static org.assertj.core.api.Assertions.assertThat;

import dev.drkit.CopyResult;
import dev.drkit.DrKit;
import dev.drkit.TargetSpec;
import dev.drkit.retention.GfsRetentionPolicy;
import dev.drkit.storage.FileStorageBackend;
import dev.drkit.testkit.S3ServerExtension;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;
import software.amazon.awssdk.core.sync.RequestBody;
import software.amazon.awssdk.services.s3.S3Client;

/**
 * A bucket takes keys drkit never writes ({@code a//b}, {@code a/../b}, {@code a\b}; the
 * test server refuses the first two), and every call naming one is refused: listed, one such key (anyone with the backup host's credentials can put it)
 * stopped every prune and the copy of the backup it sat in. Listings leave them out now.
 */
class S3ForeignKeysIT {
    @RegisterExtension
    static final S3ServerExtension s3 = new S3ServerExtension("backups");

    static S3Client client;

    @TempDir
    Path dir;

    @BeforeAll
    static void startClient() {
        client = TestClients.s3(s3.endpoint(), s3.accessKey(), s3.secretKey()).build();
    }

    @AfterAll
    static void stopClient() {
        client.close();
    }

    @Test
    void keysDrkitCannotHaveWrittenAreNotListedAndStopNoPrune() throws Exception {
        S3StorageBackend backend = S3StorageBackend.builder()
                .client(client)
                .bucket("backups")
                .prefix("foreign")
                .build();
        Path data = Files.createDirectories(dir.resolve("etc/app"));
        Files.writeString(data.resolve("a.conf"), "a=1\n");
        try (DrKit kit = DrKit.builder().storage(backend).build()) {
            String id = kit.backup(TargetSpec.files("config", data.toString())).id();
            // in the backup's folder, and in a folder with a backup's name but no manifest (which
            // prune removes as an unfinished backup)
            for (String planted : new String[] {
                "foreign/backups/config/" + id + "/notes\\x", "foreign/backups/config/20200101T000000Z-abcdef/a\\b"
            }) {
                client.putObject(r -> r.bucket("backups").key(planted), RequestBody.fromString("x"));
            }
            assertThat(client.listObjectsV2(r -> r.bucket("backups").prefix("foreign/"))
                            .contents())
                    .as("the bucket holds them")
                    .anyMatch(o -> o.key().contains("\\"));
            assertThat(backend.list("backups/config/"))
                    .extracting(o -> o.key())
                    .isNotEmpty()
                    .noneMatch(k -> k.contains("//") || k.contains("\\"));
            for (int i = 0; i < 2; i++) {
                kit.prune(null, GfsRetentionPolicy.builder().keepLast(1).build(), false);
            }
            assertThat(kit.list("config")).hasSize(1);
            CopyResult copied = kit.copy("config", id, false, new FileStorageBackend(dir.resolve("offsite")));
            assertThat(copied.copied()).contains(id);
        }
    }
}
