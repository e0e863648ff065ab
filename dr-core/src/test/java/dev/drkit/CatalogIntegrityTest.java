package dev.drkit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.drkit.retention.GfsRetentionPolicy;
import dev.drkit.spi.ManifestSigner;
import dev.drkit.spi.ManifestVerifier;
import dev.drkit.spi.support.Sha256;
import dev.drkit.storage.FileStorageBackend;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A damaged or altered catalog is detected, isolated to the backup it concerns, and reported. */
class CatalogIntegrityTest {
    @TempDir
    Path dir;

    private final List<DrEvent> events = new ArrayList<>();

    private DrKit kit() {
        return DrKit.builder()
                .repository(dir.resolve("repo").toString())
                .register(new DrKitTest.MemoryProvider())
                .listener(new DrListener() {
                    @Override
                    public void onEvent(DrEvent event) {
                        events.add(event);
                    }
                })
                .build();
    }

    private static TargetSpec spec(String content) {
        return new TargetSpec(
                "mem", "memory", Settings.builder().set("content", content).build());
    }

    private Path manifest(String id) {
        return dir.resolve("repo/backups/mem/" + id + "/manifest.json");
    }

    /** Three backups in three distinct seconds, oldest first. */
    private List<String> threeBackups(DrKit kit) throws InterruptedException {
        List<String> ids = new ArrayList<>();
        for (String c : List.of("one", "two", "three")) {
            ids.add(kit.backup(spec(c)).id());
            Thread.sleep(1010); // ids resolve to the second; the test needs distinct ones
        }
        return ids;
    }

    private static void flip(Path file, int offset) throws IOException {
        byte[] b = Files.readAllBytes(file);
        b[offset] ^= 0x01;
        Files.delete(file); // stored objects are read-only hard links
        Files.write(file, b);
    }

    /** Replaces a manifest and rewrites its checksum file to match, as an attacker with write access could. */
    private void forge(String id, String from, String to) throws IOException {
        Path m = manifest(id);
        String json = Files.readString(m).replace(from, to);
        Files.delete(m);
        Files.writeString(m, json);
        Path sum = m.resolveSibling("manifest.json.sha256");
        Files.delete(sum);
        byte[] bytes = json.getBytes(StandardCharsets.UTF_8);
        Files.writeString(sum, Sha256.sidecar(Sha256.hex(bytes, 0, bytes.length), "manifest.json"));
    }

    @Test
    void oneFlippedByteInAManifestDamagesOnlyThatBackup() throws Exception {
        try (DrKit kit = kit()) {
            List<String> ids = threeBackups(kit);
            flip(manifest(ids.get(1)), 40);

            assertThat(kit.list("mem")).extracting(BackupManifest::id).containsExactly(ids.get(0), ids.get(2));
            assertThat(kit.damaged("mem")).singleElement().satisfies(d -> {
                assertThat(d.id()).isEqualTo(ids.get(1));
                assertThat(d.reason()).contains("does not match its checksum file");
            });
            assertThat(kit.manifest("mem", null).id()).isEqualTo(ids.get(2));
            assertThatThrownBy(() -> kit.manifest("mem", ids.get(1)))
                    .isInstanceOf(DamagedBackupException.class)
                    .hasMessageContaining("mem/" + ids.get(1));
            assertThat(kit.verify("mem", ids.get(2), VerifyLevel.DECODE).passed())
                    .isTrue();

            DrStatus status = kit.status(Map.of());
            assertThat(status.healthy()).isFalse();
            assertThat(status.targets().get(0).problems())
                    .anyMatch(p -> p.contains("1 damaged backup(s): " + ids.get(1)));

            PruneResult pruned =
                    kit.prune("mem", GfsRetentionPolicy.builder().keepLast(1).build(), false);
            // the oldest stays too: the damaged backup cannot say whether it needs it
            assertThat(pruned.deleted().get("mem")).isEmpty();
            assertThat(pruned.damaged().get("mem"))
                    .extracting(DamagedBackup::id)
                    .containsExactly(ids.get(1));
            assertThat(manifest(ids.get(1))).exists(); // never deleted on the strength of a damaged manifest
            assertThat(kit.list("mem")).extracting(BackupManifest::id).containsExactly(ids.get(0), ids.get(2));
        }
    }

