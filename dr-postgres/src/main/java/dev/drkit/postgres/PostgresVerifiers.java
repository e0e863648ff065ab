package dev.drkit.postgres;

import dev.drkit.ArtifactInfo;
import dev.drkit.BackupManifest;
import dev.drkit.BackupNotFoundException;
import dev.drkit.DrException;
import dev.drkit.Settings;
import dev.drkit.VerificationResult;
import dev.drkit.VerifyLevel;
import dev.drkit.spi.FileArchive;
import dev.drkit.spi.OptionSchema;
import dev.drkit.spi.OptionSpec;
import dev.drkit.spi.OptionSpec.Type;
import dev.drkit.spi.RestoreContext;
import dev.drkit.spi.VerificationContext;
import dev.drkit.spi.Verifier;
import dev.drkit.spi.support.TargetVerifierProvider;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.math.BigDecimal;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Verifiers for {@code postgres-logical} backups: {@code pg-archive} reads the archive's table
 * of contents back through {@code pg_restore --list}; {@code pg-restore-test} restores into a
 * scratch database, compares every table's row count with the manifest, runs validation
 * queries, drops the scratch database and reports how long the restore took (the measured
 * RTO of this backup).
 */
public final class PostgresVerifiers {
    private static final Logger LOG = LoggerFactory.getLogger(PostgresVerifiers.class);

    private PostgresVerifiers() {}

    /** Provides {@code pg-archive} at level decode. */
    /** A check run on the restored copy. */
    static final OptionSpec VALIDATE = OptionSpec.builder("validate", Type.STRING)
            .repeatable()
            .description("a query on the restored copy whose first value must be > 0 or true")
            .build();

    public static final class ArchiveProvider extends TargetVerifierProvider {
        public ArchiveProvider() {
            super(
                    "pg-archive",
                    VerifyLevel.DECODE,
                    PostgresLogicalTargetProvider.TYPE,
                    OptionSchema.of(PostgresLogicalTargetProvider.BIN_DIR),
                    ArchiveVerifier::new);
        }
    }

    /** Provides {@code pg-restore-test} at level restore. */
    public static final class RestoreTestProvider extends TargetVerifierProvider {
        public RestoreTestProvider() {
            super(
                    "pg-restore-test",
                    VerifyLevel.RESTORE,
                    PostgresLogicalTargetProvider.TYPE,
                    PgConnection.schema(PostgresLogicalTargetProvider.BIN_DIR, VALIDATE)
                            .plus(OptionSchema.of(PostgresLogicalTargetProvider.RESTORE_OPTIONS)),
                    RestoreTestVerifier::new);
        }
    }

    private static final class ArchiveVerifier implements Verifier {
        private final Settings settings;

        ArchiveVerifier(Settings settings) {
            this.settings = settings;
        }

        @Override
        public String name() {
            return "pg-archive";
        }

