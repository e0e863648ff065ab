package dev.drkit.postgres;

import static org.assertj.core.api.Assertions.assertThat;

import dev.drkit.BackupResult;
import dev.drkit.Capability;
import dev.drkit.RestoreRequest;
import dev.drkit.Settings;
import dev.drkit.TargetSpec;
import dev.drkit.testkit.BackupTargetContract;
import dev.drkit.testkit.PostgresServer;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The backup target contract for physical base backups of a real PostgreSQL 15 cluster; a
 * restored data directory is started and recovered to compare its data with the source's.
 */
class PostgresPhysicalTargetContractIT extends BackupTargetContract {
    private static final String LIVE = "a live cluster";
    /** What the comparison reads: every row of a table and of a second database. */
    private static final List<String> CONTENT = List.of(
            "SELECT md5(string_agg(t::text, '|' ORDER BY id)) FROM accounts t",
            "SELECT last_value FROM accounts_id_seq",
            "SELECT string_agg(datname, ',' ORDER BY datname) FROM pg_database");

    static PostgresServer pg;

    private List<String> expected;

    @BeforeAll
    static void startServer() throws Exception {
        // the backup stores the WAL it needs itself; no archive_command has to succeed
        pg = PostgresServer.start(Map.of("archive_mode", "on", "archive_command", "false"));
    }

    @AfterAll
    static void stopServer() {
        if (pg != null) {
            pg.close();
        }
    }

    @Override
    protected TargetSpec prepareSource(Path work) throws Exception {
        // a restored cluster runs as its owner, who must reach its data directory in here
        Files.setPosixFilePermissions(work, PosixFilePermissions.fromString("rwx--x--x"));
        pg.execute(
                "postgres",
                "DROP TABLE IF EXISTS accounts; CREATE TABLE accounts (id serial PRIMARY KEY, owner text, "
                        + "balance numeric(12,2)); INSERT INTO accounts (owner, balance) "
                        + "SELECT md5(i::text), i / 7.0 FROM generate_series(1, 3000) i");
        expected = content(pg);
        Settings settings =
                PhysicalChecks.physical(pg, work).set("wal-timeout", "60s").build();
        return new TargetSpec("cluster", PostgresPhysicalTargetProvider.TYPE, settings);
    }

    @Override
    protected Settings restoreOptions(String destination) {
        return Settings.builder()
                .set("to", destination)
                .set("stage-wal", "true")
                .set("immediate", "true")
                .build();
    }

    private static List<String> content(PostgresServer server) throws Exception {
        List<String> out = new ArrayList<>();
        try (Connection c = server.connect("postgres");
                Statement s = c.createStatement()) {
            for (String q : CONTENT) {
                try (ResultSet rs = s.executeQuery(q)) {
                    rs.next();
                    out.add(rs.getString(1));
                }
            }
        }
        return out;
    }

    @Override
    protected void assertRestored(String destination) throws Exception {
        try (PostgresServer restored = PostgresServer.startExisting(pg.binDir(), Path.of(destination), pg.password())) {
            restored.awaitRecoveryEnd(Duration.ofMinutes(2));
            assertThat(content(restored)).isEqualTo(expected);
        }
    }

    @Override
    protected void occupy(String destination) throws Exception {
        Files.createDirectories(Path.of(destination));
        Files.writeString(Path.of(destination, "PG_VERSION"), LIVE);
    }

    @Override
    protected void assertOccupiedUntouched(String destination) throws Exception {
        try (Stream<Path> s = Files.list(Path.of(destination))) {
            assertThat(s.map(p -> p.getFileName().toString())).containsExactly("PG_VERSION");
        }
        assertThat(Files.readString(Path.of(destination, "PG_VERSION"))).isEqualTo(LIVE);
    }

    @Override
    protected void assertNothingRestored(String destination) throws Exception {
        Path d = Path.of(destination);
        if (Files.exists(d, LinkOption.NOFOLLOW_LINKS)) {
            try (Stream<Path> s = Files.list(d)) {
                assertThat(s).isEmpty();
            }
        }
        try (Stream<Path> s = Files.list(d.getParent())) {
            assertThat(s.map(p -> p.getFileName().toString())).noneMatch(n -> n.contains("drkit"));
        }
    }

    @Override
    protected UnreachableSource unreachableSource() throws Exception {
        int port;
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            port = s.getLocalPort();
        }
        Settings settings = Settings.builder()
                .set("url", "jdbc:postgresql://127.0.0.1:" + port + "/postgres")
                .set("user", PostgresServer.SUPERUSER)
                .set("data-dir", work.resolve("no-cluster").toString())
                .build();
        return new UnreachableSource(
                new TargetSpec("cluster", PostgresPhysicalTargetProvider.TYPE, settings), "127.0.0.1:" + port);
    }

    private TargetSpec incremental() throws Exception {
        TargetSpec spec = prepareSource(work);
        return new TargetSpec(
                spec.name(),
                spec.type(),
                spec.settings().toBuilder().set("incremental", "true").build());
    }

    @Test
    void incrementalBackupRestoresTheSource() throws Exception {
        TargetSpec spec = incremental();
        kit.backup(spec);
        BackupResult second = kit.backup(spec);

        assertThat(second.manifest().parent()).isNotNull();
        kit.restore(new RestoreRequest(spec.name(), second.id(), restoreOptions(destination("incremental")), false));
        assertRestored(destination("incremental"));
    }

    /**
     * The usual disaster-recovery destination, an empty volume mounted where the data directory
     * goes: the restore deleted the mount point's tree and failed on a rename across devices.
     */
    @Test
    void aRestoreIntoAnEmptyMountedVolumeStartsAndHoldsTheSource() throws Exception {
        TargetSpec spec = prepareSource(work);
        BackupResult backup = kit.backup(spec);
        Tmpfs tmpfs = new Tmpfs();
        try {
            Path volume = tmpfs.mount(Path.of(destination("volume")), "256m");
            kit.restore(new RestoreRequest(spec.name(), backup.id(), restoreOptions(volume.toString()), false));
            assertRestored(volume.toString());
        } finally {
            tmpfs.unmountAll();
        }
    }

    @Test
    void incrementalBackupsAreDeclared() throws Exception {
        TargetSpec spec = incremental();
        kit.backup(spec);
        BackupResult second = kit.backup(spec);

        assertThat(second.manifest().parent()).isNotNull();
        assertThat(newTarget(spec).capabilities()).contains(Capability.INCREMENTAL);
    }
}
