package dev.drkit.postgres;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.drkit.CorruptDataException;
import dev.drkit.DestinationNotEmptyException;
import dev.drkit.DrException;
import dev.drkit.testkit.PostgresServer;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A custom-format dump restored through a JDBC connection only, against a real server. */
class JdbcRestoreIT {
    static PostgresServer pg;
    static byte[] dump;

    @BeforeAll
    static void seed(@TempDir Path dir) throws Exception {
        pg = PostgresServer.start();
        pg.createDatabase("source");
        pg.execute(
                "source",
                String.join(
                        "\n",
                        "CREATE SCHEMA app;",
                        "CREATE TABLE app.notes (id int PRIMARY KEY, body text, tags text[], at timestamptz);",
                        "INSERT INTO app.notes SELECT g, 'note ' || g || E'\\t;tab\\nline\\\\back é😀', "
                                + "ARRAY['a;b', NULL], '2026-01-01'::timestamptz + g * interval '1 min' "
                                + "FROM generate_series(1, 20000) g;",
                        "INSERT INTO app.notes VALUES (0, NULL, NULL, NULL);",
                        "CREATE SEQUENCE app.ids START 42;",
                        "SELECT nextval('app.ids');",
                        "CREATE FUNCTION app.shout(t text) RETURNS text AS $fn$ SELECT upper(t) || ';'; $fn$ "
                                + "LANGUAGE sql;",
                        "CREATE VIEW app.recent AS SELECT id, app.shout(body) AS loud FROM app.notes WHERE id > 19990;",
                        "COMMENT ON TABLE app.notes IS 'it''s; here';"));
        Path file = dir.resolve("source.dump");
        ProcessBuilder p = new ProcessBuilder(
                        pg.binDir().resolve("pg_dump").toString(),
                        "-Fc",
                        "-h",
                        "127.0.0.1",
                        "-p",
                        String.valueOf(pg.port()),
                        "-U",
                        PostgresServer.SUPERUSER,
                        "-f",
                        file.toString(),
                        "source")
                .redirectErrorStream(true)
                .redirectOutput(dir.resolve("pg_dump.log").toFile());
        p.environment().put("PGPASSWORD", pg.password());
        assertThat(p.start().waitFor())
                .as(Files.readString(dir.resolve("pg_dump.log")))
                .isZero();
        dump = Files.readAllBytes(file);
    }

    @AfterAll
    static void stop() {
        if (pg != null) {
            pg.close();
        }
    }

    private static PgTools tools() {
        return PgTools.find(pg.binDir().toString());
    }

    private static List<String> fingerprint(String db) throws SQLException {
        List<String> out = new ArrayList<>();
        try (Connection c = pg.connect(db);
                Statement s = c.createStatement()) {
            for (String q : List.of(
                    "SELECT md5(string_agg(n::text, '|' ORDER BY id)) FROM app.notes n",
                    "SELECT count(*) FROM app.notes",
                    "SELECT last_value FROM app.ids",
                    "SELECT string_agg(loud, '|' ORDER BY id) FROM app.recent",
                    "SELECT obj_description('app.notes'::regclass)")) {
                try (ResultSet r = s.executeQuery(q)) {
                    r.next();
                    out.add(r.getString(1));
                }
            }
        }
        return out;
    }

    @Test
    void aDumpRestoredThroughAConnectionIsTheSameDatabase() throws Exception {
        pg.createDatabase("viajdbc");
        try (Connection c = pg.connect("viajdbc")) {
            JdbcRestore.checkEmpty(c, "viajdbc", false);
            JdbcRestore.run(tools(), List.of(), false, new ByteArrayInputStream(dump), c, "database.dump");
            // the pooled connection comes back with the host's settings, not the script's
            try (Statement s = c.createStatement();
                    ResultSet r = s.executeQuery("SHOW search_path")) {
                r.next();
                assertThat(r.getString(1)).isEqualTo("\"$user\", public");
            }
        }
        assertThat(fingerprint("viajdbc")).isEqualTo(fingerprint("source")).doesNotContainNull();
    }

    @Test
    void aDatabaseWithTablesIsRefusedUnlessForcedAndThenReplaced() throws Exception {
        pg.createDatabase("busy");
        pg.execute("busy", "CREATE TABLE keep (id int); INSERT INTO keep VALUES (1);");
        try (Connection c = pg.connect("busy")) {
            assertThatThrownBy(() -> JdbcRestore.checkEmpty(c, "busy", false))
                    .isInstanceOf(DestinationNotEmptyException.class)
                    .hasMessageContaining("RestoreRequest.force");
        }
        pg.execute("busy", "CREATE SCHEMA app; CREATE TABLE app.notes (id int, junk text);");
        try (Connection c = pg.connect("busy")) {
            JdbcRestore.checkEmpty(c, "busy", true);
            JdbcRestore.run(tools(), List.of(), true, new ByteArrayInputStream(dump), c, "database.dump");
        }
        assertThat(fingerprint("busy")).isEqualTo(fingerprint("source"));
    }

