package dev.drkit.testkit;

import dev.drkit.spi.support.Hosts;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The databases of {@link PostgresFixture}s: each carries, as its comment, the process that made
 * it, so that the fixture of a later test run on the same host drops those a killed run left (a
 * template and clones, a copy of the backup's data each) on a server that outlives test runs.
 */
final class FixtureDatabases {
    static final String PREFIX = "fixture_";
    private static final Pattern MARKER =
            Pattern.compile("drkit fixture of process (\\d{1,10}) started (\\d{1,15}) on host (\\S+)");

    private FixtureDatabases() {}

    /** The comment that names this process. */
    static String marker() {
        return marker(
                ProcessHandle.current().pid(),
                startMillis(ProcessHandle.current()).orElse(0L),
                Hosts.name());
    }

    static String marker(long pid, long startMillis, String host) {
        return "drkit fixture of process " + pid + " started " + startMillis + " on host " + host;
    }

    static void mark(Statement s, String database) throws SQLException {
        s.execute("COMMENT ON DATABASE " + quote(database) + " IS '" + marker().replace("'", "''") + "'");
    }

    /** Drops the fixture databases whose process ran on this host and is gone; returns their names. */
    static List<String> dropLeftovers(Connection admin) throws SQLException {
        List<String> gone = new ArrayList<>();
        try (Statement s = admin.createStatement();
                ResultSet rs = s.executeQuery("SELECT datname, shobj_description(oid, 'pg_database') FROM pg_database"
                        + " WHERE datname LIKE 'fixture\\_%'")) {
            while (rs.next()) {
                Matcher m = MARKER.matcher(String.valueOf(rs.getString(2)));
                if (m.matches()
                        && m.group(3).equals(Hosts.name())
                        && !alive(Long.parseLong(m.group(1)), Long.parseLong(m.group(2)))) {
                    gone.add(rs.getString(1));
                }
            }
        }
        for (String database : gone) {
            try (Statement s = admin.createStatement()) {
                s.execute("DROP DATABASE IF EXISTS " + quote(database) + " WITH (FORCE)");
            }
        }
        return gone;
    }

    private static boolean alive(long pid, long startMillis) {
        return ProcessHandle.of(pid)
                .flatMap(FixtureDatabases::startMillis)
                .map(start -> start == startMillis)
                .orElse(false);
    }

    private static Optional<Long> startMillis(ProcessHandle process) {
        return process.info().startInstant().map(Instant::toEpochMilli);
    }

    static String quote(String identifier) {
        return "\"" + identifier.replace("\"", "\"\"") + "\"";
    }
}
