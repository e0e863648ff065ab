package dev.drkit.internal.repo;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.drkit.CheckOptions;
import dev.drkit.CheckReport;
import dev.drkit.CorruptDataException;
import dev.drkit.ToySignatures;
import dev.drkit.internal.pipeline.Compression;
import dev.drkit.spi.FileArchive.PutResult;
import dev.drkit.storage.FileStorageBackend;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Archived files (WAL segments) were covered by checksums only, also where keys are trusted: a
 * forger who can write the repository could plant a segment, or replace one with a record and
 * checksum of its own, and a point-in-time recovery replayed it. With a signer each record is
 * signed; with trusted keys a record is believed only with a valid signature.
 */
class SignedArchiveRecordsTest {
    private static final String PATH = "1/000000010000000000000005";
    private static final String INFO = "wal/" + PATH + ".info.json";
    private static final String SIG = INFO + ".sig";
    private static final byte[] SEGMENT = "one WAL segment ".repeat(2000).getBytes(StandardCharsets.UTF_8);
    private static final byte[] FORGED = "a forged segment".repeat(2000).getBytes(StandardCharsets.UTF_8);

    @TempDir
    Path dir;

    private static StreamCodecs codecs() {
        return new StreamCodecs(Compression.ZSTD, 3, 1);
    }

    private static Repository repo(Path root, boolean trusted) throws IOException {
        Repository r = Repository.open(new FileStorageBackend(root), Instant.now());
        return trusted ? r.trust(ToySignatures.TRUSTED) : r;
    }

    private static ArchiveArea area(Repository r, boolean signing) {
        return ArchiveArea.of(
                r, "wal", codecs(), Duration.ofMinutes(5), Clock.systemUTC(), signing ? ToySignatures.SIGNER : null);
    }

    private static PutResult put(ArchiveArea a, byte[] bytes) throws IOException {
        return a.put(PATH, new ByteArrayInputStream(bytes), stored -> Arrays.equals(stored.readAllBytes(), bytes));
    }

    private static byte[] read(ArchiveArea a) throws IOException {
        try (InputStream in = a.open(PATH).orElseThrow()) {
            return in.readAllBytes();
        }
    }

    private List<String> names(Path root) throws IOException {
        if (!Files.exists(root.resolve("wal"))) {
            return List.of(); // the storage removes emptied folders
        }
        try (Stream<Path> s = Files.walk(root.resolve("wal"))) {
            return s.filter(Files::isRegularFile)
                    .map(p -> root.resolve("wal").relativize(p).toString())
                    .toList();
        }
    }

    @Test
    void aSignedRecordIsReadWithTrustedKeysAndItsSignatureWrittenBeforeIt() throws IOException {
        Path root = dir.resolve("repo");
        assertThat(put(area(repo(root, false), true), SEGMENT)).isEqualTo(PutResult.STORED);
        assertThat(root.resolve(SIG))
                .as("the signature covers the record's place and bytes")
                .hasBinaryContent(ToySignatures.SIGNER.sign(
                        ArchiveArea.signedContent(INFO, Files.readAllBytes(root.resolve(INFO)))));
        assertThat(read(area(repo(root, true), false))).isEqualTo(SEGMENT);
        // storing the same bytes again is still "already stored", signature and all
        assertThat(put(area(repo(root, true), true), SEGMENT)).isEqualTo(PutResult.ALREADY_STORED);
    }

    @Test
    void aPlantedUnsignedFileIsRefusedWhereKeysAreTrusted() throws IOException {
        Path root = dir.resolve("repo");
        put(area(repo(root, false), false), FORGED); // the forger stores with drkit itself, without the key

        assertThat(read(area(repo(root, false), false)))
                .as("without trusted keys, as before")
                .isEqualTo(FORGED);
        assertThatThrownBy(() -> read(area(repo(root, true), false)))
                .isInstanceOf(CorruptDataException.class)
                .hasMessageContaining("cannot be trusted")
                .hasMessageContaining("not signed by a trusted key")
                .hasMessageContaining("sign-with");
        assertThatThrownBy(() -> area(repo(root, true), false).info(PATH)).isInstanceOf(CorruptDataException.class);
    }

