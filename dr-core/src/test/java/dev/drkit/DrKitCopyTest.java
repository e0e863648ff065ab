package dev.drkit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import dev.drkit.spi.BackupContext;
import dev.drkit.spi.BackupTarget;
import dev.drkit.spi.BackupTargetProvider;
import dev.drkit.spi.ObjectInfo;
import dev.drkit.spi.RestoreContext;
import dev.drkit.spi.StorageBackend;
import dev.drkit.storage.FileStorageBackend;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.EnumSet;
import java.util.List;
import java.util.Random;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class DrKitCopyTest {
    @TempDir
    Path dir;

    private Path data() throws Exception {
        Path d = Files.createDirectories(dir.resolve("etc/app"));
        Files.writeString(d.resolve("a.conf"), "a=1\n".repeat(10_000));
        return d;
    }

    @Test
    void copiesVerifiesAndSkipsWhatIsThere() throws Exception {
        Path data = data();
        try (DrKit local =
                DrKit.builder().repository(dir.resolve("local").toString()).build()) {
            String first =
                    local.backup(TargetSpec.files("config", data.toString())).id();
            String second =
                    local.backup(TargetSpec.files("config", data.toString())).id();
            FileStorageBackend offsite = new FileStorageBackend(dir.resolve("offsite"));

            CopyResult r = local.copy("config", null, true, offsite);
            assertThat(r.copied()).containsExactly(first, second);
            assertThat(r.bytes()).isPositive();
            CopyResult again = local.copy("config", null, true, offsite);
            assertThat(again.copied()).isEmpty();
            assertThat(again.skipped()).containsExactly(first, second);

            try (DrKit remote = DrKit.builder().storage(offsite).build()) {
                assertThat(remote.list("config")).extracting(BackupManifest::id).containsExactly(first, second);
                assertThat(remote.verify("config", second, VerifyLevel.DECODE).passed())
                        .isTrue();
            }
            assertThat(dir.resolve("offsite/backups/config/" + second + "/files.tar.zst.sha256"))
                    .exists();
        }
    }

    @Test
    void anInterruptedCopyResumesAndACorruptSourceIsNotCopied() throws Exception {
        Path data = data();
        try (DrKit local =
                DrKit.builder().repository(dir.resolve("local").toString()).build()) {
            BackupResult b = local.backup(TargetSpec.files("config", data.toString()));
            FileStorageBackend offsite = new FileStorageBackend(dir.resolve("offsite"));
            local.copy("config", b.id(), false, offsite);
            // simulate an interruption before the manifest: the artifact is there, the manifest is not
            offsite.delete("backups/config/" + b.id() + "/manifest.json");
            CopyResult resumed = local.copy("config", b.id(), false, offsite);
            assertThat(resumed.copied()).containsExactly(b.id());
            // only the manifest travelled again: the artifact and its sidecar were already there
            assertThat(resumed.bytes())
                    .isEqualTo(Files.size(dir.resolve("local/backups/config/" + b.id() + "/manifest.json")));

            BackupResult bad = local.backup(TargetSpec.files("config", data.toString()));
            Path stored = dir.resolve("local/backups/config/" + bad.id() + "/files.tar.zst");
            byte[] bytes = Files.readAllBytes(stored);
            bytes[bytes.length / 2] ^= 1;
            Files.write(stored, bytes);
            assertThatThrownBy(() -> local.copy("config", bad.id(), false, offsite))
                    .isInstanceOf(ChecksumMismatchException.class);
            assertThat(dir.resolve("offsite/backups/config/" + bad.id() + "/manifest.json"))
                    .doesNotExist();
            assertThat(dir.resolve("offsite/backups/config/" + bad.id() + "/files.tar.zst"))
                    .doesNotExist();
        }
    }

    @Test
    void aCopyOfEveryBackupCopiesTheSoundOnesAndNamesTheDamagedOnes() throws Exception {
        Path data = data();
        try (DrKit local =
                DrKit.builder().repository(dir.resolve("local").toString()).build()) {
            String first =
                    local.backup(TargetSpec.files("config", data.toString())).id();
            String flipped =
                    local.backup(TargetSpec.files("config", data.toString())).id();
            String gone =
                    local.backup(TargetSpec.files("config", data.toString())).id();
            String last =
                    local.backup(TargetSpec.files("config", data.toString())).id();
            Path stored = dir.resolve("local/backups/config/" + flipped + "/files.tar.zst");
            byte[] bytes = Files.readAllBytes(stored);
            bytes[bytes.length / 2] ^= 1;
            Files.write(stored, bytes);
            Files.delete(dir.resolve("local/backups/config/" + gone + "/files.tar.zst"));
            FileStorageBackend offsite = new FileStorageBackend(dir.resolve("offsite"));

            for (int round = 0; round < 2; round++) { // run again: the sound ones are skipped, the others still named
                CopyIncompleteException e = catchThrowableOfType(
                        CopyIncompleteException.class, () -> local.copy("config", null, true, offsite));
                assertThat(e).isNotNull();
                CopyResult r = e.result();
                assertThat(r.complete()).isFalse();
                assertThat(round == 0 ? r.copied() : r.skipped()).containsExactly(first, last);
                assertThat(r.notCopied()).extracting(CopyResult.NotCopied::id).containsExactly(flipped, gone);
                assertThat(r.notCopied().get(0).reason()).contains("files.tar.zst");
                assertThat(r.notCopied().get(1).reason()).contains("files.tar.zst", "missing");
                assertThat(e.getMessage())
                        .contains("left out what is damaged or missing", "2 backup(s), " + flipped, gone)
                        .contains("CheckOptions.readData")
                        .doesNotContain("Exception");
                assertThat(e.code()).isEqualTo(DrException.ErrorCode.CORRUPT_DATA);
            }
            try (DrKit remote = DrKit.builder().storage(offsite).build()) {
                assertThat(remote.list("config")).extracting(BackupManifest::id).containsExactly(first, last);
                assertThat(remote.verify("config", last, VerifyLevel.DECODE).passed())
                        .isTrue();
            }
            // one backup asked for by id still fails as itself
            assertThatThrownBy(() -> local.copy("config", gone, false, offsite))
                    .isInstanceOf(CorruptDataException.class)
                    .hasMessageContaining("missing");
        }
    }

    @Test
    void aDamagedPackKeepsOnlyTheBackupsThatUseItFromACopy() throws Exception {
        Path a = Files.createDirectories(dir.resolve("a"));
        Path b = Files.createDirectories(dir.resolve("b"));
        Random random = new Random(7);
        byte[] one = new byte[3 << 20];
        byte[] two = new byte[3 << 20];
        random.nextBytes(one);
        random.nextBytes(two);
        Files.write(a.resolve("one.bin"), one);
        Files.write(b.resolve("two.bin"), two);
        try (DrKit local = DrKit.builder()
                .repository(dir.resolve("local").toString())
                .dedup(true)
                .build()) {
            String first = local.backup(TargetSpec.files("data", a.toString())).id();
            List<Path> firstPacks = packs(dir.resolve("local"));
            String second = local.backup(TargetSpec.files("data", b.toString())).id();
            assertThat(firstPacks).isNotEmpty();
            Path pack = firstPacks.get(0);
            byte[] bytes = Files.readAllBytes(pack);
            bytes[bytes.length / 3] ^= 4;
            Files.write(pack, bytes);
            FileStorageBackend offsite = new FileStorageBackend(dir.resolve("offsite"));

            CopyIncompleteException e =
                    catchThrowableOfType(CopyIncompleteException.class, () -> local.copy("data", null, true, offsite));
            assertThat(e).isNotNull();
            assertThat(e.result().copied()).containsExactly(second);
            assertThat(e.result().notCopied())
                    .extracting(CopyResult.NotCopied::id)
                    .containsExactly(first);
            try (DrKit remote = DrKit.builder().storage(offsite).build()) {
                assertThat(remote.list("data")).extracting(BackupManifest::id).containsExactly(second);
                assertThat(remote.verify("data", second, VerifyLevel.DECODE).passed())
                        .isTrue();
            }
        }
    }

    @Test
    void aCopyOfEveryBackupNamesTheOnesItCannotTrustAndThoseWhoseChunkListIsGone() throws Exception {
        Path data = data();
        try (DrKit local = DrKit.builder()
                .repository(dir.resolve("local").toString())
                .dedup(true)
                .build()) {
            String untrusted =
                    local.backup(TargetSpec.files("config", data.toString())).id();
            Thread.sleep(1100); // ids resolve to the second
            String listless =
                    local.backup(TargetSpec.files("config", data.toString())).id();
            Thread.sleep(1100);
            String sound =
                    local.backup(TargetSpec.files("config", data.toString())).id();
            Path manifest = dir.resolve("local/backups/config/" + untrusted + "/manifest.json");
            byte[] bytes = Files.readAllBytes(manifest);
            bytes[20] ^= 1;
            Files.write(manifest, bytes);
            try (var files = Files.list(dir.resolve("local/backups/config/" + listless))) {
                for (Path f :
                        files.filter(f -> f.toString().endsWith(".chunks")).toList()) {
                    Files.delete(f);
                }
            }
            FileStorageBackend offsite = new FileStorageBackend(dir.resolve("offsite"));

            CopyIncompleteException e = catchThrowableOfType(
                    CopyIncompleteException.class, () -> local.copy("config", null, true, offsite));
            assertThat(e).isNotNull();
            assertThat(e.result().copied()).containsExactly(sound);
            assertThat(e.result().notCopied())
                    .extracting(CopyResult.NotCopied::id)
                    .containsExactlyInAnyOrder(untrusted, listless);
            assertThat(e.result().notCopied())
                    .filteredOn(n -> n.id().equals(untrusted))
                    .singleElement()
                    .extracting(CopyResult.NotCopied::reason)
                    .asString()
                    .contains("cannot be trusted");

            // a backup copied while it was sound, damaged in the source since: the copy offsite stands
            String later =
                    local.backup(TargetSpec.files("config", data.toString())).id();
            FileStorageBackend second = new FileStorageBackend(dir.resolve("second"));
            local.copy("config", later, false, second);
            Path laterManifest = dir.resolve("local/backups/config/" + later + "/manifest.json");
            byte[] m = Files.readAllBytes(laterManifest);
            m[20] ^= 1;
            Files.write(laterManifest, m);
            CopyIncompleteException again =
                    catchThrowableOfType(CopyIncompleteException.class, () -> local.copy("config", null, true, second));
            assertThat(again.result().skipped()).containsExactly(later);
            assertThat(again.result().notCopied())
                    .extracting(CopyResult.NotCopied::id)
                    .containsExactlyInAnyOrder(untrusted, listless)
                    .doesNotContain(later);
        }
    }

    @Test
    void aBackupPrunedFromTheSourceWhileItIsCopiedIsNotReportedDamaged() throws Exception {
        Path data = data();
        String gone;
        String kept;
        try (DrKit local =
                DrKit.builder().repository(dir.resolve("local").toString()).build()) {
            gone = local.backup(TargetSpec.files("config", data.toString())).id();
            kept = local.backup(TargetSpec.files("config", data.toString())).id();
        }
        String prefix = "backups/config/" + gone + "/";
        // a prune elsewhere deletes the backup (manifest first) just as its artifact is opened
        ForwardingStorage pruning = new ForwardingStorage(new FileStorageBackend(dir.resolve("local"))) {
            @Override
            public InputStream open(String key, long offset) throws IOException {
                if (key.startsWith(prefix) && !key.endsWith("manifest.json")) {
                    for (ObjectInfo o : delegate.list(prefix)) {
                        delegate.delete(o.key());
                    }
                }
                return delegate.open(key, offset);
            }
        };
        try (DrKit local = DrKit.builder().storage(pruning).build()) {
            CopyResult r = local.copy("config", null, true, new FileStorageBackend(dir.resolve("offsite")));
            assertThat(r.complete()).isTrue();
            assertThat(r.copied()).containsExactly(kept);
        }
    }

    @Test
    void anObjectOfOtherContentInTheDestinationStopsTheCopyAsTheDestinationsProblem() throws Exception {
        Path data = data();
        try (DrKit local =
                DrKit.builder().repository(dir.resolve("local").toString()).build()) {
            BackupResult b = local.backup(TargetSpec.files("config", data.toString()));
            Path there = Files.createDirectories(dir.resolve("offsite/backups/config/" + b.id()));
            Files.writeString(there.resolve("files.tar.zst"), "other bytes");
            assertThatThrownBy(() -> local.copy("config", null, true, new FileStorageBackend(dir.resolve("offsite"))))
                    .isInstanceOf(ObjectExistsException.class)
                    .hasMessageContaining("remove it from the destination");
        }
    }

    private static List<Path> packs(Path repo) throws IOException {
        try (var files = Files.list(repo.resolve("chunks/packs"))) {
            return files.filter(p -> p.toString().endsWith(".pack")).sorted().toList();
        }
    }

    /** A type whose backups need files kept beside them, in the {@code journal} area (as base backups need WAL). */
    static final class JournaledProvider implements BackupTargetProvider {
        @Override
        public String type() {
            return "journaled";
        }

        @Override
        public List<String> archiveAreas() {
            return List.of("journal");
        }

        @Override
        public BackupTarget create(Settings settings) {
            return new BackupTarget() {
                @Override
                public String type() {
                    return "journaled";
                }

                @Override
                public Set<Capability> capabilities() {
                    return EnumSet.of(Capability.FULL);
                }

                @Override
                public void backup(BackupContext context) throws IOException {
                    try (var out = context.newArtifact("base.bin")) {
                        out.write("base".getBytes(StandardCharsets.UTF_8));
                    }
                }

                @Override
                public void restore(RestoreContext context) {}
            };
        }
    }

    private static void journal(DrKit kit, String path, String text) throws Exception {
        kit.archive("journal")
                .put(path, new ByteArrayInputStream(text.getBytes(StandardCharsets.UTF_8)), stored -> false);
    }

    @Test
    void theFilesABackupNeedsBesideItTravelWithItChecked() throws Exception {
        try (DrKit local = DrKit.builder()
                .repository(dir.resolve("local").toString())
                .register(new JournaledProvider())
                .build()) {
            journal(local, "j/0001", "first ".repeat(1000));
            journal(local, "j/0002", "second ".repeat(1000));
            BackupResult b = local.backup(new TargetSpec("db", "journaled", Settings.empty()));
            FileStorageBackend offsite = new FileStorageBackend(dir.resolve("offsite"));

            CopyResult r = local.copy("db", b.id(), false, offsite);
            assertThat(r.copied()).containsExactly(b.id());
            assertThat(r.archiveFilesCopied()).isEqualTo(2);
            try (DrKit remote = DrKit.builder()
                            .storage(offsite)
                            .register(new JournaledProvider())
                            .build();
                    var in = remote.archive("journal").open("j/0002").orElseThrow()) {
                assertThat(new String(in.readAllBytes(), StandardCharsets.UTF_8))
                        .isEqualTo("second ".repeat(1000));
            }
            assertThat(local.copy("db", b.id(), false, offsite).archiveFilesCopied())
                    .isZero(); // already there

            // a journal file damaged at the source is refused, and the destination does not list it;
            // the files after it (which newer backups need) are copied all the same
            journal(local, "j/0003", "third ".repeat(1000));
            journal(local, "j/0004", "fourth ".repeat(1000));
            Path stored = dir.resolve("local/journal/j/0003.zst");
            byte[] bytes = Files.readAllBytes(stored);
            bytes[bytes.length / 2] ^= 1;
            Files.write(stored, bytes);
            CopyIncompleteException e =
                    catchThrowableOfType(CopyIncompleteException.class, () -> local.copy("db", b.id(), false, offsite));
            assertThat(e).isNotNull();
            assertThat(e.result().skipped()).containsExactly(b.id());
            assertThat(e.result().archiveFilesCopied()).isEqualTo(1);
            assertThat(e.result().archiveFilesNotCopied())
                    .extracting(CopyResult.NotCopied::id)
                    .containsExactly("journal/j/0003");
            assertThat(e.getMessage()).contains("1 archived file(s), journal/j/0003 (");
            assertThat(dir.resolve("offsite/journal/j/0003.info.json")).doesNotExist();
            assertThat(dir.resolve("offsite/journal/j/0004.info.json")).exists();
        }
    }

    /** A source whose one archived file is pruned (record first, then its object) just after it is read or listed. */
    static final class PrunedWhileCopied extends ForwardingStorage {
        private final String record;
        private final String object;
        private final boolean afterList;

        PrunedWhileCopied(StorageBackend delegate, String path, boolean afterList) {
            super(delegate);
            this.record = "journal/" + path + ".info.json";
            this.object = "journal/" + path + ".zst";
            this.afterList = afterList;
        }

        private void prune() throws IOException {
            for (String key : List.of(record, record + ".sha256", object, object + ".sha256")) {
                delegate.delete(key);
            }
        }

        @Override
        public InputStream open(String key, long offset) throws IOException {
            InputStream in = delegate.open(key, offset);
            if (!afterList && key.equals(record)) {
                byte[] bytes;
                try (in) {
                    bytes = in.readAllBytes();
                }
                prune();
                return new ByteArrayInputStream(bytes);
            }
            return in;
        }

        @Override
        public List<ObjectInfo> list(String prefix) throws IOException {
            List<ObjectInfo> listed = delegate.list(prefix);
            if (afterList && prefix.equals("journal/") && delegate.stat(record).isPresent()) {
                prune();
            }
            return listed;
        }
    }

    @Test
    void anArchivedFilePrunedWhileTheCopyRunsIsNotReportedDamaged() throws Exception {
        for (boolean afterList : new boolean[] {true, false}) {
            Path run = Files.createDirectories(dir.resolve("run-" + afterList));
            String id;
            try (DrKit local = DrKit.builder()
                    .repository(run.resolve("local").toString())
                    .register(new JournaledProvider())
                    .build()) {
                journal(local, "j/0001", "first ".repeat(1000));
                journal(local, "j/0002", "second ".repeat(1000));
                id = local.backup(new TargetSpec("db", "journaled", Settings.empty()))
                        .id();
            }
            PrunedWhileCopied source =
                    new PrunedWhileCopied(new FileStorageBackend(run.resolve("local")), "j/0001", afterList);
            try (DrKit local = DrKit.builder()
                    .storage(source)
                    .register(new JournaledProvider())
                    .build()) {
                CopyResult r = local.copy("db", id, false, new FileStorageBackend(run.resolve("offsite")));
                assertThat(r.complete())
                        .as("pruned after it was %s", afterList ? "listed" : "read")
                        .isTrue();
                assertThat(r.copied()).containsExactly(id);
                assertThat(r.archiveFilesCopied()).isEqualTo(1);
            }
            assertThat(run.resolve("offsite/journal/j/0002.info.json")).exists();
            assertThat(run.resolve("offsite/journal/j/0001.info.json")).doesNotExist();
        }
    }

    @Test
    void archivedFilesAreRemovedInBatchesInfoFirst() throws Exception {
        try (DrKit kit =
                DrKit.builder().repository(dir.resolve("repo").toString()).build()) {
            for (String n : new String[] {"0001", "0002", "0003"}) {
                journal(kit, "j/" + n, n.repeat(500));
            }
            kit.archive("journal").deleteAll(List.of("j/0001", "j/0002", "j/0009"));
            assertThat(kit.archive("journal").list("")).containsExactly("j/0003");
            try (var files = Files.list(dir.resolve("repo/journal/j"))) {
                assertThat(files.map(p -> p.getFileName().toString()))
                        .containsExactlyInAnyOrder(
                                "0003.zst", "0003.zst.sha256", "0003.info.json", "0003.info.json.sha256");
            }
        }
    }
}
