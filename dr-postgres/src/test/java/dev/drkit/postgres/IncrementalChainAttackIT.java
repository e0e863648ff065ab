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
            try (DrKit kit = DrKit.builder()
                    .repository(repo.toString())
                    .listener(new DrListener() {
                        @Override
                        public void onEvent(DrEvent event) {
                            events.add(event);
                        }
                    })
                    .build()) {
                BackupResult full = kit.backup(new TargetSpec("db", "postgres", connection));
                Path map;
                try (Stream<Path> files =
                        Files.list(repo.resolve("backups").resolve("db").resolve(full.id()))) {
                    map = files.filter(p -> p.getFileName().toString().startsWith("pagemap-0.bin")
                                    && !p.getFileName().toString().endsWith(".sha256"))
                            .findFirst()
                            .orElseThrow();
                }
                byte[] bytes = Files.readAllBytes(map);
                bytes[bytes.length / 2] ^= 0x20;
                Files.write(map, bytes);

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
}
