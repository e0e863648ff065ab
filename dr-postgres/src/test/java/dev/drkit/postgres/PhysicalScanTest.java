package dev.drkit.postgres;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.drkit.ConfigException;
import dev.drkit.Settings;
import dev.drkit.spi.support.FileTrees;
import dev.drkit.spi.support.TarWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class PhysicalScanTest {
    @TempDir
    Path data;

    private void touch(String... paths) throws Exception {
        for (String p : paths) {
            Path f = data.resolve(p);
            Files.createDirectories(f.getParent());
            Files.writeString(f, p);
        }
    }

    @Test
    void filesTheServerRemovesWhileTheScanListsThemAreLeftOutNotAnError() throws Exception {
        touch("PG_VERSION", "base/1/1259", "pg_wal/archive_status/keep");
        for (int i = 0; i < 200; i++) {
            touch("base/1/" + (20_000 + i));
        }
        // as the server: archive_status markers and relations come and go all the time
        AtomicBoolean stop = new AtomicBoolean();
        Thread churn = new Thread(() -> {
            for (long n = 0; !stop.get(); n++) {
                try {
                    Path marker = data.resolve("pg_wal/archive_status/" + n + ".ready");
                    Path relation = data.resolve("base/1/" + (30_000 + n % 50));
                    Path dir = data.resolve("base/" + (900 + n % 5));
                    Files.writeString(marker, "");
                    Files.writeString(relation, "r");
                    Files.createDirectories(dir.resolve("sub"));
                    Files.delete(marker);
                    Files.delete(relation);
                    FileTrees.delete(dir);
                } catch (Exception e) {
                    // a scan never removes anything: only this thread's own races end up here
                }
            }
        });
        churn.start();
        try {
            for (int round = 0; round < 300; round++) {
                List<String> names = DataDirectoryScan.scan(data).stream()
                        .map(TarWriter.Item::name)
                        .toList();
                assertThat(names).contains("PG_VERSION", "base/1/1259", "base/1/20199", "pg_wal/archive_status");
                assertThat(names).noneMatch(n -> n.startsWith("pg_wal/archive_status/"));
            }
        } finally {
            stop.set(true);
            churn.join();
        }
    }

    @Test
    void baseBackupsLeaveOutWhatPostgresLeavesOut() throws Exception {
        touch(
                "PG_VERSION",
                "global/pg_control",
                "global/1262",
                "base/1/1259",
                "base/1/1259_fsm",
                "base/1/16384_init",
                "base/1/16384",
                "base/1/16384.1",
                "base/1/16384_fsm",
                "base/1/t3_16390",
                "base/1/pg_internal.init",
                "base/1/pgsql_tmp/pgsql_tmp123.0",
                "pg_wal/000000010000000000000001",
                "pg_wal/archive_status/000000010000000000000001.done",
                "pg_stat_tmp/global.stat",
                "pg_replslot/slot/state",
                "postmaster.pid",
                "postmaster.opts",
                "backup_label",
                "recovery.signal",
                "postgresql.conf",
                "postgresql.auto.conf",
                "pg_xact/0000");
        List<String> names =
                DataDirectoryScan.scan(data).stream().map(TarWriter.Item::name).toList();
        assertThat(names)
                .contains(
                        "PG_VERSION",
                        "global/1262",
                        "base/1/1259",
                        "base/1/1259_fsm",
                        "base/1/16384_init",
                        "postgresql.conf",
                        "postgresql.auto.conf",
                        "pg_xact/0000",
                        "pg_wal",
                        "pg_wal/archive_status",
                        "pg_stat_tmp",
                        "pg_replslot");
        assertThat(names)
                .doesNotContain(
                        "global/pg_control",
                        "base/1/16384",
                        "base/1/16384.1",
                        "base/1/16384_fsm",
                        "base/1/t3_16390",
                        "base/1/pg_internal.init",
                        "base/1/pgsql_tmp",
                        "pg_wal/000000010000000000000001",
                        "pg_wal/archive_status/000000010000000000000001.done",
                        "pg_stat_tmp/global.stat",
                        "pg_replslot/slot",
                        "postmaster.pid",
                        "postmaster.opts",
                        "backup_label",
                        "recovery.signal");
    }

    /**
     * A file whose name holds a tab or a line break (anyone allowed to write server files can
     * make one): its line in the file list read back as other fields, and the backup, with every
     * incremental after it, could never be restored. The scan leaves it out; the file list
     * refuses such a name outright.
     */
    @Test
    void namesTheFileListCannotHoldAreLeftOut() throws Exception {
        touch("PG_VERSION", "base/1/1259", "notes\tcopy.txt", "odd\nname", "dir\r/inside", "fine name.txt");
        List<String> names =
                DataDirectoryScan.scan(data).stream().map(TarWriter.Item::name).toList();
        assertThat(names).contains("PG_VERSION", "base/1/1259", "fine name.txt");
        assertThat(names).noneMatch(n -> n.contains("\t") || n.contains("\n") || n.contains("\r"));
        FileList.FileEntry odd = new FileList.FileEntry("a\tb", 1, 0, "00000000", "B1", "data-0.tar", List.of());
        assertThatThrownBy(odd::line).isInstanceOf(IllegalArgumentException.class);
    }

    /** A linked postgresql.auto.conf is stored as a file with its contents: a restore never writes through a link. */
    @Test
    void aLinkedAutoConfIsStoredAsAFile() throws Exception {
        touch("PG_VERSION");
        Path real = Files.writeString(Files.createTempFile("auto", ".conf"), "work_mem = '8MB'\n");
        try {
            Files.createSymbolicLink(data.resolve("postgresql.auto.conf"), real);
            TarWriter.Item item = DataDirectoryScan.scan(data).stream()
                    .filter(i -> i.name().equals("postgresql.auto.conf"))
                    .findFirst()
                    .orElseThrow();
            assertThat(item.kind()).isEqualTo(TarWriter.Item.Kind.FILE);
            assertThat(item.size()).isEqualTo(Files.size(real));
        } finally {
            Files.delete(real);
        }
    }

    @Test
    void tablespacesAreBackedUpUnderTheirLinkNames() throws Exception {
        touch("PG_VERSION", "global/pg_control");
        Path elsewhere = Files.createTempDirectory("ts");
        try {
            Files.createDirectories(elsewhere.resolve("PG_15_202209061/5"));
            Files.writeString(elsewhere.resolve("PG_15_202209061/5/16400"), "data");
            Files.writeString(elsewhere.resolve("PG_15_202209061/5/t4_16401"), "temp");
            Files.createDirectories(data.resolve("pg_tblspc"));
            Files.createSymbolicLink(data.resolve("pg_tblspc/16500"), elsewhere);
            List<TarWriter.Item> items = DataDirectoryScan.scan(data);
            List<String> names = items.stream().map(TarWriter.Item::name).toList();
            assertThat(names)
                    .contains("pg_tblspc", "pg_tblspc/16500", "pg_tblspc/16500/PG_15_202209061/5/16400")
                    .doesNotContain("pg_tblspc/16500/PG_15_202209061/5/t4_16401");
            assertThat(items.stream()
                            .filter(i -> i.name().equals("pg_tblspc/16500"))
                            .findFirst()
                            .orElseThrow()
                            .kind())
                    .isEqualTo(TarWriter.Item.Kind.DIRECTORY);
            assertThat(DataDirectoryScan.tablespaces(data))
                    .containsEntry("16500", elsewhere.toRealPath().toString());
        } finally {
            FileTrees.delete(elsewhere);
        }
    }

    @Test
    void segmentNamesAndLsns() {
        long seg = 16L << 20;
        assertThat(WalArchive.segmentName(1, WalArchive.parseLsn("0/3000028"), seg))
                .isEqualTo("000000010000000000000003");
        assertThat(WalArchive.segmentName(2, WalArchive.parseLsn("1/FF000000"), seg))
                .isEqualTo("0000000200000001000000FF");
        assertThat(WalArchive.segmentName(1, WalArchive.parseLsn("0/3000028"), 64L << 20))
                .isEqualTo("000000010000000000000000");
        assertThat(WalArchive.isWalFileName("00000002.history")).isTrue();
        assertThat(WalArchive.isWalFileName("000000010000000000000002.00000028.backup"))
                .isTrue();
        assertThat(WalArchive.isWalFileName("000000010000000000000002.partial")).isTrue();
        assertThat(WalArchive.isWalFileName("../etc/passwd")).isFalse();
    }

    @Test
    void recoveryTargetsAreCheckedAndWrittenTheWayPostgresReadsThem() {
        Map<String, Object> meta = Map.of("stopTime", "2025-01-03T02:00:30Z");
        Settings time = Settings.builder()
                .set("restore-command", "drkit wal-fetch %f %p")
                .set("time", "2025-01-03T14:05:00Z")
                .build();
        assertThat(PostgresPhysicalTarget.recoverySettings(time, meta))
                .contains(
                        "restore_command = 'drkit wal-fetch %f %p'",
                        "recovery_target_time = '2025-01-03 14:05:00.000000+00:00'",
                        "recovery_target_action = 'promote'",
                        "recovery_target_timeline = 'latest'");
        Settings before =
                time.toBuilder().set("time", "2025-01-03T01:00:00+00:00").build();
        assertThatThrownBy(() -> PostgresPhysicalTarget.recoverySettings(before, meta))
                .isInstanceOf(ConfigException.class)
                .hasMessageContaining("restore an earlier backup");
        Settings two = time.toBuilder().set("immediate", "true").build();
        assertThatThrownBy(() -> PostgresPhysicalTarget.recoverySettings(two, meta))
                .isInstanceOf(ConfigException.class)
                .hasMessageContaining("at most one recovery target");
        Settings zone =
                time.toBuilder().set("time", "2025-01-03 15:05:00+01:00").build();
        assertThat(PostgresPhysicalTarget.recoverySettings(zone, meta))
                .contains("recovery_target_time = '2025-01-03 15:05:00.000000+01:00'");
        assertThatThrownBy(() -> PostgresPhysicalTarget.recoverySettings(
                        time.toBuilder().set("time", "yesterday").build(), meta))
                .isInstanceOf(ConfigException.class)
                .hasMessageContaining("not a timestamp");
        assertThat(PostgresPhysicalTarget.recoverySettings(time, meta))
                .as("archiving preserved by default")
                .noneMatch(l -> l.startsWith("archive_mode"));
        assertThat(PostgresPhysicalTarget.recoverySettings(
                        time.toBuilder().set("archive-mode", "off").build(), meta))
                .contains("archive_mode = 'off'");
    }
}
