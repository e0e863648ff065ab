package dev.drkit.internal.repo;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

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
import java.nio.file.StandardCopyOption;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Arrays;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * What a record's signature binds, and what signing must not break: a signed record moved to
 * another file's or another cluster's place is refused; a file stored before signing is signed
 * when pushed again; a stale signature in a copy's destination stops only that file.
 */
class SignedArchiveBindingTest {
    @TempDir
    Path dir;

    private static Repository repo(Path root, boolean trusted) throws IOException {
        Repository r = Repository.open(new FileStorageBackend(root), Instant.now());
        return trusted ? r.trust(ToySignatures.TRUSTED) : r;
    }

    private static ArchiveArea area(Repository r, boolean signing) {
        return ArchiveArea.of(
                r,
                "wal",
                new StreamCodecs(Compression.ZSTD, 3, 1),
                Duration.ofMinutes(5),
                Clock.systemUTC(),
                signing ? ToySignatures.SIGNER : null);
    }

    private static PutResult put(ArchiveArea a, String path, byte[] bytes) throws IOException {
        return a.put(path, new ByteArrayInputStream(bytes), stored -> Arrays.equals(stored.readAllBytes(), bytes));
    }

    private static byte[] read(ArchiveArea a, String path) throws IOException {
        try (InputStream in = a.open(path).orElseThrow()) {
            return in.readAllBytes();
        }
    }

    /**
     * The signature covers the record's bytes only, and the reader checks only that storedName
     * starts with the path's file name: the signed record of SEG.partial (or SEG.stream,
     * SEG.00000028.backup, SEG.take1) is believed as SEG's. Three small files, no key.
     */
    @Test
    void theSignedRecordOfAnotherFileIsNotBelievedUnderThisFilesName() throws IOException {
        Path root = dir.resolve("repo");
        String seg = "1/00000001/000000010000000000000005";
        byte[] partial = "only part of the segment ".repeat(100).getBytes(StandardCharsets.UTF_8);
        put(area(repo(root, false), true), seg + ".partial", partial);
        Path wal = root.resolve("wal");
        byte[] json = Files.readAllBytes(wal.resolve(seg + ".partial.info.json"));
        // the forger: the same record, its signature, a checksum file made for the new name
        Files.write(wal.resolve(seg + ".info.json"), json);
        Files.copy(wal.resolve(seg + ".partial.info.json.sig"), wal.resolve(seg + ".info.json.sig"));
        Files.write(
                wal.resolve(seg + ".info.json.sha256"),
                ManifestCodec.checksumFile(json, "000000010000000000000005.info.json"));

        assertThatThrownBy(() -> read(area(repo(root, true), false), seg))
                .as("a record signed for " + seg + ".partial must not be believed as " + seg)
                .isInstanceOf(CorruptDataException.class);
    }

    /**
     * Nor does it bind the directory (wal/<system-id>/<timeline>/): with one signing key for
     * several clusters (the setup file's sign-with), cluster A's signed 00000002.history (object,
     * record, checksum, signature copied as they are) replaces cluster B's own signed one.
     */
    @Test
    void aSignedFileOfAnotherClusterIsNotBelievedInThisClustersDirectory() throws IOException {
        Path root = dir.resolve("repo");
        String a = "111/00000002/00000002.history";
        String b = "222/00000002/00000002.history";
        byte[] historyA = "1\t0/5000000\tno recovery target specified\n".getBytes(StandardCharsets.UTF_8);
        byte[] historyB = "1\t0/9000000\tno recovery target specified\n".getBytes(StandardCharsets.UTF_8);
        put(area(repo(root, false), true), a, historyA);
        put(area(repo(root, false), true), b, historyB);
        Path wal = root.resolve("wal");
        for (String suffix : new String[] {".zst", ".info.json", ".info.json.sha256", ".info.json.sig"}) {
            Files.copy(wal.resolve(a + suffix), wal.resolve(b + suffix), StandardCopyOption.REPLACE_EXISTING);
        }
        assertThatThrownBy(() -> read(area(repo(root, true), false), b))
                .as("cluster 111's history file served as cluster 222's")
                .isInstanceOf(CorruptDataException.class);
    }

    /**
     * README: "WAL archived before signing was turned on is refused ...: after turning signing on,
     * take a new base backup". Timeline history files are archived once, when the timeline
     * begins, never pruned, and needed by every later recovery (PostgreSQL fetches the backup's
     * timeline's history file; restore stages all of them). Pushing one again with the key does
     * not sign it (ALREADY_STORED), so a cluster promoted before signing cannot be recovered
     * under trusted keys from any backup, old or new.
     */
    @Test
    void aHistoryFileArchivedBeforeSigningCanNeverBeSigned() throws IOException {
        Path root = dir.resolve("repo");
        String history = "111/00000002/00000002.history";
        byte[] text = "1\t0/5000000\tno recovery target specified\n".getBytes(StandardCharsets.UTF_8);
        put(area(repo(root, false), false), history, text); // archived before sign-with was set
        // PostgreSQL never archives it again; an operator pushing it again with the key:
        assertThat(put(area(repo(root, false), true), history, text)).isEqualTo(PutResult.ALREADY_STORED);
        assertThat(read(area(repo(root, true), false), history))
                .as("a history file the new signed backup's recovery needs")
                .isEqualTo(text);
    }

    /**
     * A signature left in the destination by a put killed there after its signature (what
     * aSignatureLeftByAnInterruptedPutIsReplaced models) makes writeOnce throw
     * ObjectExistsException, which copyTo does not catch: the whole WAL copy stops, every
     * later file with it, on every run, where a leftover checksum file or record is not needed.
     */
    @Test
    void aLeftoverSignatureInTheDestinationDoesNotStopTheWholeCopy() throws IOException {
        Path source = dir.resolve("source");
        String five = "1/00000001/000000010000000000000005";
        String six = "1/00000001/000000010000000000000006";
        put(area(repo(source, false), true), five, "five ".repeat(500).getBytes(StandardCharsets.UTF_8));
        put(area(repo(source, false), true), six, "six ".repeat(500).getBytes(StandardCharsets.UTF_8));
        Path offsite = dir.resolve("offsite");
        repo(offsite, false);
        Path leftover = offsite.resolve("wal/" + five + ".info.json.sig");
        Files.createDirectories(leftover.getParent());
        Files.write(leftover, new byte[] {1, 2, 3});

        ArchiveArea.Copied copied = area(repo(source, true), false).copyTo(repo(offsite, false));
        assertThat(copied.files()).isEqualTo(1);
        assertThat(copied.damaged()).singleElement().satisfies(d -> {
            assertThat(d.id()).isEqualTo("wal/" + five);
            assertThat(d.reason()).contains("remove it from the destination");
        });
    }
}
