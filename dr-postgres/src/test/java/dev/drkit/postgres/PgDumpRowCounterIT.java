package dev.drkit.postgres;

import static org.assertj.core.api.Assertions.assertThat;

import dev.drkit.postgres.PgDumpRowCounter.Table;
import dev.drkit.testkit.PostgresServer;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The row counter on archives the installed pg_dump writes, against count(*). */
class PgDumpRowCounterIT {
    static PostgresServer pg;
    static final String DB = "rows";

    static final String SCHEMA = String.join(
            "\n",
            "CREATE TABLE empty (id int);",
            "CREATE TABLE texts (id int, body text, note text);",
            "INSERT INTO texts VALUES (1, E'two\\nlines', E'tab\\there'), (2, E'back\\\\slash', NULL),",
            "  (3, E'\\\\.', ''), (4, E'\\r\\n', E'\\\\N'), (5, NULL, NULL), (6, '', ''), (7, E'end\\n', 'x');",
            "CREATE TABLE single_text (t text);",
            "INSERT INTO single_text VALUES (''), (''), (NULL), (E'\\\\.');",
            "CREATE TABLE measurements (id int, at date, v numeric) PARTITION BY RANGE (at);",
            "CREATE TABLE measurements_2024 PARTITION OF measurements FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');",
            "CREATE TABLE measurements_2025 PARTITION OF measurements FOR VALUES FROM ('2025-01-01') TO ('2026-01-01')",
            "  PARTITION BY RANGE (id);",
            "CREATE TABLE measurements_2025_low PARTITION OF measurements_2025 FOR VALUES FROM (0) TO (500);",
            "CREATE TABLE measurements_2025_high PARTITION OF measurements_2025 FOR VALUES FROM (500) TO (MAXVALUE);",
            "CREATE TABLE measurements_rest PARTITION OF measurements DEFAULT;",
            "INSERT INTO measurements SELECT i, date '2024-06-01' + (i % 900), i / 7.0 FROM generate_series(1, 3000) i;",
            "CREATE SCHEMA \"Weird Schema\";",
            "CREATE TABLE \"Weird Schema\".\"Mixed Case\" (\"Odd \"\"Col\"\"\" text);",
            "INSERT INTO \"Weird Schema\".\"Mixed Case\" SELECT 'v' || i FROM generate_series(1, 42) i;",
            "CREATE TABLE parent (id int, body text);",
            "CREATE TABLE child (extra int) INHERITS (parent);",
            "INSERT INTO parent SELECT i, 'p' FROM generate_series(1, 10) i;",
            "INSERT INTO child SELECT i, 'c', i FROM generate_series(1, 25) i;",
            "CREATE UNLOGGED TABLE scratchpad (id int);",
            "INSERT INTO scratchpad SELECT generate_series(1, 5);",
            "CREATE MATERIALIZED VIEW mv AS SELECT * FROM texts;",
            "SELECT lo_from_bytea(0, convert_to(E'line\\nline\\n\\\\.\\n', 'UTF8'));",
            "SELECT lo_from_bytea(0, decode(repeat('0a', 70000), 'hex'));",
            "CREATE TABLE big (id bigint, payload text);",
            "INSERT INTO big SELECT i, md5(i::text) || E'\\n' || repeat('x', i % 300) FROM generate_series(1, 100000) i;");

    @BeforeAll
    static void startServer() throws Exception {
        pg = PostgresServer.start();
        pg.createDatabase(DB);
        pg.execute(DB, SCHEMA);
    }

    @AfterAll
    static void stopServer() {
        if (pg != null) {
            pg.close();
        }
    }

    /** Runs the installed pg_dump as drkit does and streams its archive into {@code out}. */
    static void dump(OutputStream out) throws IOException, InterruptedException {
        dump(DB, out);
    }

