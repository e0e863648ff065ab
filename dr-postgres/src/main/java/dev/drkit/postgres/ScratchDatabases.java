package dev.drkit.postgres;

import dev.drkit.spi.support.Hosts;
import dev.drkit.spi.support.PrivateScratch;
import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.zip.CRC32C;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The scratch databases of logical restore tests, {@code drkit_verify_<host>_<pid>_<start>_<random>}
 * (the host as 8 hex digits of a hash of its name, the process by pid and start time: who made
 * it, for the log). A restore test holds a session-level advisory lock on its database's name
 * on the server (in the {@code postgres} database: PostgreSQL keeps advisory locks per database)
 * from before it creates the database until after it dropped it; a test killed in
 * between loses its session, and with it the lock. Before it makes its own, a restore test drops
 * the scratch databases whose lock it can take: those of tests that are gone, whichever host ran
 * them, while a test that runs, from any host or container, keeps its database; and never one
 * that still has a session (the drop is not forced). The test's {@code url} must reach the server
 * directly, not through a transaction pooler, for its session to keep the lock. Databases of the
 * older {@code drkit_verify_<random>} form, made by versions that took no lock, are left alone.
 */
final class ScratchDatabases {
    private static final Logger LOG = LoggerFactory.getLogger(ScratchDatabases.class);
    static final String PREFIX = "drkit_verify_";
    private static final Pattern NAME =
            Pattern.compile("drkit_verify_([0-9a-f]{8})_(\\d{1,10})_(\\d{1,15})_[0-9a-f]{6}");
    private static final SecureRandom RANDOM = new SecureRandom();
    /** The first key of the advisory locks of scratch databases ("drkv"); the second is the name's hash. */
    static final int LOCK_CLASS = 0x64726b76;

    private ScratchDatabases() {}

    /** Who made a scratch database. */
    record Maker(String host, long pid, long startMillis) {}

    /** A new scratch database name for this process. */
    static String newName() {
        return name(host(), ProcessHandle.current().pid(), PrivateScratch.startMillis());
    }

    static String name(String host, long pid, long startMillis) {
        byte[] random = new byte[3];
        RANDOM.nextBytes(random);
        return PREFIX + host + "_" + pid + "_" + startMillis + "_"
                + HexFormat.of().formatHex(random);
    }

    /** Who made the scratch database {@code name}; empty for any other name. */
    static Optional<Maker> maker(String name) {
        Matcher m = NAME.matcher(name);
        if (!m.matches()) {
            return Optional.empty();
        }
        return Optional.of(new Maker(m.group(1), Long.parseLong(m.group(2)), Long.parseLong(m.group(3))));
    }

    /**
     * Takes the advisory lock that marks scratch database {@code name} as in use, on a session of
     * its own: hold it open from before the database is created until after it is dropped.
     */
    static Connection hold(PgConnection admin, String name) throws SQLException {
        Connection c = locks(admin).open();
        try {
            try (Statement s = c.createStatement()) {
                // a session ended for idleness would free the lock while the test still runs (14+)
                s.execute("SET idle_session_timeout = 0");
            } catch (SQLException olderServer) {
                // no such setting before PostgreSQL 14: no such timeout either
            }
            try (PreparedStatement s = c.prepareStatement("SELECT pg_advisory_lock(?, hashtext(?))")) {
                s.setInt(1, LOCK_CLASS);
                s.setString(2, name);
                s.execute();
            }
            return c;
        } catch (SQLException e) {
            c.close();
            throw e;
        }
    }

    /**
     * Where the locks are taken and tested: always the {@code postgres} database, since
     * PostgreSQL keeps advisory locks per database and tests may connect to different ones.
     */
    static PgConnection locks(PgConnection admin) {
        return admin.withDatabase("postgres");
    }

    /**
     * Drops the scratch databases no running restore test holds; one that still has a session
     * is left (a plain {@code DROP DATABASE}, never forced). Best effort: a failure is logged,
     * the restore test goes on.
     *
     * @return the databases dropped
     */
    static List<String> dropLeftovers(PgConnection admin) {
        List<String> dropped = new ArrayList<>();
        PgConnection locks = locks(admin);
        try (Connection c = locks.open()) {
            List<String> found = new ArrayList<>();
            try (Statement s = c.createStatement();
                    ResultSet rs =
                            s.executeQuery("SELECT datname FROM pg_database WHERE datname LIKE 'drkit\\_verify\\_%'")) {
                while (rs.next()) {
                    found.add(rs.getString(1));
                }
            }
            for (String name : found) {
                Optional<Maker> maker = maker(name);
                if (maker.isPresent() && tryLock(c, name, "pg_try_advisory_lock")) {
                    try (Statement s = c.createStatement()) {
                        s.execute("DROP DATABASE IF EXISTS " + PgSql.quoteIdent(name));
                        LOG.info(
                                "dropped scratch database {}: the restore test that made it (process {} of host {}) "
                                        + "ended without dropping it",
                                name,
                                maker.get().pid(),
                                maker.get().host());
                        dropped.add(name);
                    } catch (SQLException inUse) {
                        LOG.debug(
                                "left scratch database {}: {}", name, locks.redact(String.valueOf(inUse.getMessage())));
                    } finally {
                        tryLock(c, name, "pg_advisory_unlock");
                    }
                }
            }
        } catch (SQLException e) {
            LOG.warn("could not drop the scratch databases of earlier restore tests: {}", locks.redact(e.getMessage()));
        }
        return dropped;
    }

    private static boolean tryLock(Connection c, String name, String function) throws SQLException {
        try (PreparedStatement s = c.prepareStatement("SELECT " + function + "(?, hashtext(?))")) {
            s.setInt(1, LOCK_CLASS);
            s.setString(2, name);
            try (ResultSet rs = s.executeQuery()) {
                return rs.next() && rs.getBoolean(1);
            }
        }
    }

    /** This host, as 8 hex digits of a CRC-32C of its name. */
    static String host() {
        CRC32C crc = new CRC32C();
        crc.update(Hosts.name().getBytes(StandardCharsets.UTF_8));
        return String.format("%08x", crc.getValue());
    }
}