    @Test
    void aSignedFileReplacedWithOtherBytesAndAFreshRecordIsRefused() throws IOException {
        Path root = dir.resolve("repo");
        put(area(repo(root, false), true), SEGMENT);
        // the forger removes the record and stores other bytes under the name; the signature stays
        Files.delete(root.resolve(INFO));
        Files.delete(root.resolve(INFO + ManifestCodec.CHECKSUM_SUFFIX));
        put(area(repo(root, false), false), FORGED);
        assertThat(root.resolve(SIG)).exists();

        assertThatThrownBy(() -> read(area(repo(root, true), false)))
                .isInstanceOf(CorruptDataException.class)
                .hasMessageContaining("not signed by a trusted key");
        CheckReport report = new RepositoryCheck(
                        repo(root, true), Clock.systemUTC(), Duration.ofMinutes(1), null, t -> Set.of("wal"))
                .run(CheckOptions.catalogOnly());
        assertThat(report.findings()).anySatisfy(f -> {
            assertThat(f.object()).isEqualTo(INFO);
            assertThat(f.message()).contains("not signed by a trusted key");
        });
        CheckReport untrusted = new RepositoryCheck(
                        repo(root, false), Clock.systemUTC(), Duration.ofMinutes(1), null, t -> Set.of("wal"))
                .run(CheckOptions.catalogOnly());
        assertThat(untrusted.findings()).as("checksums alone cannot tell").isEmpty();
    }

    @Test
    void aCopyTakesTheSignaturesAlongAndLeavesOutAFileItCannotTrust() throws IOException {
        Path source = dir.resolve("source");
        put(area(repo(source, false), true), SEGMENT);
        String other = "1/000000010000000000000006";
        area(repo(source, false), false)
                .put(other, new ByteArrayInputStream(FORGED), stored -> Arrays.equals(stored.readAllBytes(), FORGED));

        Path offsite = dir.resolve("offsite");
        ArchiveArea.Copied copied = area(repo(source, true), false).copyTo(repo(offsite, false));

        assertThat(copied.files()).isEqualTo(1);
        assertThat(copied.damaged())
                .singleElement()
                .satisfies(d -> assertThat(d.id()).isEqualTo("wal/" + other));
        assertThat(offsite.resolve(SIG)).hasSameBinaryContentAs(source.resolve(SIG));
        assertThat(read(area(repo(offsite, true), false))).isEqualTo(SEGMENT);

        // without trusted keys the unsigned one is copied as it is, and the signed one keeps its signature
        Path second = dir.resolve("second");
        assertThat(area(repo(source, false), false).copyTo(repo(second, false)).files())
                .isEqualTo(2);
        assertThat(read(area(repo(second, true), false))).isEqualTo(SEGMENT);
    }

    @Test
    void deletingAFileRemovesItsSignatureWhateverTheKitTrusts() throws IOException {
        Path root = dir.resolve("repo");
        put(area(repo(root, false), true), SEGMENT);
        String other = "1/000000010000000000000006";
        area(repo(root, false), true)
                .put(other, new ByteArrayInputStream(FORGED), stored -> Arrays.equals(stored.readAllBytes(), FORGED));
        area(repo(root, false), false).deleteAll(List.of(PATH));
        assertThat(names(root)).allMatch(n -> n.startsWith("1/000000010000000000000006"));
        area(repo(root, false), false).delete(other);
        assertThat(names(root)).isEmpty();
    }

    @Test
    void aSignatureLeftByAnInterruptedPutIsReplaced() throws IOException {
        Path root = dir.resolve("repo");
        Files.createDirectories(root.resolve(SIG).getParent());
        Files.write(root.resolve(SIG), new byte[] {1, 2, 3}); // the put died after its signature
        repo(root, false); // the repository exists
        assertThat(put(area(repo(root, false), true), SEGMENT)).isEqualTo(PutResult.STORED);
        assertThat(read(area(repo(root, true), false))).isEqualTo(SEGMENT);
    }
}
