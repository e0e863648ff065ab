package dev.drkit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.drkit.CheckReport.Finding;
import dev.drkit.CheckReport.Kind;
import dev.drkit.spi.support.Hosts;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class RepositoryCheckTest {
    @TempDir
    Path dir;

    private Path repo() {
        return dir.resolve("repo");
    }

    private DrKit kit() {
        return DrKit.builder()
                .repository(repo().toString())
                .register(new DrKitTest.MemoryProvider())
                .build();
    }

    private static TargetSpec spec(String content) {
        return new TargetSpec(
                "mem", "memory", Settings.builder().set("content", content).build());
    }

    private Path object(String id, String name) {
        return repo().resolve("backups/mem/" + id + "/" + name);
    }

    private static void rewrite(Path file, byte[] content) throws IOException {
        Files.delete(file); // stored objects are read-only hard links
        Files.write(file, content);
    }

    private static void flip(Path file, int offset) throws IOException {
        byte[] b = Files.readAllBytes(file);
        b[offset] ^= 0x40;
        rewrite(file, b);
    }

    private static void age(Path file) throws IOException {
        Files.setLastModifiedTime(file, FileTime.from(Instant.now().minusSeconds(2 * 86_400)));
    }

    private static List<Kind> kinds(CheckReport r) {
        return r.findings().stream().map(Finding::kind).toList();
    }

    @Test
    void aHealthyRepositoryIsClean() throws IOException {
        try (DrKit kit = kit()) {
            kit.backup(spec("one"));
            kit.backup(spec("two"));
            kit.archive("wal")
                    .put("sys/1/000000010000000000000001", new ByteArrayInputStream(new byte[4096]), stored -> true);
            CheckReport r = kit.check(CheckOptions.readAllData());
            assertThat(r.findings()).isEmpty();
            assertThat(r.clean()).isTrue();
            assertThat(r.backups()).isEqualTo(2);
            assertThat(r.artifacts()).isEqualTo(2);
            assertThat(r.archiveFiles()).isEqualTo(1);
            assertThat(r.bytesRead()).isPositive();
        }
    }

    @Test
    void aFlippedArtifactByteIsFoundByReadDataAndByExactlyOneSubset() throws IOException {
        try (DrKit kit = kit()) {
            String id = kit.backup(spec("payload ".repeat(100))).id();
            flip(object(id, "data.bin.zst"), 10);

            assertThat(kit.check(CheckOptions.catalogOnly()).findings()).isEmpty(); // the size still matches
            CheckReport r = kit.check(CheckOptions.readAllData());
            assertThat(r.clean()).isFalse();
            assertThat(r.findings()).singleElement().satisfies(f -> {
                assertThat(f.kind()).isEqualTo(Kind.ARTIFACT_DAMAGED);
                assertThat(f.object()).isEqualTo("backups/mem/" + id + "/data.bin.zst");
            });
            int found = 0;
            for (int part = 1; part <= 3; part++) {
                found += kit.check(CheckOptions.readDataSubset(part + "/3"))
                        .findings()
                        .size();
            }
            assertThat(found).isEqualTo(1);
            // repair never deletes a listed backup, however damaged
            kit.check(CheckOptions.readAllData().withRepair());
            assertThat(kit.list("mem")).extracting(BackupManifest::id).containsExactly(id);
        }
    }

    @Test
    void aDamagedOrMissingChecksumFileIsRewrittenFromVerifiedData() throws Exception {
        String id;
        try (DrKit kit = kit()) {
            id = kit.backup(spec("one")).id();
            byte[] good = Files.readAllBytes(object(id, "data.bin.zst.sha256"));
            flip(object(id, "data.bin.zst.sha256"), 5);

            CheckReport r = kit.check(CheckOptions.catalogOnly().withRepair());
            assertThat(kinds(r)).containsExactly(Kind.CHECKSUM_FILE);
            assertThat(r.clean()).isTrue();
            assertThat(object(id, "data.bin.zst.sha256")).hasBinaryContent(good);

            Files.delete(object(id, "data.bin.zst.sha256"));
            assertThat(kinds(kit.check(CheckOptions.catalogOnly()))).containsExactly(Kind.CHECKSUM_FILE);
            kit.check(CheckOptions.catalogOnly().withRepair());
            assertThat(object(id, "data.bin.zst.sha256")).hasBinaryContent(good);
            assertThat(kit.check(CheckOptions.readAllData()).findings()).isEmpty();
        }
        // what the break-glass restore runs agrees
        Process p = new ProcessBuilder("sha256sum", "-c", "data.bin.zst.sha256")
                .directory(object(id, "").toFile())
                .redirectErrorStream(true)
                .start();
        assertThat(p.waitFor())
                .as(new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8))
                .isZero();
    }

    @Test
    void aChecksumFileIsNotRewrittenOverDataThatDoesNotMatch() throws IOException {
        try (DrKit kit = kit()) {
            String id = kit.backup(spec("payload ".repeat(100))).id();
            flip(object(id, "data.bin.zst"), 10);
            Files.delete(object(id, "data.bin.zst.sha256"));
            CheckReport r = kit.check(CheckOptions.catalogOnly().withRepair());
            assertThat(r.findings())
                    .filteredOn(f -> f.kind() == Kind.CHECKSUM_FILE)
                    .singleElement()
                    .satisfies(f -> assertThat(f.repaired()).isFalse());
            assertThat(object(id, "data.bin.zst.sha256")).doesNotExist();
        }
    }

    @Test
    void orphansCrashedBackupsStaleLocksAndUploadsAreListedAndRepairRemovesThem() throws IOException {
        try (DrKit kit = kit()) {
            String id = kit.backup(spec("one")).id();
            Files.writeString(object(id, "stray.bin"), "x");
            Path crashed = Files.createDirectories(repo().resolve("backups/mem/20200101T000000Z-abcdef"));
            age(Files.writeString(crashed.resolve("data.bin.zst"), "half"));
            Path empty = Files.createDirectories(repo().resolve("backups/mem/20200101T000002Z-abcdef"));
            age(empty); // a writer killed between making the folder and linking its first object
            Path inProgress = Files.createDirectories(repo().resolve("backups/mem/20200101T000001Z-abcdef"));
            Files.writeString(inProgress.resolve("data.bin.zst"), "being written now");
            Path lock = Files.createDirectories(repo().resolve("locks/mem")).resolve("1-dead.json");
            Files.writeString(
                    lock,
                    "{\"owner\":\"x\",\"host\":\"elsewhere\",\"pid\":1,\"operation\":\"backup\","
                            + "\"createdAt\":\"2020-01-01T00:00:00Z\",\"expiresAt\":\"2020-01-01T00:01:00Z\"}");
            age(Files.writeString(repo().resolve(".drkit-tmp/otherhost-1-x.part"), "upload"));

            CheckReport found = kit.check(CheckOptions.catalogOnly());
            assertThat(kinds(found))
                    .containsExactlyInAnyOrder(
                            Kind.ORPHAN_OBJECT, Kind.INCOMPLETE_BACKUP, Kind.STALE_LOCK, Kind.INCOMPLETE_UPLOAD);
            assertThat(found.clean()).isFalse();

            CheckReport repaired = kit.check(CheckOptions.catalogOnly().withRepair());
            assertThat(repaired.clean()).isTrue();
            assertThat(object(id, "stray.bin")).doesNotExist();
            assertThat(crashed.resolve("data.bin.zst")).doesNotExist();
            assertThat(empty).doesNotExist();
            assertThat(inProgress.resolve("data.bin.zst")).exists();
            assertThat(lock).doesNotExist();
            assertThat(repo().resolve(".drkit-tmp/otherhost-1-x.part")).doesNotExist();
            assertThat(kit.check(CheckOptions.catalogOnly()).findings()).isEmpty();
            assertThat(kit.list("mem")).extracting(BackupManifest::id).containsExactly(id);
        }
    }

    @Test
    void damagedManifestsAreReportedAndNeverDeleted() throws IOException {
        try (DrKit kit = kit()) {
            String id = kit.backup(spec("one")).id();
            flip(object(id, "manifest.json"), 30);
            CheckReport r = kit.check(CheckOptions.readAllData().withRepair());
            assertThat(r.findings()).singleElement().satisfies(f -> {
                assertThat(f.kind()).isEqualTo(Kind.MANIFEST_DAMAGED);
                assertThat(f.object()).isEqualTo("backups/mem/" + id + "/manifest.json");
                assertThat(f.repaired()).isFalse();
            });
            assertThat(object(id, "data.bin.zst")).exists();
        }
    }

    @Test
    void repairUpgradesManifestsWrittenBeforeChecksums() throws IOException {
        try (DrKit kit = kit()) {
            String id = kit.backup(spec("one")).id();
            String legacy = Files.readString(object(id, "manifest.json")).replace("\"format\" : 2", "\"format\" : 1");
            rewrite(object(id, "manifest.json"), legacy.getBytes(StandardCharsets.UTF_8));
            Files.delete(object(id, "manifest.json.sha256"));

            assertThat(kinds(kit.check(CheckOptions.catalogOnly()))).containsExactly(Kind.WITHOUT_CHECKSUM);
            assertThat(kit.check(CheckOptions.catalogOnly().withRepair()).clean())
                    .isTrue();
            assertThat(object(id, "manifest.json.sha256")).exists();
            assertThat(kit.check(CheckOptions.catalogOnly()).findings()).isEmpty();
            // from now on a flipped byte in it is caught
            flip(object(id, "manifest.json"), 60);
            assertThat(kit.damaged("mem")).hasSize(1);
        }
    }

    @Test
    void aDamagedConfigurationIsReportedAndReplacedByRepair() throws IOException {
        try (DrKit kit = kit()) {
            kit.backup(spec("one"));
        }
        flip(repo().resolve("drkit-repository.json"), 3);
        try (DrKit kit = kit()) {
            CheckReport r = kit.check(CheckOptions.catalogOnly());
            assertThat(kinds(r)).containsExactly(Kind.CONFIG_DAMAGED);
            assertThat(r.backups()).isEqualTo(1); // the rest was still checked
            assertThat(kit.check(CheckOptions.catalogOnly().withRepair()).clean())
                    .isTrue();
        }
        try (DrKit kit = kit()) {
            assertThat(kit.list("mem")).hasSize(1);
        }
    }

    @Test
    void damagedArchivedFilesAreNamed() throws IOException {
        try (DrKit kit = kit()) {
            kit.backup(spec("one"));
            var wal = kit.archive("wal");
            wal.put("sys/1/000000010000000000000001", new ByteArrayInputStream(new byte[4096]), s -> true);
            wal.put("sys/1/000000010000000000000002", new ByteArrayInputStream(new byte[4096]), s -> true);
            List<Path> stored = new ArrayList<>();
            try (var files = Files.list(repo().resolve("wal/sys/1"))) {
                files.filter(p -> p.getFileName().toString().matches("0+10+2\\.[a-z0-9]+"))
                        .forEach(stored::add);
            }
            assertThat(stored).hasSize(1);
            Files.delete(stored.get(0));
            rewrite(
                    repo().resolve("wal/sys/1/000000010000000000000001.info.json"),
                    "{ not json".getBytes(StandardCharsets.UTF_8));

            CheckReport r = kit.check(CheckOptions.catalogOnly());
            assertThat(r.findings()).extracting(Finding::kind).containsOnly(Kind.ARCHIVE_DAMAGED);
            assertThat(r.findings())
                    .extracting(Finding::object)
                    .contains(
                            "wal/sys/1/000000010000000000000001.info.json",
                            "wal/sys/1/" + stored.get(0).getFileName());
        }
    }

    @Test
    void aMissingRepositoryIsNotCreatedByACheck() {
        try (DrKit kit =
                DrKit.builder().repository(dir.resolve("typo").toString()).build()) {
            assertThatThrownBy(() -> kit.check(CheckOptions.catalogOnly()))
                    .isInstanceOf(RepositoryNotFoundException.class);
        }
        assertThat(dir.resolve("typo")).doesNotExist();
    }

    @Test
    void repairOnAFolderThatHoldsNoRepositoryDeletesNothing() throws IOException {
        Path parent = dir.resolve("parent");
        Path thesis = Files.createDirectories(parent.resolve("docs")).resolve("thesis.txt");
        Files.writeString(thesis, "important");
        try (DrKit kit = DrKit.builder()
                .repository(parent.resolve("drkit").toString())
                .register(new DrKitTest.MemoryProvider())
                .build()) {
            kit.backup(spec("one"));
        }
        try (var files = Files.walk(parent)) {
            for (Path p : files.toList()) {
                Files.setLastModifiedTime(p, FileTime.from(Instant.now().minusSeconds(2 * 86_400)));
            }
        }
        long before;
        try (var files = Files.walk(parent)) {
            before = files.count();
        }
        try (DrKit kit = DrKit.builder()
                .repository(parent.toString())
                .register(new DrKitTest.MemoryProvider())
                .build()) {
            assertThatThrownBy(() -> kit.check(CheckOptions.catalogOnly().withRepair()))
                    .isInstanceOf(RepositoryNotFoundException.class);
        }
        try (var files = Files.walk(parent)) {
            assertThat(files.count()).isEqualTo(before);
        }
        assertThat(thesis).hasContent("important");
    }

    @Test
    void foldersThatAreNotDrkitsAreLeftAlone() throws IOException {
        try (DrKit kit = kit()) {
            kit.backup(spec("one"));
            Path found = Files.createDirectories(repo().resolve("lost+found")).resolve("#1234");
            age(Files.writeString(found, "what fsck kept"));
            CheckReport r = kit.check(CheckOptions.catalogOnly().withRepair());
            assertThat(r.findings()).isEmpty();
            assertThat(found).exists();
        }
    }

    @Test
    void aDamagedRecordKeepsTheArchivedBytesItDescribes() throws IOException {
        try (DrKit kit = kit()) {
            kit.backup(spec("one"));
            kit.archive("wal")
                    .put("sys/1/000000010000000000000001", new ByteArrayInputStream(new byte[4096]), s -> true);
            try (var files = Files.walk(repo().resolve("wal"))) {
                for (Path p : files.toList()) {
                    age(p);
                }
            }
            flip(repo().resolve("wal/sys/1/000000010000000000000001.info.json"), 10);
            CheckReport r = kit.check(CheckOptions.catalogOnly().withRepair());
            assertThat(r.findings()).singleElement().satisfies(f -> {
                assertThat(f.kind()).isEqualTo(Kind.ARCHIVE_DAMAGED);
                assertThat(f.object()).isEqualTo("wal/sys/1/000000010000000000000001.info.json");
                assertThat(f.repaired()).isFalse();
            });
            try (var files = Files.list(repo().resolve("wal/sys/1"))) {
                assertThat(files.map(p -> p.getFileName().toString()))
                        .contains("000000010000000000000001.zst", "000000010000000000000001.zst.sha256");
            }
        }
    }

    @Test
    void aLegacyManifestIsNotBlessedOverArtifactsThatDoNotMatchIt() throws IOException {
        try (DrKit kit = kit()) {
            String id = kit.backup(spec("payload ".repeat(100))).id();
            String legacy = Files.readString(object(id, "manifest.json")).replace("\"format\" : 2", "\"format\" : 1");
            rewrite(object(id, "manifest.json"), legacy.getBytes(StandardCharsets.UTF_8));
            Files.delete(object(id, "manifest.json.sha256"));
            flip(object(id, "data.bin.zst"), 10); // same size, other bytes
            CheckReport r = kit.check(CheckOptions.catalogOnly().withRepair());
            assertThat(r.findings())
                    .filteredOn(f -> f.kind() == Kind.WITHOUT_CHECKSUM)
                    .singleElement()
                    .satisfies(f -> assertThat(f.repaired()).isFalse());
            assertThat(object(id, "manifest.json.sha256")).doesNotExist();
        }
    }

    @Test
    void anIdleUploadOfALiveWriterIsNotRemoved() throws IOException {
        try (DrKit kit = kit()) {
            kit.backup(spec("one"));
            Path mine = repo().resolve(".drkit-tmp/" + Hosts.name() + "-"
                    + ProcessHandle.current().pid() + "-x.part");
            age(Files.writeString(mine, "a slow source"));
            CheckReport r = kit.check(CheckOptions.catalogOnly().withRepair());
            assertThat(r.findings()).isEmpty();
            assertThat(mine).exists();
        }
    }

    @Test
    void aPruneCutShortBeforeItRemovedAManifestLeavesAMarkerThatRepairClears() throws IOException {
        try (DrKit kit = kit()) {
            String id = kit.backup(spec("one")).id();
            Files.writeString(object(id, "deleting"), "");
            CheckReport r = kit.check(CheckOptions.catalogOnly());
            assertThat(kinds(r)).containsExactly(Kind.INTERRUPTED_DELETE);
            assertThat(kit.check(CheckOptions.catalogOnly().withRepair()).clean())
                    .isTrue();
            assertThat(object(id, "deleting")).doesNotExist();
            assertThat(kit.list("mem")).extracting(BackupManifest::id).containsExactly(id);
            assertThat(kit.check(CheckOptions.readAllData()).findings()).isEmpty();
        }
    }
}
