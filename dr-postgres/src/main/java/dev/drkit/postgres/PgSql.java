package dev.drkit.postgres;

import dev.drkit.ConfigException;
import dev.drkit.DrException;
import dev.drkit.DrException.ErrorCode;
import dev.drkit.spi.support.InterruptWatch;
import java.io.InterruptedIOException;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** SQL the PostgreSQL targets and verifiers share: one-value queries, quoting, dropping a database, and what a failed statement becomes. */
final class PgSql {
    private static final Logger LOG = LoggerFactory.getLogger(PgSql.class);

    private PgSql() {}

    /** The first column of the first row of a query. */
    static String single(Connection c, String sql) throws SQLException {
        try (PreparedStatement s = c.prepareStatement(sql);
                ResultSet rs = s.executeQuery()) {
            rs.next();
            return rs.getString(1);
        }
    }

    /**
     * {@link #single}, cancelled on the server once this thread is interrupted, for a statement
     * that may wait on the server for minutes (a spread checkpoint): a JDBC read is not ended by
     * an interrupt, so a command a signal stops would outlast its grace period there.
     *
     * @throws InterruptedIOException when the interrupt cancelled it
     */
    static String singleInterruptibly(Connection c, String sql, String doing)
            throws SQLException, InterruptedIOException {
        Thread owner = Thread.currentThread();
        if (owner.isInterrupted()) {
            throw new InterruptedIOException("interrupted while " + doing);
        }
        try (PreparedStatement s = c.prepareStatement(sql);
                // cancelled again until the statement ends: the driver ignores a cancel that comes
                // before it counts the statement as running, and once one went through, the rest
                InterruptWatch watch = InterruptWatch.repeating("drkit-pg-cancel", () -> cancel(s, doing));
                ResultSet rs = s.executeQuery()) {
            rs.next();
            return rs.getString(1);
        } catch (SQLException e) {
            if (owner.isInterrupted()) {
                throw new InterruptedIOException("interrupted while " + doing);
            }
            throw e;
        }
    }

    /** Cancels what {@code s} runs on the server; a failure to is only logged (the caller is stopping). */
    static void cancel(Statement s, String doing) {
        try {
            s.cancel();
        } catch (SQLException e) {
            LOG.debug("could not cancel {}: {}", doing, e.getMessage());
        }
    }

    static String quoteIdent(String s) {
        return "\"" + s.replace("\"", "\"\"") + "\"";
    }

    /**
     * Drops a database if it exists, its sessions too; a failure is only logged (the caller is
     * failing already, or cleaning up).
     */
    static void dropDatabaseQuietly(PgConnection admin, String db) {
        try (Connection c = admin.open();
                Statement s = c.createStatement()) {
            s.execute("DROP DATABASE IF EXISTS " + quoteIdent(db) + " WITH (FORCE)");
        } catch (SQLException e) {
            LOG.warn("could not drop database {}: {}", db, admin.redact(e.getMessage()));
        }
    }

    /**
     * The error for a failed statement: a configuration error when authentication failed, else a
     * target error, retryable when the server was unreachable; never with the password in it.
     */
    static DrException sqlError(String doing, PgConnection conn, SQLException e) {
        String msg = conn.redact(String.valueOf(e.getMessage()));
        boolean auth = "28P01".equals(e.getSQLState()) || "28000".equals(e.getSQLState());
        boolean down = e.getSQLState() != null && e.getSQLState().startsWith("08");
        String advice = auth
                ? "check the user and the password file"
                : down ? "check that the server is up and reachable" : "see the PostgreSQL error above";
        String message = doing + " failed: " + msg + "; " + advice;
        return auth ? new ConfigException(message) : new DrException(ErrorCode.TARGET, message, null, down);
    }
}
