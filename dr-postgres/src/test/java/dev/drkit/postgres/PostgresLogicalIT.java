package dev.drkit.postgres;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.drkit.BackupManifest;
import dev.drkit.BackupResult;
import dev.drkit.Capability;
import dev.drkit.DestinationNotEmptyException;
import dev.drkit.DrException;
import dev.drkit.DrKit;
import dev.drkit.RestoreRequest;
import dev.drkit.Settings;
import dev.drkit.TargetSpec;
import dev.drkit.UnsafeArchiveException;
import dev.drkit.VerificationResult;
import dev.drkit.VerifyLevel;
import dev.drkit.VerifyReport;
import dev.drkit.internal.repo.ManifestCodec;
import dev.drkit.spi.BackupContext;
import dev.drkit.spi.BackupTarget;
import dev.drkit.spi.BackupTargetProvider;
import dev.drkit.spi.RestoreContext;
import dev.drkit.spi.support.Json;
import dev.drkit.testkit.PostgresServer;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class PostgresLogicalIT {
    static PostgresServer pg;

    @TempDir
    Path dir;

    Path passwordFile;
    DrKit kit;

    static final String SCHEMA = String.join(
            "\n",
            "CREATE SCHEMA sales;",
            "CREATE TABLE companies (id bigserial PRIMARY KEY, name text NOT NULL UNIQUE, founded date,",
            "  revenue numeric(18,2), tags text[], profile jsonb, logo bytea);",
            "CREATE TABLE filings (id serial PRIMARY KEY, company_id bigint NOT NULL REFERENCES companies(id) ON DELETE CASCADE,",
            "  kind text, filed_at timestamptz DEFAULT now(), amount numeric);",
            "CREATE INDEX filings_company ON filings(company_id);",
            "CREATE INDEX companies_profile ON companies USING gin (profile);",
            "CREATE TABLE sales.orders (id int GENERATED ALWAYS AS IDENTITY PRIMARY KEY, company_id bigint REFERENCES companies(id),",
            "  total numeric(12,2));",
            "CREATE VIEW company_filings AS SELECT c.name, count(f.id) AS filings FROM companies c",
            "  LEFT JOIN filings f ON f.company_id = c.id GROUP BY c.name;",
            "INSERT INTO companies (name, founded, revenue, tags, profile, logo)",
            "  SELECT 'company ' || i, date '2000-01-01' + i, i * 1000.5, ARRAY['tag' || (i % 7), 'x'],",
            "  jsonb_build_object('employees', i, 'hq', 'city ' || (i % 13)), decode(md5(i::text), 'hex')",
            "  FROM generate_series(1, 2000) i;",
            "INSERT INTO filings (company_id, kind, amount) SELECT 1 + (i % 2000), 'kind ' || (i % 5), i / 3.0",
            "  FROM generate_series(1, 10000) i;",
            "INSERT INTO sales.orders (company_id, total) SELECT 1 + (i % 2000), i * 2.5 FROM generate_series(1, 3000) i;");

    @BeforeAll
    static void startServer() throws Exception {
        pg = PostgresServer.start();
    }

    @AfterAll
    static void stopServer() {
        if (pg != null) {
            pg.close();
        }
    }

    @BeforeEach
    void setUp() throws Exception {
        passwordFile = pg.passwordFile(dir);
        kit = DrKit.builder().repository(dir.resolve("repo").toString()).build();
    }

    private String freshDatabase() throws Exception {
        String db = "intel_" + Long.toHexString(System.nanoTime());
        pg.createDatabase(db);
        pg.execute(db, SCHEMA);
        return db;
    }

    private Settings connection(String db) {
        return Settings.builder()
                .set("url", pg.jdbcUrl(db))
                .set("user", PostgresServer.SUPERUSER)
                .set("password-file", passwordFile.toString())
                .set("bin-dir", pg.binDir().toString())
                .build();
    }

    private Settings restoreTo(String db) {
        return connection("postgres").toBuilder().set("to-database", db).build();
    }

    private static long count(Connection c, String sql) throws Exception {
        try (Statement s = c.createStatement();
                ResultSet rs = s.executeQuery(sql)) {
            rs.next();
            return rs.getLong(1);
        }
    }

    @Test
    void aRestoreFindsTheServerTheBackupRecordedWithoutBeingToldAgain() throws Exception {
        String db = freshDatabase();
        BackupResult b = kit.backup(new TargetSpec("intel", "postgres-logical", connection(db)));
        assertThat(b.manifest().metadata())
                .containsEntry("server", "jdbc:postgresql://127.0.0.1:" + pg.port() + "/" + db)
                .containsEntry("user", PostgresServer.SUPERUSER);
        assertThat(b.manifest().metadata().toString()).doesNotContain(pg.password());

        // only where to and the password: no url, no user
        kit.restore(new RestoreRequest(
                "intel",
                b.id(),
                Settings.builder()
                        .set("to-database", db + "_here")
                        .set("password-file", passwordFile.toString())
                        .set("bin-dir", pg.binDir().toString())
                        .build(),
                false));
        try (Connection c = pg.connect(db + "_here")) {
            assertThat(count(c, "SELECT count(*) FROM companies")).isEqualTo(2000);
        }
    }

    @Test
    void dumpsOfAChangingDatabaseDeduplicateAndRestoreExactly() throws Exception {
        String db = freshDatabase();
        pg.execute(
                db,
                "INSERT INTO filings (company_id, kind, amount) SELECT 1 + (i % 2000), repeat('k', 200), i "
                        + "FROM generate_series(1, 240000) i");
        Settings deduped = connection(db).toBuilder().set("dedup", "true").build();
        BackupResult first = kit.backup(new TargetSpec("intel", "postgres-logical", deduped));
        // 1% of the rows, in one stretch: the chunks before and after it must be stored once
        String changed = "id BETWEEN 120001 AND 122500";
        pg.execute(db, "UPDATE filings SET amount = amount + 1 WHERE " + changed);
        BackupResult second = kit.backup(new TargetSpec("intel", "postgres-logical", deduped));
        assertThat(second.manifest().artifacts().get(0).storedName()).endsWith(".chunks");
        @SuppressWarnings("unchecked")
        Map<String, Object> dedup =
                (Map<String, Object>) second.manifest().metadata().get(BackupManifest.DEDUP);
        long chunks = ((Number) dedup.get("chunks")).longValue();
        long newChunks = ((Number) dedup.get("new-chunks")).longValue();
        System.out.println("dedup of the second dump: " + dedup);
        // the updated rows leave the middle of the table and land at its end, and the dump's
        // header changes: a few chunks around each of those three places are new, no more
        assertThat(chunks).isGreaterThanOrEqualTo(20);
        assertThat(newChunks).isLessThanOrEqualTo(chunks / 4);
        assertThat(kit.verify("intel", second.id(), VerifyLevel.DECODE).passed())
                .isTrue();

        for (BackupResult b : List.of(first, second)) {
            String copy = db + "_dedup_" + b.id().substring(b.id().length() - 6);
            kit.restore(new RestoreRequest("intel", b.id(), restoreTo(copy), false));
            try (Connection c = pg.connect(copy);
                    Connection live = pg.connect(db)) {
                assertThat(count(c, "SELECT count(*) FROM filings")).isEqualTo(250000);
                long expected = b == second
                        ? count(live, "SELECT sum(amount)::bigint FROM filings")
                        : count(
                                live,
                                "SELECT sum(amount)::bigint - count(*) FILTER (WHERE " + changed + ") FROM filings");
                assertThat(count(c, "SELECT sum(amount)::bigint FROM filings")).isEqualTo(expected);
            }
        }
    }

    @Test
    void roundTripIntoANewDatabaseKeepsTypesIndexesSequencesViewsAndKeys() throws Exception {
        String db = freshDatabase();
        BackupResult b = kit.backup(new TargetSpec("intel", "postgres-logical", connection(db)));

        @SuppressWarnings("unchecked")
        Map<String, Object> counts =
                (Map<String, Object>) b.manifest().metadata().get("rowCounts");
        assertThat(counts)
                .containsEntry("public.companies", 2000L)
                .containsEntry("public.filings", 10000L)
                .containsEntry("sales.orders", 3000L);
        assertThat(b.manifest().metadata()).containsKeys("serverVersion", "databaseSize", "encoding");
        assertThat(b.manifest().metadata().get("encoding")).isEqualTo("UTF8");

        kit.restore(new RestoreRequest("intel", b.id(), restoreTo(db + "_copy"), false));
        try (Connection c = pg.connect(db + "_copy")) {
            assertThat(count(c, "SELECT count(*) FROM companies")).isEqualTo(2000);
            assertThat(count(c, "SELECT count(*) FROM sales.orders")).isEqualTo(3000);
            assertThat(count(c, "SELECT sum(filings) FROM company_filings")).isEqualTo(10000);
            assertThat(count(c, "SELECT (profile->>'employees')::int FROM companies WHERE name = 'company 42'"))
                    .isEqualTo(42);
            assertThat(count(
                            c,
                            "SELECT count(*) FROM companies WHERE logo = decode(md5('7'), 'hex') AND tags[1] = 'tag0'"))
                    .isEqualTo(1);
            assertThat(
                            count(
                                    c,
                                    "SELECT count(*) FROM pg_indexes WHERE indexname IN ('filings_company', 'companies_profile')"))
                    .isEqualTo(2);
            assertThat(count(c, "SELECT count(*) FROM pg_constraint WHERE contype = 'f'"))
                    .isEqualTo(2);
            // sequences continue where they were
            assertThat(count(c, "INSERT INTO companies (name) VALUES ('new') RETURNING id"))
                    .isEqualTo(2001);
        }
    }

    @Test
    void existingDatabaseNeedsForceAndFailedRestoreDropsANewOne() throws Exception {
        String db = freshDatabase();
        BackupResult b = kit.backup(new TargetSpec("intel", "postgres-logical", connection(db)));
        assertThatThrownBy(() -> kit.restore(new RestoreRequest("intel", b.id(), restoreTo(db), false)))
                .isInstanceOf(DestinationNotEmptyException.class)
                .hasMessageContaining("RestoreRequest.force");

        // a corrupted archive: the new database is dropped again
        var artifact = b.manifest().artifacts().get(0);
        Path stored = dir.resolve("repo/backups/intel/" + b.id() + "/" + artifact.storedName());
        byte[] data = Files.readAllBytes(stored);
        data[data.length / 2] ^= 0x10;
        Files.write(stored, data);
        assertThatThrownBy(() -> kit.restore(new RestoreRequest("intel", b.id(), restoreTo(db + "_broken"), false)))
                .isInstanceOf(DrException.class);
        assertThat(pg.databases()).doesNotContain(db + "_broken");
        assertThat(kit.verify("intel", b.id(), VerifyLevel.CHECKSUM).passed()).isFalse();
    }

    @Test
    void selectiveRestoreOfOneTableAfterDropCascade() throws Exception {
        String db = freshDatabase();
        BackupResult b = kit.backup(new TargetSpec("intel", "postgres-logical", connection(db)));
        pg.execute(db, "DROP TABLE filings CASCADE");

        kit.restore(new RestoreRequest(
                "intel",
                b.id(),
                restoreTo(db).toBuilder().add("table", "filings").build(),
                true));
        try (Connection c = pg.connect(db)) {
            assertThat(count(c, "SELECT count(*) FROM filings")).isEqualTo(10000);
            assertThat(count(c, "SELECT count(*) FROM companies")).isEqualTo(2000);
        }
    }

    @Test
    void restoreTestComparesRowCountsRunsValidationsAndLeavesNoScratchDatabase() throws Exception {
        String db = freshDatabase();
        BackupResult b = kit.backup(new TargetSpec("intel", "postgres-logical", connection(db)));
        Settings scratch = connection("postgres").toBuilder()
                .add("validate", "SELECT COUNT(*) FROM companies")
                .add("validate", "SELECT count(*) > 1000 FROM filings")
                .build();

        VerifyReport report = kit.verify("intel", b.id(), VerifyLevel.RESTORE, scratch);
        assertThat(report.problems()).isEmpty();
        assertThat(report.results())
                .extracting(VerificationResult::verifier)
                .containsExactly("checksum", "checksum-files", "decode", "pg-archive", "pg-restore-test");
        VerificationResult restoreTest = report.results().get(4);
        assertThat(restoreTest.details()).containsEntry("tablesCompared", 3).containsKey("restoreSeconds");
        assertThat(pg.databases()).noneMatch(d -> d.startsWith("drkit_verify_"));

        Settings failing = connection("postgres").toBuilder()
                .add("validate", "SELECT COUNT(*) FROM companies WHERE false")
                .build();
        assertThat(kit.verify("intel", b.id(), VerifyLevel.RESTORE, failing).problems())
                .anyMatch(p -> p.contains("validation query returned 0"));
    }

    @Test
    void restoreTestCatchesABackupWhoseDataDoesNotMatchItsManifest() throws Exception {
        String db = freshDatabase();
        BackupResult b = kit.backup(new TargetSpec("intel", "postgres-logical", connection(db)));
        // tamper: the manifest now claims data the archive does not hold
        Path manifest = dir.resolve("repo/backups/intel/" + b.id() + "/manifest.json");
        BackupManifest m = Json.read(Files.readAllBytes(manifest), BackupManifest.class);
        Map<String, Object> meta = new LinkedHashMap<>(m.metadata());
        meta.put("rowCounts", Map.of("public.companies", 2001, "public.filings", 10000, "sales.orders", 3000));
        Files.delete(manifest);
        byte[] forged = Json.write(new BackupManifest(
                m.format(),
                m.id(),
                m.target(),
                m.type(),
                m.kind(),
                m.parent(),
                m.dependsOn(),
                m.startedAt(),
                m.finishedAt(),
                m.drkitVersion(),
                m.host(),
                m.artifacts(),
                meta));
        Files.write(manifest, forged);
        // with its checksum file fixed up, as an attacker would: only the restore test can tell
        Path checksum = manifest.resolveSibling("manifest.json.sha256");
        Files.delete(checksum);
        Files.write(checksum, ManifestCodec.checksumFile(forged, "manifest.json"));

        VerifyReport report = kit.verify("intel", b.id(), VerifyLevel.RESTORE, connection("postgres"));
        assertThat(report.passed()).isFalse();
        assertThat(report.problems())
                .anyMatch(p -> p.contains("public.companies has 2000 rows after restore but 2001"));
        assertThat(pg.databases()).noneMatch(d -> d.startsWith("drkit_verify_"));
    }

    static final String TREES = String.join(
            "\n",
            "CREATE TABLE events (id int, at date, body text) PARTITION BY RANGE (at);",
            "CREATE TABLE events_a PARTITION OF events FOR VALUES FROM ('2024-01-01') TO ('2024-07-01');",
            "CREATE TABLE events_b PARTITION OF events FOR VALUES FROM ('2024-07-01') TO ('2025-01-01');",
            "CREATE TABLE events_c PARTITION OF events DEFAULT;",
            "INSERT INTO events SELECT i, date '2024-01-01' + (i % 500), E'line\\n' || i FROM generate_series(1, 1234) i;",
            "CREATE TABLE base (id int);",
            "CREATE TABLE derived (more text) INHERITS (base);",
            "INSERT INTO base SELECT generate_series(1, 5);",
            "INSERT INTO derived SELECT i, E'back\\\\slash\\ttab' FROM generate_series(1, 8) i;",
            "CREATE SCHEMA \"Weird Schema\";",
            "CREATE TABLE \"Weird Schema\".\"Mixed Case\" (v text);",
            "INSERT INTO \"Weird Schema\".\"Mixed Case\" VALUES (''), (NULL), (E'\\\\.');",
            "CREATE TABLE nothing (id int);");

    @SuppressWarnings("unchecked")
    private static Map<String, Object> rowCounts(BackupResult b) {
        return (Map<String, Object>) b.manifest().metadata().get("rowCounts");
    }

    private static final Map<String, Long> TREE_COUNTS = Map.of(
            "public.events", 1234L,
            "public.base", 13L,
            "public.derived", 8L,
            "\"Weird Schema\".\"Mixed Case\"", 3L,
            "public.nothing", 0L,
            "public.companies", 2000L);

    @Test
    void rowCountsOfPartitionedInheritedAndQuotedTablesPassTheRestoreTest() throws Exception {
        String db = freshDatabase();
        pg.execute(db, TREES);
        BackupResult b = kit.backup(new TargetSpec("intel", "postgres-logical", connection(db)));

        assertThat(rowCounts(b)).containsAllEntriesOf(TREE_COUNTS).doesNotContainKey("public.events_a");
        assertThat(b.manifest().metadata()).containsEntry("tables", 8);
        VerifyReport report = kit.verify("intel", b.id(), VerifyLevel.RESTORE, connection("postgres"));
        assertThat(report.problems()).isEmpty();
        assertThat(report.results().get(4).details()).containsEntry("tablesCompared", 8);
    }

    @Test
    void anArchiveTheCounterDoesNotReadIsCountedInTheSnapshotInstead() throws Exception {
        // a pg_dump that compresses although told not to: the archive is valid, but no COPY text
        Path bin = Files.createDirectories(dir.resolve("bin"));
        for (String tool : new String[] {"pg_restore", "psql", "pg_dumpall"}) {
            Path wrapper = bin.resolve(tool);
            Files.writeString(wrapper, "#!/bin/sh\nexec " + pg.binDir().resolve(tool) + " \"$@\"\n");
            Files.setPosixFilePermissions(wrapper, PosixFilePermissions.fromString("rwx------"));
        }
        Path pgDump = bin.resolve("pg_dump");
        Files.writeString(
                pgDump,
                "#!/bin/bash\nargs=()\nfor a in \"$@\"; do [ \"$a\" = --compress=0 ] && a=--compress=6; args+=(\"$a\"); done\n"
                        + "exec " + pg.binDir().resolve("pg_dump") + " \"${args[@]}\"\n");
        Files.setPosixFilePermissions(pgDump, PosixFilePermissions.fromString("rwx------"));
        String db = freshDatabase();
        pg.execute(db, TREES);

        BackupResult b = kit.backup(new TargetSpec(
                "intel",
                "postgres-logical",
                connection(db).toBuilder().set("bin-dir", bin.toString()).build()));

        assertThat(rowCounts(b)).containsAllEntriesOf(TREE_COUNTS);
        VerifyReport report = kit.verify("intel", b.id(), VerifyLevel.RESTORE, connection("postgres"));
        assertThat(report.problems()).isEmpty();
        assertThat(report.results().get(4).details()).containsEntry("tablesCompared", 8);
    }

    @Test
    void wrongPasswordFailsClearlyWithoutLeakingItAndRecordsNoBackup() throws Exception {
        String db = freshDatabase();
        Path wrong = Files.writeString(dir.resolve("wrong-password"), "not-the-password-xyz\n");
        Files.setPosixFilePermissions(wrong, PosixFilePermissions.fromString("rw-------"));
        Settings s = connection(db).toBuilder()
                .set("password-file", wrong.toString())
                .build();

        assertThatThrownBy(() -> kit.backup(new TargetSpec("intel", "postgres-logical", s)))
                .isInstanceOf(DrException.class)
                .hasMessageContaining("password authentication failed")
                .hasMessageNotContaining("not-the-password-xyz");
        assertThat(kit.list("intel")).isEmpty();
    }

    @Test
    void parallelRestoreAndGlobals() throws Exception {
        String db = freshDatabase();
        BackupResult b = kit.backup(new TargetSpec(
                "intel",
                "postgres-logical",
                connection(db).toBuilder().set("globals", "true").build()));
        assertThat(b.manifest().artifacts()).extracting(a -> a.name()).containsExactly("database.dump", "globals.sql");
        kit.restore(new RestoreRequest(
                "intel",
                b.id(),
                restoreTo(db + "_par").toBuilder()
                        .set("jobs", "2")
                        .set("globals", "true")
                        .build(),
                false));
        try (Connection c = pg.connect(db + "_par")) {
            assertThat(count(c, "SELECT count(*) FROM filings")).isEqualTo(10000);
        }
    }

    @Test
    void aForgedGlobalsScriptRunsNoPsqlCommand() throws Exception {
        Path pwned = dir.resolve("pwned");
        // whoever can write the repository can store a backup of this type whose globals.sql
        // asks psql to run a shell command as drkit's user (often root)
        String id;
        try (DrKit forger = DrKit.builder()
                .repository(dir.resolve("repo").toString())
                .register(new BackupTargetProvider() {
                    @Override
                    public String type() {
                        return "postgres-logical";
                    }

                    @Override
                    public BackupTarget create(Settings settings) {
                        return new BackupTarget() {
                            @Override
                            public String type() {
                                return "postgres-logical";
                            }

                            @Override
                            public Set<Capability> capabilities() {
                                return EnumSet.of(Capability.FULL);
                            }

                            @Override
                            public void backup(BackupContext context) throws IOException {
                                try (var out = context.newArtifact("globals.sql")) {
                                    out.write(("CREATE ROLE forged;\n\\! touch " + pwned + "\n")
                                            .getBytes(StandardCharsets.UTF_8));
                                }
                            }

                            @Override
                            public void restore(RestoreContext context) {
                                throw new UnsupportedOperationException();
                            }
                        };
                    }
                })
                .build()) {
            id = forger.backup(new TargetSpec("intel", "postgres-logical", Settings.empty()))
                    .id();
        }
        String db = "forged_" + Long.toHexString(System.nanoTime());
        assertThatThrownBy(() -> kit.restore(new RestoreRequest(
                        "intel",
                        id,
                        restoreTo(db).toBuilder().set("globals", "true").build(),
                        false)))
                .isInstanceOf(UnsafeArchiveException.class)
                .hasMessageContaining("backslash at line 2");
        assertThat(pwned).doesNotExist();
        assertThat(pg.databases()).doesNotContain(db);
    }
}
