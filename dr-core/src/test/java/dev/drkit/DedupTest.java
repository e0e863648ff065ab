package dev.drkit;

import static org.assertj.core.api.Assertions.assertThat;

import dev.drkit.CheckReport.Finding;
import dev.drkit.CheckReport.Kind;
import dev.drkit.storage.FileStorageBackend;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Backups through the facade into a deduplicating repository: restore, copy and check. */
class DedupTest {
    @TempDir
    Path dir;

    private Path tree() throws IOException {
        Path d = Files.createDirectories(dir.resolve("data"));
        Random r = new Random(42);
        for (int f = 0; f < 8; f++) {
            StringBuilder sb = new StringBuilder();
            while (sb.length() < 3_000_000) {
                sb.append("key")
                        .append(r.nextInt(10_000_000))
                        .append('=')
                        .append(Long.toHexString(r.nextLong()))
                        .append('\n');
            }
            Files.writeString(d.resolve("file" + f + ".txt"), sb);
        }
        return d;
    }

    private static long sizeOf(Path root) throws IOException {
        if (!Files.exists(root)) {
            return 0;
        }
        try (Stream<Path> s = Files.walk(root)) {
            return s.filter(Files::isRegularFile)
                    .mapToLong(p -> p.toFile().length())
                    .sum();
        }
    }

    private static List<Path> packs(Path repo) throws IOException {
        try (Stream<Path> s = Files.list(repo.resolve("chunks/packs"))) {
            return s.filter(p -> p.toString().endsWith(".pack")).sorted().toList();
        }
    }

    @Test
    void aChangedTreeStoresLittleRestoresExactlyAndCopiesOnlyMissingChunks() throws Exception {
        Path data = tree();
        Path repo = dir.resolve("repo");
        try (DrKit kit = DrKit.builder().repository(repo.toString()).dedup(true).build()) {
            BackupResult first = kit.backup(TargetSpec.files("app", data.toString()));
            long afterFirst = sizeOf(repo.resolve("chunks"));
            assertThat(first.manifest().artifacts().get(0).storedName()).endsWith(".chunks");

            Files.writeString(data.resolve("file3.txt"), "one changed line\n", StandardOpenOption.APPEND);
            BackupResult second = kit.backup(TargetSpec.files("app", data.toString()));
            long growth = sizeOf(repo.resolve("chunks")) - afterFirst;
            assertThat(growth).isPositive().isLessThan(afterFirst / 5);

            Path restored = dir.resolve("restored");
            kit.restore(RestoreRequest.files("app", second.id(), restored));
            restored = restored.resolve(data.toString().substring(1));
            for (int f = 0; f < 8; f++) {
                assertThat(restored.resolve("file" + f + ".txt"))
                        .hasSameBinaryContentAs(data.resolve("file" + f + ".txt"));
            }
            assertThat(kit.verify("app", first.id(), VerifyLevel.DECODE).passed())
                    .isTrue();
            assertThat(kit.check(CheckOptions.readAllData()).findings()).isEmpty();

            FileStorageBackend offsite = new FileStorageBackend(dir.resolve("offsite"));
            CopyResult one = kit.copy("app", first.id(), false, offsite);
            CopyResult two = kit.copy("app", second.id(), false, offsite);
            assertThat(one.bytes()).isGreaterThan(afterFirst / 2);
            assertThat(two.bytes()).isLessThan(growth + 64 * 1024); // the new chunks, the list, the manifest
            try (DrKit remote = DrKit.builder().storage(offsite).build()) {
                Path again = dir.resolve("restored-offsite");
                remote.restore(RestoreRequest.files("app", second.id(), again));
                again = again.resolve(data.toString().substring(1));
                assertThat(again.resolve("file3.txt")).hasSameBinaryContentAs(data.resolve("file3.txt"));
                assertThat(remote.check(CheckOptions.readAllData()).findings()).isEmpty();
            }
        }
    }

    @Test
    void aCheckFindsAMissingPackWithoutReadingAndADamagedOneByReading() throws Exception {
        Path data = tree();
        Path repo = dir.resolve("repo");
        try (DrKit kit = DrKit.builder().repository(repo.toString()).dedup(true).build()) {
            BackupResult b = kit.backup(TargetSpec.files("app", data.toString()));
            Path pack = packs(repo).get(0);
            byte[] bytes = Files.readAllBytes(pack);
            bytes[bytes.length / 3] ^= 1;
            Files.write(pack, bytes);
            assertThat(kit.check(CheckOptions.catalogOnly()).findings()).isEmpty(); // sizes agree
            List<Finding> read = kit.check(CheckOptions.readAllData()).findings();
            assertThat(read).extracting(Finding::kind).contains(Kind.CHUNK_DAMAGED);
            assertThat(read)
                    .extracting(Finding::message)
                    .anyMatch(m -> m.contains(b.id()) && m.contains("does not decode"));

            assertThat(kit.verify("app", b.id(), VerifyLevel.CHECKSUM).passed())
                    .as("a checksum verification of a deduplicated backup reads its chunks")
                    .isFalse();

            Files.delete(pack);
            List<Finding> listed = kit.check(CheckOptions.catalogOnly()).findings();
            assertThat(listed).extracting(Finding::kind).contains(Kind.CHUNK_DAMAGED);
            assertThat(listed).extracting(Finding::message).anyMatch(m -> m.contains("pack of chunk"));
        }
    }

    @Test
    void aTargetsOwnSettingTurnsDedupOffOrOn() throws Exception {
        Path data = tree();
        Path repo = dir.resolve("repo");
        try (DrKit kit = DrKit.builder().repository(repo.toString()).build()) {
            TargetSpec plain = TargetSpec.files("plain", data.toString());
            TargetSpec deduped = new TargetSpec(
                    "deduped", plain.type(), plain.settings().overlaidBy(Settings.of(Map.of("dedup", "true"))));
            assertThat(kit.backup(plain).manifest().artifacts().get(0).storedName())
                    .doesNotEndWith(".chunks");
            assertThat(kit.backup(deduped).manifest().artifacts().get(0).storedName())
                    .endsWith(".chunks");
            assertThat(new String(
                            Files.readAllBytes(repo.resolve("chunks/index")
                                    .toFile()
                                    .listFiles()[0]
                                    .toPath()),
                            StandardCharsets.US_ASCII))
                    .startsWith("drkit-chunk-index 2 ");
        }
    }
}
