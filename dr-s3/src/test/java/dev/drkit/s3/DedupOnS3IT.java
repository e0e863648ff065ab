package dev.drkit.s3;

import static org.assertj.core.api.Assertions.assertThat;

import dev.drkit.BackupResult;
import dev.drkit.CheckOptions;
import dev.drkit.ChunkCollection;
import dev.drkit.CopyResult;
import dev.drkit.DrKit;
import dev.drkit.RestoreRequest;
import dev.drkit.TargetSpec;
import dev.drkit.retention.GfsRetentionPolicy;
import dev.drkit.storage.FileStorageBackend;
import dev.drkit.testkit.S3ServerExtension;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Random;
import java.util.UUID;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;
import software.amazon.awssdk.services.s3.S3Client;

/** A deduplicating repository in S3: backups, restore, garbage collection and copies of missing chunks. */
class DedupOnS3IT {
    @RegisterExtension
    static final S3ServerExtension s3 = new S3ServerExtension("backups");

    static S3Client client;

    @TempDir
    Path work;

    @BeforeAll
    static void startS3() {
        client = TestClients.s3(s3.endpoint(), s3.accessKey(), s3.secretKey()).build();
    }

    @AfterAll
    static void stopS3() {
        client.close();
    }

    private S3StorageBackend storage(String prefix) {
        return S3StorageBackend.builder()
                .client(client)
                .bucket("backups")
                .prefix(prefix)
                .partSize(5 << 20)
                .build();
    }

    private Path tree(String name, long seed) throws Exception {
        Path d = Files.createDirectories(work.resolve(name));
        Random r = new Random(seed);
        StringBuilder sb = new StringBuilder();
        while (sb.length() < 6_000_000) {
            sb.append("row ")
                    .append(r.nextInt(1_000_000))
                    .append(' ')
                    .append(Long.toHexString(r.nextLong()))
                    .append('\n');
        }
        Files.writeString(d.resolve("data.txt"), sb);
        return d;
    }

    @Test
    void backupRestorePruneAndCopyOnlyWhatIsMissing() throws Exception {
        String prefix = "dedup-" + UUID.randomUUID();
        Path a = tree("a", 1);
        Path b = tree("b", 2);
        try (DrKit kit = DrKit.builder().storage(storage(prefix)).dedup(true).build()) {
            kit.backup(TargetSpec.files("app", a.toString()));
            BackupResult kept = kit.backup(TargetSpec.files("app", b.toString()));
            Files.writeString(b.resolve("data.txt"), "one more line\n", StandardOpenOption.APPEND);
            BackupResult newest = kit.backup(TargetSpec.files("app", b.toString()));

            ChunkCollection gc = kit.prune(
                            "app", GfsRetentionPolicy.builder().keepLast(2).build(), false)
                    .chunks();
            assertThat(gc.skipped()).isNull();
            assertThat(gc.packsDeleted()).isPositive(); // the first tree's chunks were only its own
            assertThat(kit.check(CheckOptions.readAllData()).findings()).isEmpty();

            Path restored = work.resolve("restored");
            kit.restore(RestoreRequest.files("app", newest.id(), restored));
            assertThat(restored.resolve(b.toString().substring(1)).resolve("data.txt"))
                    .hasSameBinaryContentAs(b.resolve("data.txt"));

            FileStorageBackend local = new FileStorageBackend(work.resolve("local"));
            CopyResult first = kit.copy("app", kept.id(), false, local);
            CopyResult second = kit.copy("app", newest.id(), false, local);
            assertThat(second.bytes()).isLessThan(first.bytes() / 2); // most chunks were there already
            try (DrKit there = DrKit.builder().storage(local).build()) {
                Path again = work.resolve("again");
                there.restore(RestoreRequest.files("app", newest.id(), again));
                assertThat(again.resolve(b.toString().substring(1)).resolve("data.txt"))
                        .hasSameBinaryContentAs(b.resolve("data.txt"));
                assertThat(there.check(CheckOptions.readAllData()).findings()).isEmpty();
            }
        }
    }
}
