package dev.drkit.s3;

import static org.assertj.core.api.Assertions.assertThat;

import dev.drkit.spi.ObjectInfo;
import dev.drkit.testkit.S3ServerExtension;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import software.amazon.awssdk.services.s3.S3Client;

/** Listings against S3Proxy: pagination past 1000 keys, look-alike prefixes, special characters. */
class S3ListingIT {
    @RegisterExtension
    static final S3ServerExtension s3 = new S3ServerExtension("backups");

    static S3Client direct;

    @BeforeAll
    static void start() {
        direct = TestClients.s3(s3.endpoint(), s3.accessKey(), s3.secretKey()).build();
    }

    @AfterAll
    static void stop() {
        direct.close();
    }

    private S3StorageBackend backend(String prefix) {
        return S3StorageBackend.builder()
                .client(direct)
                .bucket("backups")
                .prefix(prefix)
                .build();
    }

    @Test
    void listingsPageThroughMoreThanAThousandKeysSorted() throws Exception {
        S3StorageBackend b = backend("many-" + UUID.randomUUID());
        List<String> keys = new ArrayList<>();
        for (int i = 0; i < 1205; i++) {
            String k = "packs/" + Integer.toHexString(i * 7919) + ".pack";
            keys.add(k);
            b.createIfAbsent(k, new byte[] {1});
        }
        keys.sort(null);
        assertThat(b.list("packs/")).extracting(ObjectInfo::key).containsExactlyElementsOf(keys);
    }

    @Test
    void lookAlikePrefixesStayApart() throws Exception {
        String p = "alike-" + UUID.randomUUID();
        backend(p).createIfAbsent("backups/x", new byte[1]);
        backend(p + "b").createIfAbsent("backups/y", new byte[1]);
        assertThat(backend(p).list("")).extracting(ObjectInfo::key).containsExactly("backups/x");
        assertThat(backend(p).list("backups/x")).extracting(ObjectInfo::key).containsExactly("backups/x");
    }

    @Test
    void specialCharactersRoundTrip() throws Exception {
        S3StorageBackend b = backend("chars-" + UUID.randomUUID());
        List<String> keys = new ArrayList<>(List.of(
                "a/with space", "a/plus+sign", "a/percent%20x", "a/ümlaut-日本", "a/amp&lt;", "a/q?x=1", "a/hash#x"));
        for (String k : keys) {
            b.createIfAbsent(k, new byte[] {2});
        }
        keys.sort(null);
        assertThat(b.list("a/")).extracting(ObjectInfo::key).containsExactlyElementsOf(keys);
        for (String k : keys) {
            assertThat(b.stat(k)).as(k).isPresent();
        }
    }
}
