package dev.drkit.postgres;

import dev.drkit.ConfigException;
import dev.drkit.CorruptDataException;
import dev.drkit.DestinationNotEmptyException;
import dev.drkit.DrException;
import dev.drkit.DrException.ErrorCode;
import dev.drkit.spi.support.InterruptWatch;
import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.charset.Charset;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.postgresql.PGConnection;
import org.postgresql.copy.CopyIn;
import org.postgresql.copy.CopyManager;
import org.postgresql.core.BaseConnection;
import org.postgresql.core.TransactionState;

/**
 * Restores a custom-format archive through a JDBC connection the host owns: {@code pg_restore -f -}
 * turns the archive into its SQL script without connecting anywhere, and drkit executes that
 * script on the connection, statements with JDBC and table data with the driver's COPY API. So a
 * host restores with its own {@code DataSource} and credentials, and drkit never learns them.
 *
 * <p>As {@code pg_restore --exit-on-error}: the first failing statement stops the restore. The
 * session settings the script makes ({@code search_path}, {@code statement_timeout}, ...) are reset
 * afterwards, since the connection returns to the host's pool.
 */
final class JdbcRestore {
    private static final Pattern CLIENT_ENCODING =
            Pattern.compile("(?is)\\s*SET\\s+client_encoding\\s*=\\s*'([A-Za-z0-9_]+)'\\s*;\\s*");
    private static final Map<String, Charset> ENCODINGS = Map.of(
            "UTF8", StandardCharsets.UTF_8,
            "SQL_ASCII", StandardCharsets.ISO_8859_1,
            "LATIN1", StandardCharsets.ISO_8859_1,
            "WIN1252", Charset.forName("windows-1252"));

    private JdbcRestore() {}

    /**
     * Refuses a database that holds tables, views, sequences or functions of its own unless
     * {@code force} (the restore then drops what the archive recreates, as {@code --clean}).
     */
    static void checkEmpty(Connection c, String database, boolean force) throws SQLException {
        if (force) {
            return;
        }
        try (Statement s = c.createStatement();
                ResultSet r = s.executeQuery("SELECT (SELECT count(*) FROM pg_catalog.pg_class k"
                        + " JOIN pg_catalog.pg_namespace n ON n.oid = k.relnamespace"
                        + " WHERE n.nspname NOT IN ('pg_catalog', 'information_schema')"
                        + " AND n.nspname NOT LIKE 'pg\\_toast%' AND n.nspname NOT LIKE 'pg\\_temp%')"
                        + " + (SELECT count(*) FROM pg_catalog.pg_proc p"
                        + " JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace"
                        + " WHERE n.nspname NOT IN ('pg_catalog', 'information_schema'))")) {
            r.next();
            long objects = r.getLong(1);
            if (objects > 0) {
                throw new DestinationNotEmptyException("database " + database
                        + " that the DataSource connects to holds "
                        + objects + " relation(s) or function(s); restore into an empty database, or restore with "
                        + "RestoreRequest.force to drop and recreate what the backup holds");
            }
        }
    }