    @Test
    void latestPassesOverADamagedNewestBackupAndSaysSo() throws Exception {
        try (DrKit kit = kit()) {
            List<String> ids = threeBackups(kit);
            Files.delete(manifest(ids.get(2)));
            Files.writeString(manifest(ids.get(2)), "{ truncated");

            assertThat(kit.manifest("mem", null).id()).isEqualTo(ids.get(1));
            assertThat(events)
                    .filteredOn(e -> e.type() == DrEvent.Type.DAMAGED_BACKUP_SKIPPED)
                    .singleElement()
                    .satisfies(e -> assertThat(e.backupId()).isEqualTo(ids.get(2)));
            DrKitTest.MemoryTarget.RESTORED.clear();
            kit.restore(new RestoreRequest("mem", null, Settings.empty(), false));
            assertThat(DrKitTest.MemoryTarget.RESTORED).containsExactly("two");
        }
    }

    @Test
    void aManifestMovedInTimeIsNotBelievedEvenWithItsChecksumFixedUp() throws Exception {
        try (DrKit kit = kit()) {
            List<String> ids = threeBackups(kit);
            String year = ids.get(0).substring(0, 4);
            String future = String.valueOf(Integer.parseInt(year) + 10);
            forge(ids.get(0), "\"startedAt\" : \"" + year, "\"startedAt\" : \"" + future);

            assertThat(kit.manifest("mem", null).id()).isEqualTo(ids.get(2));
            assertThat(kit.damaged("mem"))
                    .singleElement()
                    .satisfies(d -> assertThat(d.reason()).contains("disagrees with the backup id"));
            assertThatThrownBy(() -> kit.verify("mem", ids.get(0), VerifyLevel.CHECKSUM))
                    .isInstanceOf(DamagedBackupException.class);
        }
    }

    @Test
    void aManifestCopiedUnderAnotherIdOrTargetIsNotBelieved() throws Exception {
        try (DrKit kit = kit()) {
            List<String> ids = threeBackups(kit);
            // the newest backup's folder now holds the oldest backup's manifest
            Path newest = manifest(ids.get(2));
            Files.delete(newest);
            Files.delete(newest.resolveSibling("manifest.json.sha256"));
            Files.copy(manifest(ids.get(0)), newest);
            Files.copy(
                    manifest(ids.get(0)).resolveSibling("manifest.json.sha256"),
                    newest.resolveSibling("manifest.json.sha256"));

            assertThat(kit.manifest("mem", null).id()).isEqualTo(ids.get(1));
            assertThat(kit.damaged("mem"))
                    .singleElement()
                    .satisfies(d -> assertThat(d.reason()).contains("names backup " + ids.get(0)));
        }
    }

    @Test
    void anArtifactNameThatLeavesTheBackupFolderIsRefused() throws Exception {
        try (DrKit kit = kit()) {
            String id = kit.backup(spec("one")).id();
            forge(id, "\"storedName\" : \"data.bin.zst\"", "\"storedName\" : \"../other/data.bin.zst\"");
            assertThat(kit.list("mem")).isEmpty();
            assertThat(kit.damaged("mem"))
                    .singleElement()
                    .satisfies(d -> assertThat(d.reason()).contains("invalid name"));
        }
    }

    @Test
    void aDamagedChecksumFileOfAnArtifactFailsChecksumVerification() throws Exception {
        try (DrKit kit = kit()) {
            String id = kit.backup(spec("one")).id();
            flip(dir.resolve("repo/backups/mem/" + id + "/data.bin.zst.sha256"), 3);

            VerifyReport report = kit.verify("mem", id, VerifyLevel.CHECKSUM);
            assertThat(report.passed()).isFalse();
            assertThat(report.problems())
                    .singleElement()
                    .asString()
                    .contains("data.bin.zst.sha256")
                    .contains("does not match the manifest");

            Files.delete(dir.resolve("repo/backups/mem/" + id + "/data.bin.zst.sha256"));
            assertThat(kit.verify("mem", id, VerifyLevel.CHECKSUM).problems())
                    .singleElement()
                    .asString()
                    .contains("is missing");
        }
    }