    static void dump(String database, OutputStream out) throws IOException, InterruptedException {
        ProcessBuilder pb = new ProcessBuilder(
                        pg.binDir().resolve("pg_dump").toString(),
                        "--format=custom",
                        "--compress=0",
                        "--no-password",
                        "-h",
                        "127.0.0.1",
                        "-p",
                        String.valueOf(pg.port()),
                        "-U",
                        PostgresServer.SUPERUSER,
                        database)
                .redirectError(ProcessBuilder.Redirect.INHERIT);
        pb.environment().put("PGPASSWORD", pg.password());
        Process p = pb.start();
        p.getOutputStream().close();
        try (InputStream in = p.getInputStream()) {
            in.transferTo(out);
        }
        assertThat(p.waitFor()).as("pg_dump's exit code").isZero();
        out.close();
    }

    /** count(*) of each table that holds rows itself, by schema and name. */
    private static Map<Table, Long> leafCounts(Connection c) throws Exception {
        Map<Table, Long> counts = new LinkedHashMap<>();
        try (Statement s = c.createStatement();
                ResultSet rs = s.executeQuery("SELECT n.nspname, c.relname, quote_ident(n.nspname) || '.' || "
                        + "quote_ident(c.relname) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                        + "WHERE c.relkind = 'r' AND n.nspname NOT IN ('pg_catalog', 'information_schema') "
                        + "AND n.nspname NOT LIKE 'pg_toast%'")) {
            while (rs.next()) {
                try (Statement q = c.createStatement();
                        ResultSet n = q.executeQuery("SELECT count(*) FROM ONLY " + rs.getString(3))) {
                    n.next();
                    counts.put(new Table(rs.getString(1), rs.getString(2)), n.getLong(1));
                }
            }
        }
        return counts;
    }

    /** What drkit recorded before it counted from the archive: count(*) of every table that is no partition. */
    static Map<String, Long> countStarOfEveryTable(Connection c) throws Exception {
        Map<String, Long> counts = new LinkedHashMap<>();
        try (Statement s = c.createStatement();
                ResultSet rs =
                        s.executeQuery("SELECT quote_ident(n.nspname) || '.' || quote_ident(c.relname) FROM pg_class c "
                                + "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind IN ('r', 'p') "
                                + "AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_toast%' "
                                + "AND n.nspname NOT LIKE 'pg_temp%' AND NOT c.relispartition ORDER BY 1")) {
            while (rs.next()) {
                try (Statement q = c.createStatement();
                        ResultSet n = q.executeQuery("SELECT count(*) FROM " + rs.getString(1))) {
                    n.next();
                    counts.put(rs.getString(1), n.getLong(1));
                }
            }
        }
        return counts;
    }

    @Test
    void countsEveryTableOfARealArchiveExactly() throws Exception {
        ByteArrayOutputStream archive = new ByteArrayOutputStream();
        PgDumpRowCounter counter = new PgDumpRowCounter(archive);
        dump(counter);

        assertThat(counter.failure()).isNull();
        try (Connection c = pg.connect(DB)) {
            Map<Table, Long> expected = leafCounts(c);
            assertThat(expected)
                    .containsEntry(new Table("public", "big"), 100_000L)
                    .containsEntry(new Table("public", "empty"), 0L)
                    .containsEntry(new Table("public", "texts"), 7L)
                    .containsEntry(new Table("public", "single_text"), 4L)
                    .containsEntry(new Table("Weird Schema", "Mixed Case"), 42L)
                    .containsEntry(new Table("public", "measurements_2025_low"), 286L);
            assertThat(counter.rows()).contains(expected);
        }

        // the same bytes in writes of every size count the same
        byte[] bytes = archive.toByteArray();
        for (int step : new int[] {1, 3, 4096, 65_537}) {
            PgDumpRowCounter again = new PgDumpRowCounter(OutputStream.nullOutputStream());
            for (int i = 0; i < bytes.length; i += step) {
                again.write(bytes, i, Math.min(step, bytes.length - i));
            }
            again.close();
            assertThat(again.rows()).as("step %d", step).isEqualTo(counter.rows());
        }
    }