    /**
     * Runs the restore.
     *
     * @param restoreArgs pg_restore's selection options ({@code --table}, {@code --no-owner}, ...)
     * @param archive the verified archive stream; closed here
     * @param what the archive's name for messages
     */
    static void run(
            PgTools tools, List<String> restoreArgs, boolean clean, InputStream archive, Connection c, String what)
            throws IOException {
        CopyManager copies = copyApi(c);
        String[] identity = identity(c);
        List<String> args = new ArrayList<>(List.of("--exit-on-error", "-f", "-"));
        if (clean) {
            args.add("--clean");
            args.add("--if-exists");
        }
        args.addAll(restoreArgs);
        AtomicReference<Throwable> feedFailure = new AtomicReference<>();
        try (PgTools.Run run = tools.start(null, "pg_restore", args);
                InputStream in = archive) {
            Thread feeder = new Thread(
                    () -> {
                        try (OutputStream stdin = run.process.getOutputStream()) {
                            in.transferTo(stdin);
                        } catch (IOException | RuntimeException e) {
                            feedFailure.set(e);
                            run.process.destroyForcibly();
                        }
                    },
                    "drkit-pg-restore-feed");
            feeder.setDaemon(true);
            feeder.start();
            boolean leftInTransaction = false;
            AtomicReference<Statement> running = new AtomicReference<>();
            // pg_restore's own watch kills it on an interrupt, which ends the script; a statement
            // the server runs for minutes (an index build) is cancelled, again until it ends
            try (InterruptWatch watch = InterruptWatch.repeating("drkit-pg-cancel", () -> {
                Statement s = running.get();
                if (s != null) {
                    PgSql.cancel(s, "the restore's statement");
                }
            })) {
                execute(
                        new SqlScript(new BufferedInputStream(run.process.getInputStream(), 1 << 16), what),
                        c,
                        copies,
                        running);
            } catch (IOException | RuntimeException e) {
                Throwable fed = feedFailure.get();
                if (fed instanceof DrException d) {
                    throw d; // the archive failed its checksum: that is the cause, not the cut-off script
                }
                if (Thread.currentThread().isInterrupted()) {
                    // pg_restore was killed for the interrupt: its script ends wherever that came
                    throw new DrException(ErrorCode.INTERRUPTED, "interrupted while restoring " + what, e);
                }
                throw e;
            } finally {
                leftInTransaction = resetSession(c, identity);
            }
            if (leftInTransaction) {
                throw new CorruptDataException(what + " left a transaction open at its end, which a pg_restore "
                        + "script never does; what it ran since is rolled back: the archive was altered");
            }
            feeder.join(TimeUnit.MINUTES.toMillis(1));
            Throwable fed = feedFailure.get();
            if (fed instanceof DrException d) {
                throw d;
            }
            if (fed instanceof IOException e) {
                throw e;
            }
            int code = run.await();
            if (code != 0) {
                throw new DrException(
                        ErrorCode.TARGET,
                        "pg_restore could not read " + what + " (exit " + code + "): "
                                + PgTools.lastLines(run.stderr()));
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new DrException(ErrorCode.INTERRUPTED, "interrupted while restoring " + what);
        }
    }

    /** Runs the script's statements; each one's {@link Statement} is in {@code running} while it runs. */
    private static void execute(SqlScript script, Connection c, CopyManager copies, AtomicReference<Statement> running)
            throws IOException {
        Charset charset = StandardCharsets.UTF_8;
        byte[] statement;
        while ((statement = script.nextStatement()) != null) {
            String sql = new String(statement, charset);
            Matcher enc = CLIENT_ENCODING.matcher(sql);
            if (enc.matches()) {
                // the driver speaks UTF-8 to the server; the script's text is decoded here instead
                charset = ENCODINGS.get(enc.group(1).toUpperCase(Locale.ROOT));
                if (charset == null) {
                    throw new DrException(
                            ErrorCode.TARGET,
                            "the backup was dumped in encoding " + enc.group(1)
                                    + ", which a restore through a DataSource does not convert; restore with "
                                    + "the connection settings instead (setting 'to-database')");
                }
                continue;
            }
            try {
                if (SqlScript.isCopyFromStdin(statement)) {
                    copy(script, copies, sql, charset);
                } else {
                    try (Statement s = c.createStatement()) {
                        running.set(s);
                        s.execute(sql);
                    } finally {
                        running.set(null);
                    }
                }
            } catch (SQLException e) {
                throw new DrException(
                        ErrorCode.TARGET,
                        "restoring through the DataSource failed at \"" + abbreviate(sql) + "\": " + e.getMessage(),
                        e);
            }
        }
    }

    private static void copy(SqlScript script, CopyManager copies, String sql, Charset charset)
            throws IOException, SQLException {
        CopyIn copy = copies.copyIn(sql);
        try {
            script.copyRows((bytes, length) -> {
                try {
                    if (charset.equals(StandardCharsets.UTF_8)) {
                        copy.writeToCopy(bytes, 0, length);
                    } else {
                        ByteBuffer utf8 =
                                StandardCharsets.UTF_8.encode(charset.decode(ByteBuffer.wrap(bytes, 0, length)));
                        copy.writeToCopy(utf8.array(), utf8.arrayOffset(), utf8.remaining());
                    }
                } catch (SQLException e) {
                    throw new CopyFailure(e);
                }
            });
            copy.endCopy();
        } catch (CopyFailure e) {
            cancel(copy);
            throw e.sql;
        } catch (IOException | RuntimeException e) {
            cancel(copy);
            throw e;
        }
    }

    /** Carries a driver failure out of the row callback. */
    private static final class CopyFailure extends IOException {
        final SQLException sql;

        CopyFailure(SQLException sql) {
            super(sql.getMessage());
            this.sql = sql;
        }
    }

    private static void cancel(CopyIn copy) {
        try {
            if (copy.isActive()) {
                copy.cancelCopy();
            }
        } catch (SQLException ignored) {
            // the failure being reported is the one that matters
        }
    }

    private static CopyManager copyApi(Connection c) {
        try {
            return c.unwrap(PGConnection.class).getCopyAPI();
        } catch (SQLException e) {
            throw new ConfigException(
                    "a postgres-logical restore through a DataSource needs connections of the PostgreSQL JDBC driver"
                            + " (org.postgresql); this DataSource's connections do not unwrap to one");
        }
    }

    /**
     * The session user and role the host's connection came with (a pool's init SQL may set a role),
     * which the connection goes back with.
     */
    private static String[] identity(Connection c) throws IOException {
        try (Statement s = c.createStatement();
                ResultSet r =
                        s.executeQuery("SELECT current_setting('session_authorization'), current_setting('role')")) {
            r.next();
            return new String[] {r.getString(1), r.getString(2)};
        } catch (SQLException e) {
            throw new DrException(
                    ErrorCode.TARGET, "restoring through the DataSource failed before it began: " + e.getMessage(), e);
        }
    }

    /**
     * Hands the connection back as it came: a transaction the script left open is rolled back (the
     * host's next writes would wait in it), and {@code DISCARD ALL} ends the rest of what the script
     * left, which {@code RESET ALL} does not: its role and session user, advisory locks (a host's
     * migration tool would wait for its lock forever), LISTENs, prepared statements, temporary
     * tables; then the session user and role the connection came with are taken again. A connection
     * without autocommit is in the host's transaction, where DISCARD ALL cannot run: there the
     * settings are reset.
     *
     * @return whether the script left a transaction open
     */
    private static boolean resetSession(Connection c, String[] identity) {
        boolean open = false;
        boolean autoCommit = true;
        try {
            autoCommit = c.getAutoCommit();
            open = autoCommit && c.unwrap(BaseConnection.class).getTransactionState() != TransactionState.IDLE;
            if (open) {
                try (Statement s = c.createStatement()) {
                    s.execute("ROLLBACK");
                }
            }
        } catch (SQLException ignored) {
            // a broken connection is discarded by the pool anyway
        }
        List<String> resets = new ArrayList<>(autoCommit ? List.of("DISCARD ALL") : List.of("RESET ALL"));
        resets.add("SET SESSION AUTHORIZATION " + PgSql.quoteIdent(identity[0]));
        resets.add(identity[1].equals("none") ? "RESET ROLE" : "SET ROLE " + PgSql.quoteIdent(identity[1]));
        for (String reset : resets) {
            try (Statement s = c.createStatement()) {
                s.execute(reset);
            } catch (SQLException ignored) {
                // as above; each reset is tried on its own
            }
        }
        return open;
    }

    private static String abbreviate(String sql) {
        String one = PgTools.printable(sql.strip().replaceAll("\\s+", " "));
        return one.length() > 100 ? one.substring(0, 100) + "..." : one;
    }
}