    @Test
    void aDamagedRepositoryConfigurationIsSaidOnceAndStopsNothing() throws Exception {
        String id;
        try (DrKit kit = kit()) {
            id = kit.backup(spec("one")).id();
        }
        flip(dir.resolve("repo/drkit-repository.json"), 5);
        try (DrKit kit = kit()) {
            assertThat(kit.list("mem")).extracting(BackupManifest::id).containsExactly(id);
            DrKitTest.MemoryTarget.RESTORED.clear();
            kit.restore(new RestoreRequest("mem", null, Settings.empty(), false));
            assertThat(DrKitTest.MemoryTarget.RESTORED).containsExactly("one");
            DrStatus status = kit.status(Map.of());
            assertThat(status.healthy()).isFalse();
            assertThat(status.problems())
                    .singleElement()
                    .asString()
                    .contains("drkit-repository.json")
                    .contains("repair")
                    .doesNotContain("\n")
                    .doesNotContain("Jackson");
            // it holds only the format and a random id: backups (and WAL archiving) go on
            Thread.sleep(1010);
            assertThat(kit.backup(spec("two")).id()).isNotEqualTo(id);
            assertThat(kit.list("mem")).hasSize(2);
        }
        Files.delete(dir.resolve("repo/drkit-repository.json"));
        try (DrKit kit = kit()) {
            // a lost configuration beside backups is not "no repository"
            assertThat(kit.list("mem")).hasSize(2);
            assertThat(kit.status(Map.of()).problems())
                    .singleElement()
                    .asString()
                    .contains("missing");
        }
    }

    /** A toy signature: the manifest's bytes reversed. */
    private static final ManifestVerifier TRUSTED = ToySignatures.TRUSTED;

    @Test
    void withTrustedKeysUnsignedManifestsAreDamagedEverywhereAndNeverCountForRetention() throws Exception {
        ManifestSigner signer = ToySignatures.SIGNER;
        List<String> signed = new ArrayList<>();
        try (DrKit kit = DrKit.builder()
                .repository(dir.resolve("repo").toString())
                .register(new DrKitTest.MemoryProvider())
                .signer(signer)
                .build()) {
            signed.add(kit.backup(spec("one")).id());
            Thread.sleep(1010);
            signed.add(kit.backup(spec("two")).id());
            Thread.sleep(1010);
        }
        List<String> forged = new ArrayList<>();
        try (DrKit kit = kit()) { // a writer without the key: what an attacker with write access can do
            forged.add(kit.backup(spec("forged one")).id());
            Thread.sleep(1010);
            forged.add(kit.backup(spec("forged two")).id());
        }
        try (DrKit kit = DrKit.builder()
                .repository(dir.resolve("repo").toString())
                .register(new DrKitTest.MemoryProvider())
                .trustedSignatures(TRUSTED)
                .build()) {
            assertThat(kit.list("mem")).extracting(BackupManifest::id).containsExactlyElementsOf(signed);
            assertThat(kit.damaged("mem")).extracting(DamagedBackup::id).containsExactlyElementsOf(forged);
            assertThat(kit.manifest("mem", null).id()).isEqualTo(signed.get(1));
            PruneResult pruned =
                    kit.prune("mem", GfsRetentionPolicy.builder().keepLast(2).build(), false);
            assertThat(pruned.deleted().get("mem")).isEmpty();
            assertThat(kit.list("mem")).hasSize(2);
        }
    }

    @Test
    void prunesKeepWhatADamagedBackupMayNeed() throws Exception {
        try (DrKit kit = kit()) {
            String full = kit.backup(spec("one")).id();
            Thread.sleep(1010);
            String incremental = kit.backup(new TargetSpec(
                            "mem",
                            "memory",
                            Settings.builder()
                                    .set("content", "two")
                                    .set("incremental", "true")
                                    .build()))
                    .id();
            Thread.sleep(1010);
            String newest = kit.backup(spec("three")).id();
            flip(manifest(incremental), 40);

            PruneResult pruned =
                    kit.prune("mem", GfsRetentionPolicy.builder().keepLast(1).build(), false);
            assertThat(pruned.deleted().get("mem")).isEmpty();
            assertThat(pruned.plans().get("mem").decisions())
                    .filteredOn(d -> d.backupId().equals(full))
                    .singleElement()
                    .satisfies(d -> assertThat(d.reasons())
                            .singleElement()
                            .asString()
                            .contains("older than damaged backup " + incremental));
            assertThat(kit.list("mem")).extracting(BackupManifest::id).containsExactly(full, newest);
        }
    }

