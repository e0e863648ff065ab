package dev.drkit.postgres;

import dev.drkit.BackupManifest;
import dev.drkit.Capability;
import dev.drkit.ConfigException;
import dev.drkit.CorruptDataException;
import dev.drkit.DestinationNotEmptyException;
import dev.drkit.DrException;
import dev.drkit.DrException.ErrorCode;
import dev.drkit.Settings;
import dev.drkit.spi.BackupContext;
import dev.drkit.spi.BackupTarget;
import dev.drkit.spi.RestoreContext;
import dev.drkit.spi.support.OptionValidator;
import dev.drkit.spi.support.PrivateScratch;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.sql.Connection;
import java.sql.DatabaseMetaData;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import javax.sql.DataSource;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Logical backups of one PostgreSQL database with {@code pg_dump}: a custom-format archive
 * ({@code database.dump}, uncompressed, since drkit compresses) taken inside an exported
 * snapshot, in which exact per-table row counts are recorded too, so that a restore test can
 * prove a restore complete. Optionally the cluster's roles and tablespaces
 * ({@code pg_dumpall --globals-only}) as {@code globals.sql}.
 *
 * <p>Backup settings: {@code url}, {@code user}, {@code password-file} (or {@code password-env}),
 * {@code globals}, {@code bin-dir}. Restore options: the same connection settings for the
 * target server, {@code to-database}, {@code table}/{@code schema} (repeatable),
 * {@code jobs}, {@code globals}, {@code no-owner}, {@code no-privileges}.
 */
public final class PostgresLogicalTarget implements BackupTarget {
    public static final String ARCHIVE = "database.dump";
    public static final String GLOBALS = "globals.sql";
    private static final int MAX_GLOBALS = 64 * 1024 * 1024;
    private static final Logger LOG = LoggerFactory.getLogger(PostgresLogicalTarget.class);

    private final Settings settings;
    private final DataSource dataSource;

    PostgresLogicalTarget(Settings settings) {
        this(settings, null);
    }

    private PostgresLogicalTarget(Settings settings, DataSource dataSource) {
        this.settings = settings;
        this.dataSource = dataSource;
    }

    /**
     * A target configured in code. With a host's {@link DataSource}, restores run through it (the
     * database it connects to is the destination, which must be empty unless the restore is forced)
     * and the backup's snapshot and row counts are taken on one of its connections; pg_dump
     * connects by itself, to the server and database the DataSource names, with the password of
     * setting {@code password-file} or {@code password-env}, or PGPASSWORD / .pgpass.
     */
    public static Builder builder() {
        return new Builder();
    }

    /** Builds a configured {@code postgres-logical} target. */
    public static final class Builder {
        private DataSource dataSource;
        private Settings settings = Settings.empty();

        private Builder() {}

        /** The host's connections to the database to back up and restore into. */
        public Builder dataSource(DataSource dataSource) {
            this.dataSource = Objects.requireNonNull(dataSource, "dataSource");
            return this;
        }

        /**
         * Further settings, as for {@link PostgresLogicalTargetProvider} ({@code url},
         * {@code bin-dir}, {@code password-file}, {@code globals}, ...); {@code url} may be left out
         * when a DataSource is given.
         */
        public Builder settings(Settings settings) {
            this.settings = Objects.requireNonNull(settings, "settings");
            return this;
        }

        public PostgresLogicalTarget build() {
            if (dataSource == null && !settings.has("url")) {
                throw new ConfigException("postgres-logical needs a DataSource or setting 'url'");
            }
            // the same checks as settings given to the provider: unknown keys, types, did-you-mean
            OptionValidator.validate(
                    PostgresLogicalTargetProvider.TYPE, new PostgresLogicalTargetProvider().schema(), settings, false);
            return new PostgresLogicalTarget(settings, dataSource);
        }
    }

    /** pg_dump's connection: setting {@code url}, else the server, database and user the DataSource names. */
    private PgConnection dumpConnection() throws SQLException {
        if (dataSource == null || settings.has("url")) {
            return PgConnection.from(settings);
        }
        try (Connection c = dataSource.getConnection()) {
            DatabaseMetaData md = c.getMetaData();
            Settings.Builder b = settings.toBuilder().set("url", md.getURL());
            if (!settings.has("user") && md.getUserName() != null) {
                b.set("user", md.getUserName());
            }
            return PgConnection.from(b.build());
        }
    }

    private Connection snapshotConnection(PgConnection conn) throws SQLException {
        return dataSource != null ? dataSource.getConnection() : conn.open();
    }