    @Test
    void aFailingArchiveStreamStopsTheRestoreWithItsOwnError() throws Exception {
        pg.createDatabase("cut");
        InputStream failing = new InputStream() {
            int left = dump.length / 2;
            final InputStream in = new ByteArrayInputStream(dump);

            @Override
            public int read() throws IOException {
                if (left-- <= 0) {
                    throw new CorruptDataException("database.dump does not match its checksum");
                }
                return in.read();
            }
        };
        try (Connection c = pg.connect("cut")) {
            assertThatThrownBy(() -> JdbcRestore.run(tools(), List.of(), false, failing, c, "database.dump"))
                    .isInstanceOf(CorruptDataException.class)
                    .hasMessageContaining("checksum");
        }
    }

    @Test
    void aStatementTheServerRefusesStopsTheRestoreAndNamesIt() throws Exception {
        pg.createDatabase("clash");
        pg.execute("clash", "CREATE SCHEMA app;"); // the script's CREATE SCHEMA app fails
        try (Connection c = pg.connect("clash")) {
            assertThatThrownBy(() -> JdbcRestore.run(
                            tools(), List.of(), false, new ByteArrayInputStream(dump), c, "database.dump"))
                    .isInstanceOf(DrException.class)
                    .hasMessageContaining("CREATE SCHEMA app")
                    .hasMessageContaining("already exists");
        }
    }

    /**
     * The connection goes back to the host's pool: a forged archive's script that takes another role,
     * an advisory lock, or leaves a transaction open (RESET ALL ends none of them) would hand the
     * host a connection that runs as that role, holds the lock for as long as the pool keeps it, or
     * whose every later write waits in a transaction nobody commits.
     */
    @Test
    void aScriptThatTakesARoleAndLeavesATransactionOpenHandsBackAConnectionAsItCame() throws Exception {
        pg.createDatabase("pooled");
        pg.execute("postgres", "CREATE ROLE forged_role NOLOGIN");
        pg.execute("pooled", "GRANT ALL ON SCHEMA public TO forged_role");
        byte[] forged = new SyntheticPgDump(14)
                .statement(
                        1,
                        "COMMENT",
                        "x",
                        "SELECT pg_advisory_lock(4242);\nSET ROLE forged_role;\nBEGIN;\n"
                                + "CREATE TABLE public.inside (id int);\n")
                .bytes();
        try (Connection c = pg.connect("pooled")) {
            assertThatThrownBy(() -> JdbcRestore.run(
                            tools(), List.of(), false, new ByteArrayInputStream(forged), c, "database.dump"))
                    .isInstanceOf(CorruptDataException.class)
                    .hasMessageContaining("transaction");
            try (Statement s = c.createStatement()) {
                s.execute("CREATE TABLE public.after (id int)");
                try (ResultSet r = s.executeQuery("SELECT current_user")) {
                    r.next();
                    assertThat(r.getString(1)).isEqualTo(PostgresServer.SUPERUSER);
                }
            }
            try (Connection other = pg.connect("pooled");
                    Statement s = other.createStatement()) {
                try (ResultSet r = s.executeQuery("SELECT string_agg(relname, ',' ORDER BY relname) FROM pg_class "
                        + "WHERE relname IN ('inside', 'after')")) {
                    r.next();
                    assertThat(r.getString(1))
                            .as("tables another session sees: the host's write committed, the forged transaction's not")
                            .isEqualTo("after");
                }
                // while the host's connection is still open: the lock the script took went with the restore
                try (ResultSet r = s.executeQuery("SELECT pg_try_advisory_lock(4242)")) {
                    r.next();
                    assertThat(r.getBoolean(1))
                            .as("the script's advisory lock is free")
                            .isTrue();
                }
            }
        }
    }

    @Test
    void theRoleAPoolSetOnItsConnectionIsTheRoleItGetsBack() throws Exception {
        pg.createDatabase("pool_role");
        pg.execute("postgres", "CREATE ROLE pool_role NOLOGIN");
        byte[] harmless = new SyntheticPgDump(14)
                .statement(1, "COMMENT", "x", "SELECT 1;\n")
                .bytes();
        try (Connection c = pg.connect("pool_role")) {
            try (Statement s = c.createStatement()) {
                s.execute("SET ROLE pool_role"); // as a pool's init SQL does
            }
            JdbcRestore.run(tools(), List.of(), false, new ByteArrayInputStream(harmless), c, "database.dump");
            try (Statement s = c.createStatement();
                    ResultSet r = s.executeQuery("SELECT current_user, session_user")) {
                r.next();
                assertThat(r.getString(1)).isEqualTo("pool_role");
                assertThat(r.getString(2)).isEqualTo(PostgresServer.SUPERUSER);
            }
        }
    }
}
