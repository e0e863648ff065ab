package dev.drkit.internal.repo;

import static org.assertj.core.api.Assertions.assertThat;

import dev.drkit.ArtifactInfo;
import dev.drkit.internal.pipeline.Compression;
import dev.drkit.spi.support.Json;
import dev.drkit.storage.FileStorageBackend;
import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.temporal.ChronoUnit;
import java.util.Arrays;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * When an archived file (a WAL segment) was stored: status judges how far a restore reaches by
 * the newest segment's time. A copy of the archive (an offsite repository) gave every file the
 * time the copy ran, so a copy made hours after the primary's archiving stopped made the offsite
 * repository look as fresh as the copy. The record now carries the time the file was first
 * stored, and a copy keeps it.
 */
class ArchiveStoredAtTest {
    private static final String PATH = "1/000000010000000000000001";
    private static final String INFO = "wal/" + PATH + ".info.json";
    private static final byte[] SEGMENT = "one WAL segment".repeat(1000).getBytes(StandardCharsets.UTF_8);
    private static final StreamCodecs CODECS = new StreamCodecs(Compression.ZSTD, 3, 1);

    @TempDir
    Path dir;

    private ArchiveArea area(Repository repo, Instant now) {
        return ArchiveArea.of(repo, "wal", CODECS, Duration.ofMinutes(5), Clock.fixed(now, ZoneOffset.UTC), null);
    }

    private void put(ArchiveArea area) throws Exception {
        area.put(PATH, new ByteArrayInputStream(SEGMENT), stored -> Arrays.equals(stored.readAllBytes(), SEGMENT));
    }

    @Test
    void aCopyKeepsTheTimeTheFileReachedTheFirstRepository() throws Exception {
        Instant archived = Instant.now().minus(Duration.ofHours(5)).truncatedTo(ChronoUnit.MILLIS);
        Repository source = Repository.open(new FileStorageBackend(dir.resolve("source")), Instant.now());
        put(area(source, archived));
        assertThat(area(source, Instant.now()).storedAt(PATH)).contains(archived);

        Repository offsite = Repository.open(new FileStorageBackend(dir.resolve("offsite")), Instant.now());
        assertThat(area(source, Instant.now()).copyTo(offsite).files()).isEqualTo(1);
        Instant copiedAt =
                Files.getLastModifiedTime(dir.resolve("offsite").resolve(INFO)).toInstant();
        assertThat(copiedAt).as("the copy's record was written now").isAfter(archived.plus(Duration.ofHours(4)));
        assertThat(area(offsite, Instant.now()).storedAt(PATH))
                .as("the copy's time is the source's, not the copy's")
                .contains(archived);
    }

    @Test
    void aWriterClockAheadOfTheStorageIsNotBelieved() throws Exception {
        Repository repo = Repository.open(new FileStorageBackend(dir.resolve("repo")), Instant.now());
        put(area(repo, Instant.now().plus(Duration.ofDays(3))));
        Instant stored =
                Files.getLastModifiedTime(dir.resolve("repo").resolve(INFO)).toInstant();

        assertThat(area(repo, Instant.now()).storedAt(PATH))
                .as("never later than the storage's time of the record")
                .contains(stored);
    }

    @Test
    void aRecordWithoutATimeOrWithAnUnreadableOneGivesTheStoragesTime() throws Exception {
        Repository repo = Repository.open(new FileStorageBackend(dir.resolve("repo")), Instant.now());
        ArchiveArea area = area(repo, Instant.now().minus(Duration.ofHours(2)));
        put(area);
        Path info = dir.resolve("repo").resolve(INFO);
        ArtifactInfo recorded = area.info(PATH).orElseThrow();
        Instant stored = Instant.now().minus(Duration.ofMinutes(30)).truncatedTo(ChronoUnit.SECONDS);

        // as records were written before they gave a time
        rewrite(info, Json.write(recorded), stored);
        assertThat(area.storedAt(PATH)).contains(stored);
        assertThat(area.open(PATH)).as("still a sound record").isPresent();

        byte[] garbled = new String(ArchiveArea.recordJson(recorded, Instant.EPOCH), StandardCharsets.UTF_8)
                .replace(Instant.EPOCH.toString(), "yesterday")
                .getBytes(StandardCharsets.UTF_8);
        rewrite(info, garbled, stored);
        assertThat(area.storedAt(PATH)).contains(stored);
    }

    @Test
    void aFileNotStoredHasNoTime() throws Exception {
        Repository repo = Repository.open(new FileStorageBackend(dir.resolve("repo")), Instant.now());
        assertThat(area(repo, Instant.now()).storedAt(PATH)).isEmpty();
    }

    /** Replaces a record and its checksum file, as a writer of another version would have written them. */
    private static void rewrite(Path info, byte[] json, Instant mtime) throws Exception {
        Files.write(info, json);
        Path checksum = info.resolveSibling(info.getFileName() + ManifestCodec.CHECKSUM_SUFFIX);
        Files.write(
                checksum, ManifestCodec.checksumFile(json, info.getFileName().toString()));
        Files.setLastModifiedTime(info, FileTime.from(mtime));
    }
}