        @Override
        public VerificationResult verify(VerificationContext context) throws IOException {
            VerificationResult.Timer timer = VerificationResult.start(name());
            ArtifactInfo archive =
                    context.manifest().artifact(PostgresLogicalTarget.ARCHIVE).orElse(null);
            if (archive == null) {
                return timer.failed("the backup has no " + PostgresLogicalTarget.ARCHIVE);
            }
            PgTools tools = PgTools.find(settings.get("bin-dir", null));
            List<String> problems = new ArrayList<>();
            int entries = 0;
            try (PgTools.Run run = tools.start(null, "pg_restore", List.of("--list"));
                    InputStream in = context.openDecoded(archive)) {
                Thread feeder = new Thread(
                        () -> {
                            try (var stdin = run.process.getOutputStream()) {
                                in.transferTo(stdin);
                            } catch (IOException | RuntimeException e) {
                                // pg_restore --list stops reading after the table of contents: read the rest
                                // anyway, so that the stored checksums are still checked to the end
                                try {
                                    if (run.process.waitFor() == 0) {
                                        in.transferTo(OutputStream.nullOutputStream());
                                        return;
                                    }
                                } catch (IOException | RuntimeException | InterruptedException again) {
                                    problems.add(again.getMessage());
                                    return;
                                }
                                problems.add(e.getMessage());
                            }
                        },
                        "drkit-pg-list");
                feeder.start();
                String toc = new String(run.process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
                int code = run.await();
                feeder.join();
                if (code != 0) {
                    problems.add("pg_restore --list failed (exit " + code + "): " + PgTools.lastLines(run.stderr()));
                }
                for (String line : toc.split("\n")) {
                    if (!line.isBlank() && !line.startsWith(";")) {
                        entries++;
                    }
                }
                if (code == 0 && entries == 0) {
                    problems.add("the archive's table of contents is empty");
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                problems.add("interrupted");
            }
            return timer.result(problems, Map.of("tocEntries", entries));
        }
    }

    static final class RestoreTestVerifier implements Verifier {
        private final Settings settings;

        RestoreTestVerifier(Settings settings) {
            this.settings = settings;
        }

        @Override
        public String name() {
            return "pg-restore-test";
        }

        @Override
        public VerificationResult verify(VerificationContext context) throws IOException {
            VerificationResult.Timer timer = VerificationResult.start(name());
            if (!settings.has("url")) {
                return timer.unverified("a restore test needs a scratch server: give setting 'url' "
                        + "(jdbc:postgresql://HOST:PORT/postgres) and setting 'user'");
            }
            BackupManifest m = context.manifest();
            PgConnection admin = PgConnection.from(settings);
            String scratch = ScratchDatabases.newName();
            List<String> problems = new ArrayList<>();
            Map<String, Object> details = new LinkedHashMap<>();
            // the lock marks the scratch database as in use until it is dropped (and goes with the
            // session if this process dies); then what killed tests left goes: a copy of the data each
            Connection held = null;
            try {
                held = ScratchDatabases.hold(admin, scratch);
            } catch (SQLException e) {
                // e.g. a role that may not connect to the postgres database: the test runs, unmarked,
                // and the scratch databases of killed tests stay
                LOG.info(
                        "the restore test's scratch database is not marked as in use, and scratch databases of "
                                + "killed tests are not dropped: {}",
                        admin.redact(String.valueOf(e.getMessage())));
            }
            try (Connection lock = held) {
                if (lock != null) {
                    ScratchDatabases.dropLeftovers(admin);
                }
                try {
                    // roles and tablespaces are the server's, not the scratch database's: a restore
                    // test given the target's setting 'globals' would put them back on the live server
                    Settings options = settings.toBuilder()
                            .set("to-database", scratch)
                            .remove("globals")
                            .build();
                    new PostgresLogicalTarget(Settings.empty()).restore(new ScratchRestore(context, options));
                    details.put("restoreSeconds", timer.seconds());
                    try (Connection c = admin.withDatabase(scratch).open()) {
                        compareRowCounts(c, m, problems, details);
                        runValidations(c, settings.getAll("validate"), problems);
                    }
                } catch (DrException e) {
                    problems.add("restore into scratch database failed: " + e.getMessage());
                } catch (SQLException e) {
                    problems.add("checking scratch database failed: " + admin.redact(String.valueOf(e.getMessage())));
                } finally {
                    PgSql.dropDatabaseQuietly(admin, scratch);
                }
            } catch (SQLException e) {
                LOG.debug(
                        "closing the scratch database's lock session: {}",
                        admin.redact(String.valueOf(e.getMessage())));
            }
            return timer.result(problems, details);
        }

        /**
         * A table as {@code quote_ident(schema) || '.' || quote_ident(table)} gives it: each part a
         * lower-case identifier or a double-quoted one (quotes doubled inside, no NUL).
         */
        private static final Pattern QUALIFIED_NAME = Pattern.compile(
                "(?:[a-z_][a-z0-9_]*|\"(?:[^\"\\x00]|\"\")+\")\\.(?:[a-z_][a-z0-9_]*|\"(?:[^\"\\x00]|\"\")+\")");

        @SuppressWarnings("unchecked")
        private static void compareRowCounts(
                Connection c, BackupManifest m, List<String> problems, Map<String, Object> details)
                throws SQLException {
            Object recorded = m.metadata().get("rowCounts");
            if (!(recorded instanceof Map)) {
                problems.add("the manifest records no row counts to compare with");
                return;
            }
            int tables = 0;
            try (Statement s = c.createStatement()) {
                for (Map.Entry<String, Object> e : ((Map<String, Object>) recorded).entrySet()) {
                    // the keys are SQL (quote_ident of schema and table) from a manifest, which anyone
                    // who can write the repository can forge: only two identifiers are ever run
                    if (!QUALIFIED_NAME.matcher(e.getKey()).matches() || !(e.getValue() instanceof Number n)) {
                        problems.add("the manifest's row counts hold an entry that is not a table name and a "
                                + "count, as drkit records them; the manifest is damaged or forged, so nothing of "
                                + "it was run");
                        tables++;
                        continue;
                    }
                    long expected = n.longValue();
                    try (ResultSet rs = s.executeQuery("SELECT count(*) FROM " + e.getKey())) {
                        rs.next();
                        long actual = rs.getLong(1);
                        if (actual != expected) {
                            problems.add("table " + e.getKey() + " has " + actual + " rows after restore but "
                                    + expected + " at backup time");
                        }
                    } catch (SQLException missing) {
                        problems.add("table " + e.getKey() + " is missing after restore: " + missing.getMessage());
                    }
                    tables++;
                }
            }
            details.put("tablesCompared", tables);
        }

        static void runValidations(Connection c, List<String> queries, List<String> problems) {
            for (String q : queries) {
                try (Statement s = c.createStatement();
                        ResultSet rs = s.executeQuery(q)) {
                    if (!rs.next()) {
                        problems.add("validation query returned no row: " + q);
                        continue;
                    }
                    String v = rs.getString(1);
                    boolean ok = v != null && (v.equals("t") || v.equals("true") || isPositive(v));
                    if (!ok) {
                        problems.add("validation query returned " + v + " (expected > 0 or true): " + q);
                    }
                } catch (SQLException e) {
                    problems.add("validation query failed: " + q + ": " + e.getMessage());
                }
            }
        }

        private static boolean isPositive(String v) {
            try {
                return new BigDecimal(v.trim()).signum() > 0;
            } catch (NumberFormatException e) {
                return false;
            }
        }
    }

    /** Restore context over a verification context, into a scratch database. */
    static final class ScratchRestore implements RestoreContext {
        private final VerificationContext context;
        private final Settings options;

        ScratchRestore(VerificationContext context, Settings options) {
            this.context = context;
            this.options = options;
        }

        @Override
        public BackupManifest manifest() {
            return context.manifest();
        }

        @Override
        public InputStream openArtifact(String name) throws IOException {
            return context.openDecoded(context.manifest()
                    .artifact(name)
                    .orElseThrow(() -> new BackupNotFoundException("backup has no artifact " + name)));
        }

        @Override
        public InputStream openArtifact(String backupId, String name) throws IOException {
            return context.openDecoded(backupId, name); // an incremental physical backup's earlier files
        }

        @Override
        public Settings options() {
            return options;
        }

        @Override
        public boolean force() {
            return false;
        }

        @Override
        public FileArchive archive(String area) {
            return context.archive(area);
        }
    }
}