    @Override
    public String type() {
        return PostgresLogicalTargetProvider.TYPE;
    }

    @Override
    public Set<Capability> capabilities() {
        return EnumSet.of(Capability.FULL, Capability.SELECTIVE_RESTORE, Capability.ONLINE_RESTORE);
    }

    /** True: pg_dump and its server process read and format the data while drkit compresses it. */
    @Override
    public boolean sourceCompetesForCpu() {
        return true;
    }

    @Override
    public void backup(BackupContext context) throws IOException {
        PgConnection conn;
        try {
            conn = dumpConnection();
        } catch (SQLException e) {
            throw new DrException(
                    ErrorCode.TARGET,
                    "postgres-logical could not reach the database of its DataSource: " + e.getMessage(),
                    e);
        }
        PgTools tools = PgTools.find(settings.get("bin-dir", null));
        // pg_dump starts as early as it can, and the rest is asked while it reads the catalog:
        // its version is asked while the connection opens, one query exports the snapshot and
        // reads what pg_dump's start needs
        tools.askVersionEarly("pg_dump");
        try (Connection jdbc = snapshotConnection(conn)) {
            jdbc.setAutoCommit(false);
            try (Statement s = jdbc.createStatement()) {
                s.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY");
            }
            String snapshot;
            int serverMajor;
            String serverVersion;
            String encoding;
            try (Statement s = jdbc.createStatement();
                    ResultSet rs = s.executeQuery("SELECT pg_export_snapshot(), current_setting('server_version_num'), "
                            + "current_setting('server_version'), pg_encoding_to_char(encoding) "
                            + "FROM pg_database WHERE datname = current_database()")) {
                rs.next();
                snapshot = rs.getString(1);
                serverMajor = Integer.parseInt(rs.getString(2)) / 10000;
                serverVersion = rs.getString(3);
                encoding = rs.getString(4);
            }
            tools.requireAtLeast("pg_dump", serverMajor);
            List<String> args = List.of(
                    "--format=custom",
                    "--compress=0",
                    "--snapshot=" + snapshot,
                    "--no-password",
                    PgConnection.dbnameOption(conn.database()));
            try (PgTools.Run dump = tools.start(conn, "pg_dump", args)) {
                context.metadata("serverVersion", serverVersion);
                context.metadata("database", conn.database());
                // where the database was, so that a restore finds the server without being told again
                context.metadata("server", conn.recordedUrl());
                context.metadata("user", conn.user());
                context.metadata("encoding", encoding);
                long size = Long.parseLong(PgSql.single(jdbc, "SELECT pg_database_size(current_database())"));
                context.metadata("databaseSize", size);
                context.metadata("pgDumpVersion", tools.majorVersion("pg_dump"));
                context.expectBytes(size);
                SnapshotRowCounts rowCounts = SnapshotRowCounts.plan(jdbc, encoding);
                // rows are counted in the archive as it streams: the data is scanned once, by pg_dump
                PgDumpRowCounter counter = new PgDumpRowCounter(context.newArtifact(ARCHIVE));
                tools.drain(conn, "pg_dump", dump, counter);
                // still in the snapshot's transaction: a table the archive cannot tell is counted in it
                Map<String, Long> counts = rowCounts.count(jdbc, counter);
                context.metadata("tables", counts.size());
                context.metadata("rowCounts", counts);
            }
            jdbc.commit();
            jdbc.setAutoCommit(true); // a DataSource's connection goes back to the host's pool as it came
        } catch (SQLException e) {
            throw PgSql.sqlError("backing up " + conn, conn, e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new DrException(ErrorCode.INTERRUPTED, "interrupted while backing up " + conn);
        } finally {
            tools.dropAskedVersions();
        }
        if (settings.bool("globals", false)) {
            try {
                tools.dump(
                        conn, "pg_dumpall", List.of("--globals-only", "--no-password"), context.newArtifact(GLOBALS));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new DrException(ErrorCode.INTERRUPTED, "interrupted while dumping globals");
            }
        }
    }

    @Override
    public void restore(RestoreContext context) throws IOException {
        Settings o = context.options();
        if (dataSource != null && !o.has("to-database")) {
            restoreThroughDataSource(context, o);
            return;
        }
        String toDatabase = o.get("to-database")
                .orElseThrow(() -> new ConfigException(
                        "postgres-logical restore needs setting 'to-database' (a new one is created; an existing one needs "
                                + "RestoreRequest.force)"));
        PgConnection admin = PgConnection.from(withServer(o, context.manifest()));
        PgConnection target = admin.withDatabase(toDatabase);
        PgTools tools = PgTools.find(o.get("bin-dir", null));
        boolean created = prepareDatabase(
                admin,
                toDatabase,
                context.force(),
                RestoreInProgress.ofThisProcess(context.manifest().id()));
        try {
            if (o.bool("globals", false) && context.manifest().artifact(GLOBALS).isPresent()) {
                byte[] globals;
                try (InputStream in = context.openArtifact(GLOBALS)) {
                    globals = in.readNBytes(MAX_GLOBALS); // roles and tablespaces: kilobytes
                    if (in.read() >= 0) {
                        throw new CorruptDataException(
                                GLOBALS + " of backup " + context.manifest().id() + " is larger than " + MAX_GLOBALS
                                        + " bytes, which roles and tablespaces never are");
                    }
                }
                PsqlScriptGuard.check(
                        globals, GLOBALS + " of backup " + context.manifest().id());
                tools.feed(
                        admin,
                        "psql",
                        List.of("--no-psqlrc", "--quiet", "--no-password", "-v", "ON_ERROR_STOP=0", "-f", "-"),
                        new ByteArrayInputStream(globals));
            }
            List<String> args =
                    new ArrayList<>(List.of("--no-password", "--exit-on-error", PgConnection.dbnameOption(toDatabase)));
            args.addAll(selection(o));
            int jobs = o.integer("jobs", 1);
            if (jobs > 1) {
                restoreParallel(tools, target, args, jobs, context);
            } else {
                tools.feed(target, "pg_restore", args, context.openArtifact(ARCHIVE));
            }
            if (created) {
                comment(admin, toDatabase, null);
            }
        } catch (IOException | RuntimeException e) {
            if (created) {
                PgSql.dropDatabaseQuietly(admin, toDatabase);
            }
            throw e;
        }
    }

    /**
     * The restore's connection settings: its own {@code url} if given, else this target's settings
     * (a configured target), else the server and user the backup recorded, so that a restore into a
     * new database on the same server needs only {@code to-database} and a password.
     */
    private Settings withServer(Settings options, BackupManifest manifest) {
        if (!options.has("url") && settings.has("url")) {
            return settings.overlaidBy(options);
        }
        return PgConnection.withRecordedServer(options, manifest);
    }

    /** pg_restore's options for what to restore: tables, schemas, owners and privileges. */
    private static List<String> selection(Settings o) {
        List<String> args = new ArrayList<>();
        o.getAll("table").forEach(t -> args.add("--table=" + t));
        o.getAll("schema").forEach(s -> args.add("--schema=" + s));
        if (o.bool("no-owner", false)) {
            args.add("--no-owner");
        }
        if (o.bool("no-privileges", false)) {
            args.add("--no-privileges");
        }
        return args;
    }

    /** Into the database the host's DataSource connects to, through its connections only. */
    private void restoreThroughDataSource(RestoreContext context, Settings o) throws IOException {
        if (o.bool("globals", false)) {
            throw new ConfigException("postgres-logical restores roles and tablespaces (setting 'globals') only with "
                    + "the connection settings (setting 'to-database'), not through a DataSource");
        }
        List<String> args = selection(o);
        PgTools tools = PgTools.find(o.get("bin-dir", settings.get("bin-dir", null)));
        try (Connection c = dataSource.getConnection()) {
            String database = c.getCatalog();
            JdbcRestore.checkEmpty(c, database, context.force());
            JdbcRestore.run(
                    tools,
                    args,
                    context.force(),
                    context.openArtifact(ARCHIVE),
                    c,
                    ARCHIVE + " of backup " + context.manifest().id());
        } catch (SQLException e) {
            throw new DrException(
                    ErrorCode.TARGET,
                    "postgres-logical could not restore through its DataSource: " + e.getMessage(),
                    e);
        }
    }

    /**
     * pg_restore -j needs a seekable file: the verified archive is spooled to a 0600 file in
     * this process's private temporary directory, removed afterwards (and by the next run if
     * this one is killed).
     */
    private static void restoreParallel(
            PgTools tools, PgConnection target, List<String> args, int jobs, RestoreContext context)
            throws IOException {
        Path file = PrivateScratch.current().createFile("restore-", ".dump");
        try {
            try (InputStream in = context.openArtifact(ARCHIVE);
                    OutputStream out = Files.newOutputStream(file, StandardOpenOption.WRITE)) {
                in.transferTo(out);
            }
            List<String> all = new ArrayList<>(args);
            all.add("--jobs=" + jobs);
            all.add(file.toString());
            try (PgTools.Run run = tools.start(target, "pg_restore", all)) {
                run.process.getOutputStream().close();
                try {
                    run.process.getInputStream().transferTo(OutputStream.nullOutputStream());
                } catch (IOException e) {
                    run.requireNotStopped();
                    throw e;
                }
                int code = run.await();
                if (code != 0) {
                    throw new DrException(
                            ErrorCode.TARGET,
                            "pg_restore into " + target + " failed (exit " + code + "): "
                                    + PgTools.lastLines(run.stderr()));
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new DrException(ErrorCode.INTERRUPTED, "interrupted while restoring");
            }
        } finally {
            Files.deleteIfExists(file);
        }
    }

    /**
     * Creates the database marked as being restored, or checks that overwriting an existing one
     * was asked for. An existing database that a killed restore left half-done (it still carries
     * that restore's marker and its process is gone from this host) is dropped first; one whose
     * restore may still run elsewhere is refused unless {@code force}.
     */
    private static boolean prepareDatabase(PgConnection admin, String db, boolean force, RestoreInProgress marker) {
        try (Connection c = admin.open()) {
            boolean exists;
            String comment = null;
            try (PreparedStatement ps = c.prepareStatement(
                    "SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = ?")) {
                ps.setString(1, db);
                try (ResultSet rs = ps.executeQuery()) {
                    exists = rs.next();
                    if (exists) {
                        comment = rs.getString(1);
                    }
                }
            }
            String where = admin.withDatabase(db).toString();
            if (exists) {
                Optional<RestoreInProgress> left = RestoreInProgress.parse(comment);
                if (left.isEmpty()) {
                    // killed while the server created it: noted here, never marked, never filled
                    left = PendingCreation.read(where)
                            .filter(RestoreInProgress::abandoned)
                            .filter(noted -> holdsNothing(admin, db));
                }
                if (left.isEmpty()) {
                    if (!force) {
                        throw new DestinationNotEmptyException("database " + db + " already exists on "
                                + admin.withDatabase(db) + "; restore into a new database "
                                + "(setting 'to-database') or restore into it with RestoreRequest.force");
                    }
                    return false;
                }
                if (!left.get().abandoned() && !force) {
                    throw new DestinationNotEmptyException(
                            "database " + db + " on " + admin.withDatabase(db)
                                    + " is being restored by " + left.get().who()
                                    + ", or was left half-restored by it; "
                                    + "wait for that restore to end, or restore with force to drop the database and start again");
                }
                try (Statement s = c.createStatement()) {
                    s.execute("DROP DATABASE " + PgSql.quoteIdent(db) + " WITH (FORCE)");
                }
                LOG.warn(
                        "dropped database {}, left half-restored by an interrupted restore of {}, before restoring "
                                + "into it again",
                        db,
                        left.get().who());
            }
            // a kill while the server creates the database (it finishes the CREATE) or before the
            // comment leaves an unmarked database: the note written first lets the next restore on
            // this host recognise it, empty, as this dead restore's (see PendingCreation)
            PendingCreation.write(where, marker);
            try (Statement s = c.createStatement()) {
                s.execute("CREATE DATABASE " + PgSql.quoteIdent(db));
            }
            comment(c, db, marker.comment());
            PendingCreation.clear(where);
            return true;
        } catch (SQLException e) {
            throw PgSql.sqlError("preparing database " + db, admin, e);
        }
    }

    /** Whether a database holds no object of its own (none with an OID past the built-in ones). */
    private static boolean holdsNothing(PgConnection admin, String db) {
        try (Connection c = admin.withDatabase(db).open();
                Statement s = c.createStatement();
                ResultSet rs = s.executeQuery("SELECT (SELECT count(*) FROM pg_class WHERE oid >= 16384)"
                        + " + (SELECT count(*) FROM pg_namespace WHERE oid >= 16384)")) {
            return rs.next() && rs.getLong(1) == 0;
        } catch (SQLException e) {
            return false;
        }
    }

    /** Sets (or with null removes) a database's comment; a finished restore removes its marker. */
    private static void comment(PgConnection admin, String db, String text) {
        try (Connection c = admin.open()) {
            comment(c, db, text);
        } catch (SQLException e) {
            throw PgSql.sqlError("removing the restore-in-progress comment of database " + db, admin, e);
        }
    }

    private static void comment(Connection c, String db, String text) throws SQLException {
        try (Statement s = c.createStatement()) {
            s.execute("COMMENT ON DATABASE " + PgSql.quoteIdent(db) + " IS "
                    + (text == null ? "NULL" : "'" + text.replace("'", "''") + "'"));
        }
    }
}
