package dev.drkit.failover;

import dev.drkit.Settings;
import java.math.BigDecimal;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Clock;
import java.time.Duration;
import java.util.Objects;
import java.util.Properties;
import javax.sql.DataSource;

/**
 * Healthy when a new connection runs the query (default {@code SELECT 1}) within the timeout
 * (default 5 s) and its first row's first value is true or a positive number. Connections come
 * from the host's {@link DataSource} or from a JDBC URL with a user and password (the driver must
 * be on the class path); the password never appears in results, messages or {@link #toString()}.
 * Immutable and thread-safe.
 */
public final class SqlHealthCheck implements HealthCheck {
    private final Builder b;
    /** The probes of checks that timed out, while they run on (a stuck pool or driver): a few at most are left behind. */
    private final Probe.Stuck stuck = new Probe.Stuck();

    private SqlHealthCheck(Builder b) {
        this.b = b;
    }

    /** A builder; give {@link Builder#dataSource} or {@link Builder#jdbcUrl}. */
    public static Builder builder(String name) {
        return new Builder(Objects.requireNonNull(name, "name"));
    }

    @Override
    public String name() {
        return b.name;
    }

    @Override
    public HealthResult check() {
        return Probe.run(b.name, "sql", b.clock, () -> Probe.within(b.timeout.plusSeconds(2), stuck, this::probe));
    }

    private String probe() throws Exception {
        try (Connection c = open();
                Statement s = c.createStatement()) {
            s.setQueryTimeout((int) Math.max(1, b.timeout.toSeconds()));
            try (ResultSet rs = s.executeQuery(b.query)) {
                if (!rs.next()) {
                    throw new Probe.Unhealthy("the query returned no row: " + b.query);
                }
                String v = rs.getString(1);
                if (!truthy(v)) {
                    throw new Probe.Unhealthy("the query returned " + v + " (expected true or > 0): " + b.query);
                }
                return "query returned " + v;
            }
        } catch (SQLException e) {
            throw new Probe.Unhealthy(redact(Probe.describe(e)));
        }
    }

    private Connection open() throws SQLException {
        if (b.dataSource != null) {
            return b.dataSource.getConnection();
        }
        Properties p = new Properties();
        if (b.user != null) {
            p.setProperty("user", b.user);
        }
        if (b.password != null) {
            p.setProperty("password", b.password);
        }
        String seconds = String.valueOf(Math.max(1, b.timeout.toSeconds()));
        // understood by pgjdbc (and ignored by drivers that do not know them)
        p.setProperty("connectTimeout", seconds);
        p.setProperty("loginTimeout", seconds);
        p.setProperty("socketTimeout", String.valueOf(Math.max(1, b.timeout.toSeconds()) + 1));
        return DriverManager.getConnection(b.jdbcUrl, p);
    }

    private String redact(String text) {
        String out = b.password == null || b.password.isEmpty() ? text : text.replace(b.password, "****");
        // a driver's message may quote the URL, and with it a password in its query (?password=)
        return Settings.redact(out);
    }

    static boolean truthy(String v) {
        if (v == null) {
            return false;
        }
        if (v.equals("t") || v.equalsIgnoreCase("true")) {
            return true;
        }
        try {
            return new BigDecimal(v.trim()).signum() > 0;
        } catch (NumberFormatException e) {
            return false;
        }
    }

    @Override
    public String toString() {
        String where = b.dataSource != null ? "a data source" : Settings.redact(b.jdbcUrl.replaceAll("[?;].*", ""));
        return "SqlHealthCheck[" + b.name + ", " + where + "]";
    }

    /** Builds a {@link SqlHealthCheck}; not thread-safe, arguments are checked at each call. */
    public static final class Builder {
        private final String name;
        private DataSource dataSource;
        private String jdbcUrl;
        private String user;
        private String password;
        private String query = "SELECT 1";
        private Duration timeout = Duration.ofSeconds(5);
        private Clock clock = Clock.systemUTC();

        private Builder(String name) {
            this.name = name;
        }

        /** Connections from the host's own pool (it owns them; drkit closes each one it took). */
        public Builder dataSource(DataSource dataSource) {
            this.dataSource = Objects.requireNonNull(dataSource, "dataSource");
            return this;
        }

        /**
         * Connections from {@link DriverManager}.
         *
         * @param jdbcUrl e.g. {@code jdbc:postgresql://127.0.0.1:5432/postgres}; keep credentials out of it
         * @param user the user, or null for the driver's default
         * @param password the password, or null
         */
        public Builder jdbcUrl(String jdbcUrl, String user, String password) {
            if (jdbcUrl == null || !jdbcUrl.startsWith("jdbc:")) {
                throw new IllegalArgumentException("a SQL health check needs a jdbc: URL");
            }
            this.jdbcUrl = jdbcUrl;
            this.user = user;
            this.password = password;
            return this;
        }

        /** The query; its first value must be true or positive (default {@code SELECT 1}). */
        public Builder query(String query) {
            if (query == null || query.isBlank()) {
                throw new IllegalArgumentException("a SQL health check needs a query");
            }
            this.query = query;
            return this;
        }

        /** Connection and query timeout, whole seconds at least 1 (default 5 s). */
        public Builder timeout(Duration timeout) {
            this.timeout = Probe.positive(timeout, "timeout");
            return this;
        }

        /** Where result times come from (default the system clock in UTC). */
        public Builder clock(Clock clock) {
            this.clock = Objects.requireNonNull(clock, "clock");
            return this;
        }

        /**
         * The check.
         *
         * @throws IllegalArgumentException when neither a data source nor a JDBC URL was given
         */
        public SqlHealthCheck build() {
            if (dataSource == null && jdbcUrl == null) {
                throw new IllegalArgumentException("a SQL health check needs a dataSource or a jdbcUrl");
            }
            Builder copy = new Builder(name);
            copy.dataSource = dataSource;
            copy.jdbcUrl = jdbcUrl;
            copy.user = user;
            copy.password = password;
            copy.query = query;
            copy.timeout = timeout;
            copy.clock = clock;
            return new SqlHealthCheck(copy);
        }
    }
}
