package dev.drkit.internal.repo;

import static org.assertj.core.api.Assertions.assertThat;

import dev.drkit.ForwardingStorage;
import dev.drkit.internal.pipeline.Compression;
import dev.drkit.storage.FileStorageBackend;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.Arrays;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A copy of an archive area (WAL, say) checked each file against its record, then copied the
 * record by reading the source again, unchecked: a source giving other bytes the second time put
 * a record nothing checked into the destination. The record is read once and written as read,
 * with a checksum file made from those bytes.
 */
class ArchiveCopyRecordTest {
    private static final String PATH = "1/000000010000000000000001";
    private static final String INFO = "wal/" + PATH + ".info.json";
    private static final byte[] SEGMENT = "one WAL segment".repeat(1000).getBytes(StandardCharsets.UTF_8);

    @TempDir
    Path dir;

    @Test
    void theRecordIsReadOnceAndWrittenAsChecked() throws Exception {
        FileStorageBackend files = new FileStorageBackend(dir.resolve("source"));
        Repository source = Repository.open(files, Instant.now());
        ArchiveArea area = ArchiveArea.of(source, "wal", new StreamCodecs(Compression.ZSTD, 3, 1));
        area.put(PATH, new ByteArrayInputStream(SEGMENT), stored -> Arrays.equals(stored.readAllBytes(), SEGMENT));
        byte[] real = Files.readAllBytes(dir.resolve("source").resolve(INFO));

        AtomicInteger reads = new AtomicInteger();
        ForwardingStorage swapping = new ForwardingStorage(files) {
            @Override
            public InputStream open(String key, long offset) throws IOException {
                if (key.equals(INFO) && reads.incrementAndGet() > 1) {
                    // a second read gets another record (another object's size and hash)
                    return new ByteArrayInputStream(new String(real, StandardCharsets.UTF_8)
                            .replace("\"sha256\"", "\"sha256\" ")
                            .getBytes());
                }
                return super.open(key, offset);
            }
        };
        Repository from = Repository.open(swapping, Instant.now());
        Repository to = Repository.open(new FileStorageBackend(dir.resolve("offsite")), Instant.now());
        ArchiveArea.Copied copied = ArchiveArea.of(from, "wal", new StreamCodecs(Compression.ZSTD, 3, 1))
                .copyTo(to);

        assertThat(copied.files()).isEqualTo(1);
        assertThat(copied.damaged()).isEmpty();
        assertThat(reads).as("the record read once").hasValue(1);
        assertThat(Files.readAllBytes(dir.resolve("offsite").resolve(INFO))).isEqualTo(real);
        ArchiveArea there = ArchiveArea.of(to, "wal", new StreamCodecs(Compression.ZSTD, 3, 1));
        try (InputStream in = there.open(PATH).orElseThrow()) {
            assertThat(in.readAllBytes())
                    .as("the copy reads back, its record checked")
                    .isEqualTo(SEGMENT);
        }
    }
}