    @Test
    void snapshotCountsHaveTheKeysAndNumbersOfCountStarOnEveryTable() throws Exception {
        PgDumpRowCounter counter = new PgDumpRowCounter(OutputStream.nullOutputStream());
        dump(counter);
        try (Connection c = pg.connect(DB)) {
            Map<String, Long> expected = countStarOfEveryTable(c);
            assertThat(expected)
                    .containsEntry("public.measurements", 3000L)
                    .containsEntry("public.parent", 35L)
                    .containsEntry("public.child", 25L)
                    .containsEntry("\"Weird Schema\".\"Mixed Case\"", 42L)
                    .doesNotContainKey("public.measurements_2024");
            SnapshotRowCounts plan = SnapshotRowCounts.plan(c, "UTF8");
            Map<String, Long> counted = plan.count(c, counter);
            assertThat(counted).containsExactlyEntriesOf(expected);
            assertThat(List.copyOf(counted.keySet())).isEqualTo(List.copyOf(expected.keySet()));
        }
    }

    @Test
    void countsComeFromTheArchiveAndOnlyTablesItDoesNotHoldAreCountedInTheDatabase() throws Exception {
        // an archive that holds two rows of texts, a partition of measurements and nothing else
        byte[] archive = new SyntheticPgDump(14)
                .entry(1, "TABLE DATA", "public", "texts", true)
                .entry(2, "TABLE DATA", "public", "measurements_2024", true)
                .data(1, "1\tone\t\\N\n", "2\ttwo\t\\N\n", "\\.\n\n\n")
                .data(2, "1\t2024-06-02\t1\n", "\\.\n\n\n")
                .bytes();
        PgDumpRowCounter counter = new PgDumpRowCounter(OutputStream.nullOutputStream());
        counter.write(archive, 0, archive.length);
        counter.close();
        try (Connection c = pg.connect(DB)) {
            Map<String, Long> counted = SnapshotRowCounts.plan(c, "UTF8").count(c, counter);
            Map<String, Long> inDatabase = countStarOfEveryTable(c);
            assertThat(counted).containsEntry("public.texts", 2L);
            // the other partitions are not in the archive: the whole partitioned table is counted in the database
            assertThat(counted).containsEntry("public.measurements", 3000L);
            inDatabase.remove("public.texts");
            assertThat(counted).containsAllEntriesOf(inDatabase);
        }
    }

    @Test
    void inADatabaseThatIsNotUtf8TablesWithOtherThanAsciiNamesAreCountedInTheDatabase() throws Exception {
        String latin1 = "latin1_rows";
        pg.execute(
                "postgres",
                "CREATE DATABASE " + latin1 + " ENCODING 'LATIN1' LC_COLLATE 'C' LC_CTYPE 'C' TEMPLATE template0");
        pg.execute(
                latin1,
                "CREATE TABLE plain (v text); INSERT INTO plain SELECT 'x' || i FROM generate_series(1, 12) i;\n"
                        + "CREATE TABLE \"B\u00e4ume\" (v text); INSERT INTO \"B\u00e4ume\" SELECT '\u00e4' FROM generate_series(1, 7);");
        PgDumpRowCounter counter = new PgDumpRowCounter(OutputStream.nullOutputStream());
        dump(latin1, counter);
        // the archive's names are in LATIN1: the one with a non-ASCII name does not decode
        assertThat(counter.rows()).contains(Map.of(new Table("public", "plain"), 12L));
        try (Connection c = pg.connect(latin1)) {
            assertThat(SnapshotRowCounts.plan(c, "LATIN1").count(c, counter))
                    .containsExactlyEntriesOf(countStarOfEveryTable(c))
                    .containsEntry("public.\"B\u00e4ume\"", 7L);
        }
    }

    @Test
    void aGarbledArchiveFallsBackToCountingInTheDatabase() throws Exception {
        ByteArrayOutputStream archive = new ByteArrayOutputStream();
        dump(archive);
        byte[] garbled = archive.toByteArray();
        garbled[0] = 'X';
        PgDumpRowCounter counter = new PgDumpRowCounter(OutputStream.nullOutputStream());
        counter.write(garbled, 0, garbled.length / 2); // and truncated
        counter.close();
        assertThat(counter.rows()).isEmpty();
        try (Connection c = pg.connect(DB)) {
            assertThat(SnapshotRowCounts.plan(c, "UTF8").count(c, counter))
                    .containsExactlyEntriesOf(countStarOfEveryTable(c));
        }
    }
}