    @Test
    void aLostManifestIsDamagedNotIncompleteButACutShortDeleteIsIncomplete() throws Exception {
        try (DrKit kit = kit()) {
            List<String> ids = threeBackups(kit);
            Files.delete(manifest(ids.get(2)));
            assertThat(kit.damaged("mem"))
                    .singleElement()
                    .satisfies(d -> assertThat(d.reason()).contains("missing"));
            assertThat(kit.manifest("mem", null).id()).isEqualTo(ids.get(1));
            assertThat(events).anyMatch(e -> e.type() == DrEvent.Type.DAMAGED_BACKUP_SKIPPED);
            PruneResult pruned =
                    kit.prune("mem", GfsRetentionPolicy.builder().keepLast(10).build(), false);
            assertThat(pruned.incompleteRemoved().get("mem")).isEmpty();
            assertThat(manifest(ids.get(2)).resolveSibling("data.bin.zst")).exists();

            // a prune killed after it marked the backup and removed its manifest: left to the next prune
            Files.writeString(manifest(ids.get(1)).resolveSibling("deleting"), "");
            Files.delete(manifest(ids.get(1)));
            assertThat(kit.damaged("mem")).extracting(DamagedBackup::id).containsExactly(ids.get(2));
            assertThat(kit.prune(
                                    "mem",
                                    GfsRetentionPolicy.builder().keepLast(10).build(),
                                    false)
                            .incompleteRemoved()
                            .get("mem"))
                    .containsExactly(ids.get(1));
        }
    }

    @Test
    void aBackupDatedInTheFutureIsNotBelieved() throws Exception {
        Instant future = Instant.now().plus(Duration.ofDays(3650));
        try (DrKit writer = DrKit.builder()
                .repository(dir.resolve("repo").toString())
                .register(new DrKitTest.MemoryProvider())
                .clock(Clock.fixed(future, ZoneOffset.UTC))
                .build()) {
            writer.backup(spec("from a wrong clock"));
        }
        try (DrKit kit = kit()) {
            String now = kit.backup(spec("now")).id();
            assertThat(kit.manifest("mem", null).id()).isEqualTo(now);
            assertThat(kit.damaged("mem"))
                    .singleElement()
                    .satisfies(d -> assertThat(d.reason()).contains("in the future"));
        }
    }

    @Test
    void aManifestWithAKeyTwiceIsNotBelieved() throws Exception {
        try (DrKit kit = kit()) {
            String id = kit.backup(spec("one")).id();
            forge(id, "\"kind\" : \"full\"", "\"kind\" : \"full\", \"kind\" : \"incremental\"");
            assertThat(kit.list("mem")).isEmpty();
            assertThat(kit.damaged("mem")).hasSize(1);
        }
    }

    @Test
    void aCopyPutsBackADamagedManifestAtTheDestination() throws Exception {
        try (DrKit kit = kit()) {
            String id = kit.backup(spec("one")).id();
            try (var offsite = new FileStorageBackend(dir.resolve("offsite"))) {
                kit.copy("mem", null, true, offsite);
                Path copied = dir.resolve("offsite/backups/mem/" + id + "/manifest.json");
                flip(copied, 40);
                CopyResult again = kit.copy("mem", null, true, offsite);
                assertThat(again.copied()).containsExactly(id);
                assertThat(copied).hasSameBinaryContentAs(manifest(id));
            }
        }
    }

    @Test
    void aManifestWrittenBeforeChecksumsExistedIsStillRead() throws Exception {
        try (DrKit kit = kit()) {
            String id = kit.backup(spec("one")).id();
            Path m = manifest(id);
            String legacy = Files.readString(m).replace("\"format\" : 2", "\"format\" : 1");
            Files.delete(m);
            Files.writeString(m, legacy);
            Files.delete(m.resolveSibling("manifest.json.sha256"));
            assertThat(kit.list("mem")).extracting(BackupManifest::id).containsExactly(id);
            // a current manifest must have its checksum file
            Files.delete(m);
            Files.writeString(m, legacy.replace("\"format\" : 1", "\"format\" : 2"));
            assertThat(kit.damaged("mem"))
                    .singleElement()
                    .satisfies(d -> assertThat(d.reason()).contains("checksum file manifest.json.sha256 is missing"));
        }
    }

    @Test
    void readingCommandsNeverCreateARepository() {
        Path typo = dir.resolve("typo");
        try (DrKit kit = DrKit.builder()
                .repository(typo.toString())
                .register(new DrKitTest.MemoryProvider())
                .build()) {
            List<Runnable> reads = List.of(
                    () -> kit.list(null),
                    () -> kit.status(Map.of()),
                    () -> kit.manifest("mem", null),
                    () -> kit.verify("mem", null, VerifyLevel.CHECKSUM),
                    () -> kit.restore(new RestoreRequest("mem", null, Settings.empty(), false)),
                    () -> kit.prune(
                            "mem", GfsRetentionPolicy.builder().keepLast(1).build(), false));
            for (Runnable read : reads) {
                assertThatThrownBy(read::run)
                        .isInstanceOf(RepositoryNotFoundException.class)
                        .hasMessageContaining("no drkit repository at file:" + typo);
            }
        }
        assertThat(typo).doesNotExist();
    }
}
