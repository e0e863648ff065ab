package dev.drkit.minio;

import static org.assertj.core.api.Assertions.assertThat;

import dev.drkit.Settings;
import dev.drkit.spi.RestoreContext;
import dev.drkit.testkit.S3ServerExtension;
import io.minio.MinioClient;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveOutputStream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** More forged backups (index.json, objects.tar) restored against S3Proxy: foreign buckets, duplicate entries, control characters. */
class MinioBucketForgedIndexMoreIT {
    @RegisterExtension
    static final S3ServerExtension s3 = new S3ServerExtension();

    static MinioClient client;

    @BeforeAll
    static void startClient() {
        client = MinioClient.builder()
                .endpoint(s3.endpoint().toString())
                .region("us-east-1")
                .credentials(s3.accessKey(), s3.secretKey())
                .build();
        MinioBucketForgedIndexIT.client = client; // its put/get/keys helpers
    }

    private static String unique(String name) {
        return name + "-" + Long.toHexString(System.nanoTime());
    }

    private static String text(String bucket, String key) throws Exception {
        return new String(MinioBucketForgedIndexIT.get(bucket, key), StandardCharsets.UTF_8);
    }

    /** An objects.tar holding these entries in this order, duplicates allowed. */
    static byte[] tar(List<Map.Entry<String, byte[]>> entries) throws IOException {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (TarArchiveOutputStream tar = new TarArchiveOutputStream(bytes)) {
            tar.setLongFileMode(TarArchiveOutputStream.LONGFILE_POSIX);
            for (Map.Entry<String, byte[]> e : entries) {
                TarArchiveEntry t = new TarArchiveEntry(e.getKey());
                t.setSize(e.getValue().length);
                tar.putArchiveEntry(t);
                tar.write(e.getValue());
                tar.closeArchiveEntry();
            }
            tar.finish();
        }
        return bytes.toByteArray();
    }

    /**
     * The backup covered bucket "src" (manifest metadata buckets=[src]); its forged index names
     * another bucket. Restored without to-bucket (the default: back where it came from), every
     * entry goes to the bucket its index entry names: the restore overwrites an object of a
     * bucket the backup never covered, one the restore's credentials can write. requireSound
     * does not compare the index's buckets with the manifest's.
     */
    @Test
    void anIndexNamingABucketTheBackupNeverCoveredIsRefused() throws Exception {
        String victim = unique("victim");
        s3.createBucket(victim);
        MinioBucketForgedIndexIT.put(victim, "config.json", "{\"live\":true}".getBytes(StandardCharsets.UTF_8));
        byte[] evil = "{\"live\":false}".getBytes(StandardCharsets.UTF_8);
        Map<String, Object> e = MinioBucketForgedIndexIT.entry(victim, "config.json", evil.length, Map.of());
        e.put("lastModified", "2999-01-01T00:00:00Z"); // "newer" than anything there: no force needed
        RestoreContext ctx = MinioBucketForgedIndexIT.context(
                List.of(e),
                tar(List.of(Map.entry(victim + "/config.json", evil))),
                Settings.empty(),
                List.of("src"),
                false);

        try {
            MinioBucketTarget.of(client, Settings.empty()).restore(ctx);
        } catch (Exception refused) {
            // refusing it is fine
        }

        assertThat(text(victim, "config.json"))
                .as("an object of a bucket that is not among the backup's buckets [src]")
                .isEqualTo("{\"live\":true}");
    }

    /**
     * objects.tar holding two entries of one name, both of the size index.json gives: checkArchive
     * checks each one's size and passes; restoreFrom puts the first, then (forced, as a restore
     * over newer objects is) the second, whose bytes the index never described.
     */
    @Test
    void anArchiveWithTwoEntriesOfOneNameIsRefused() throws Exception {
        String dest = unique("dest");
        s3.createBucket(dest);
        byte[] good = "GOOD".getBytes(StandardCharsets.UTF_8);
        byte[] evil = "EVIL".getBytes(StandardCharsets.UTF_8);
        RestoreContext ctx = MinioBucketForgedIndexIT.context(
                List.of(MinioBucketForgedIndexIT.entry("src", "data.bin", 4, Map.of())),
                tar(List.of(Map.entry("src/data.bin", good), Map.entry("src/data.bin", evil))),
                MinioBucketForgedIndexIT.into(dest, ""),
                List.of("src"),
                true);

        try {
            MinioBucketTarget.of(client, Settings.empty()).restore(ctx);
        } catch (Exception refused) {
            return; // refusing the archive is fine
        }
        assertThat(text(dest, "data.bin"))
                .as("what a restore that reports success put")
                .isEqualTo("GOOD");
    }

    /**
     * requireSound checks header names, not values, nor contentType, userMetadata or tags: an
     * index whose second object has a contentType the SDK refuses (here a CR/LF one) passes the
     * checks "before anything is written", the first object is put, then the restore fails.
     * (OkHttp/the SDK refuse CR/LF, so nothing is injected; the claim "refused before anything is
     * written" does not hold.)
     */
    @Test
    void anIndexWithAnUnusableContentTypeIsRefusedBeforeAnythingIsWritten() throws Exception {
        String dest = unique("dest");
        s3.createBucket(dest);
        byte[] a = "first".getBytes(StandardCharsets.UTF_8);
        byte[] b = "second".getBytes(StandardCharsets.UTF_8);
        Map<String, Object> bad = MinioBucketForgedIndexIT.entry("src", "b.txt", b.length, Map.of());
        bad.put("contentType", "text/plain\r\nx-amz-acl: public-read");
        RestoreContext ctx = MinioBucketForgedIndexIT.context(
                List.of(MinioBucketForgedIndexIT.entry("src", "a.txt", a.length, Map.of()), bad),
                tar(List.of(Map.entry("src/a.txt", a), Map.entry("src/b.txt", b))),
                MinioBucketForgedIndexIT.into(dest, ""),
                List.of("src"),
                false);

        boolean failed = false;
        try {
            MinioBucketTarget.of(client, Settings.empty()).restore(ctx);
        } catch (Exception refused) {
            failed = true;
        }
        if (failed) {
            assertThat(MinioBucketForgedIndexIT.keys(dest))
                    .as("written before the restore failed")
                    .isEmpty();
        }
    }
}
