package dev.drkit.postgres;

import static org.assertj.core.api.Assertions.assertThat;

import dev.drkit.BackupResult;
import dev.drkit.DrEvent;
import dev.drkit.DrKit;
import dev.drkit.DrListener;
import dev.drkit.Settings;
import dev.drkit.TargetSpec;
import dev.drkit.spi.support.FileTrees;
import dev.drkit.testkit.PostgresServer;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Block-level incrementals when the chain they would build on is broken. */
class IncrementalChainAttackIT {
    @TempDir
    Path dir;

    /**
     * The full backup an incremental takes files from is gone (deleted by hand, or lost): the
     * next incremental must not reference it again, or it could never be restored.
     */
    @Test
    void anIncrementalAfterItsChainLostABackupIsTakenInFull() throws Exception {
        try (PostgresServer pg = PhysicalChecks.startWithAccounts(
                "CREATE TABLE untouched AS SELECT i FROM generate_series(1, 20000) i;")) {
            Settings connection = PhysicalChecks.incremental(pg, dir);
            Path repo = dir.resolve("repo");
            try (DrKit kit = DrKit.builder().repository(repo.toString()).build()) {
                BackupResult full = kit.backup(new TargetSpec("db", "postgres", connection));
                Thread.sleep(2100); // mtime granularity: the next backup must see the files as older
                pg.execute("postgres", "UPDATE accounts SET owner = 'x' WHERE id % 100 = 0; CHECKPOINT;");
                BackupResult first = kit.backup(new TargetSpec("db", "postgres", connection));
                assertThat(first.manifest().kind()).isEqualTo("incremental");
                assertThat(first.manifest().parent()).isEqualTo(full.id());

                FileTrees.delete(repo.resolve("backups").resolve("db").resolve(full.id()));
                assertThat(repo.resolve("backups").resolve("db").resolve(full.id()))
                        .doesNotExist();

                pg.execute("postgres", "UPDATE accounts SET owner = 'y' WHERE id % 100 = 1; CHECKPOINT;");
                BackupResult next = kit.backup(new TargetSpec("db", "postgres", connection));
                assertThat(next.manifest().dependsOn()).doesNotContain(full.id());
                assertThat(next.manifest().parent()).isNotEqualTo(full.id());
                assertThat(String.join(
                                "\n",
                                Files.readAllLines(repo.resolve("backups")
                                        .resolve("db")
                                        .resolve(next.id())
                                        .resolve("manifest.json"))))
                        .doesNotContain(full.id());
                PhysicalChecks.assertRestores(kit, next.id(), pg, connection, "SELECT count(*) = 20000 FROM untouched");
            }
        }
    }

    /**
     * The page maps of the backup an incremental would build on are damaged (a byte flipped in
     * the repository): the next backup warns and is taken in full, instead of every incremental
     * failing, and it restores.
     */
    @Test
    void anIncrementalOverADamagedPageMapIsTakenInFull() throws Exception {
        try (PostgresServer pg = PhysicalChecks.startWithAccounts("")) {
            Settings connection = PhysicalChecks.incremental(pg, dir);
            Path repo = dir.resolve("repo");
            List<DrEvent> events = new CopyOnWriteArrayList<>();
            try (DrKit kit = kit(repo, events)) {
                BackupResult full = kit.backup(new TargetSpec("db", "postgres", connection));
                damage(repo, full.id(), "pagemap-0.bin");

                Thread.sleep(2100); // mtime granularity: the next backup must see the files as older
                pg.execute("postgres", "UPDATE accounts SET owner = 'x' WHERE id % 100 = 0; CHECKPOINT;");
                BackupResult next = kit.backup(new TargetSpec("db", "postgres", connection));
                assertThat(next.manifest().kind()).isEqualTo("full");
                assertThat(next.manifest().parent()).isNull();
                assertThat(events)
                        .filteredOn(e -> e.type() == DrEvent.Type.BACKUP_WARNING)
                        .anySatisfy(e -> assertThat(e.message())
                                .contains("page maps of backup " + full.id())
                                .contains("taking a full backup"));
                PhysicalChecks.assertRestores(
                        kit, next.id(), pg, connection, "SELECT count(*) = 200 FROM accounts WHERE owner = 'x'");
            }
        }
    }

    /**
     * A data tar of the full backup is damaged (a byte flipped in the repository): the synthetic
     * full due after the next incremental (setting 'max-chain' 1) fails on its checksum, a
     * warning of that incremental says so, and the backup after it is a full one. Before, the
     * failure was only logged, and every later incremental built on the chain that could no
     * longer be restored, past 'max-chain'.
     */
    @Test
    void aChainWhoseSyntheticFullFailsOnADamagedBackupIsNotBuiltOn() throws Exception {
        try (PostgresServer pg = PhysicalChecks.startWithAccounts("")) {
            Settings connection = PhysicalChecks.physical(pg, dir)
                    .set("incremental", "true")
                    .set("max-chain", "1")
                    .build();
            Path repo = dir.resolve("repo");
            List<DrEvent> events = new CopyOnWriteArrayList<>();
            try (DrKit kit = kit(repo, events)) {
                BackupResult full = kit.backup(new TargetSpec("db", "postgres", connection));
                damage(repo, full.id(), "data-0.tar");

                pg.execute("postgres", "UPDATE accounts SET owner = 'x' WHERE id % 100 = 0; CHECKPOINT;");
                BackupResult incremental = kit.backup(new TargetSpec("db", "postgres", connection));
                assertThat(incremental.manifest().kind()).isEqualTo("incremental");
                assertThat(kit.list("db")).hasSize(2); // no synthetic full
                assertThat(warnings(events))
                        .singleElement()
                        .asString()
                        .contains("synthetic full backup after " + incremental.id() + " failed");

                BackupResult next = kit.backup(new TargetSpec("db", "postgres", connection));
                assertThat(next.manifest().kind()).isEqualTo("full");
                assertThat(next.manifest().parent()).isNull();
                assertThat(warnings(events))
                        .last()
                        .asString()
                        .contains("no synthetic full backup followed backup " + incremental.id());
            }
        }
    }

    /** A kit on {@code repo} that adds the events of its operations to {@code events}. */
    private static DrKit kit(Path repo, List<DrEvent> events) {
        return DrKit.builder()
                .repository(repo.toString())
                .listener(new DrListener() {
                    @Override
                    public void onEvent(DrEvent event) {
                        events.add(event);
                    }
                })
                .build();
    }

    private static List<String> warnings(List<DrEvent> events) {
        return events.stream()
                .filter(e -> e.type() == DrEvent.Type.BACKUP_WARNING)
                .map(DrEvent::message)
                .toList();
    }

    /** Flips a byte in the middle of the stored artifact of backup {@code id} whose name starts with {@code name}. */
    private static void damage(Path repo, String id, String name) throws IOException {
        Path stored;
        try (Stream<Path> files =
                Files.list(repo.resolve("backups").resolve("db").resolve(id))) {
            stored = files.filter(p -> p.getFileName().toString().startsWith(name)
                            && !p.getFileName().toString().endsWith(".sha256"))
                    .findFirst()
                    .orElseThrow();
        }
        byte[] bytes = Files.readAllBytes(stored);
        bytes[bytes.length / 2] ^= 0x20;
        Files.write(stored, bytes);
    }
}
