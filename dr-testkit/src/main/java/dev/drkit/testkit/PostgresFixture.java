package dev.drkit.testkit;

import dev.drkit.BackupResult;
import dev.drkit.DrKit;
import dev.drkit.RestoreRequest;
import dev.drkit.Settings;
import dev.drkit.TargetSpec;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.Locale;
import java.util.Objects;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Supplier;
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.AfterEachCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.BeforeEachCallback;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.junit.jupiter.api.extension.ParameterContext;
import org.junit.jupiter.api.extension.ParameterResolver;

/**
 * A JUnit 5 extension that starts host tests from a real backup: a {@code postgres-logical}
 * backup (from a repository, or one captured from a live database with {@link #capture}) is
 * restored once per test class into the test's PostgreSQL as a template database, and every
 * test gets its own fresh clone ({@code CREATE DATABASE ... TEMPLATE}, a file copy: milliseconds,
 * however long the restore took). Works with any PostgreSQL the test reaches over JDBC: the
 * testkit's {@link PostgresServer} or a Testcontainers container.
 *
 * <pre>{@code
 * @RegisterExtension
 * static PostgresFixture fixture = PostgresFixture.builder()
 *         .repository("/var/backups/fixtures").target("corporate-intel-dump")   // the newest backup
 *         .server(() -> PostgresFixture.Server.of(pg))                          // or container.getJdbcUrl(), ...
 *         .build();
 *
 * @Test void reportRuns(FixtureDatabase db) throws SQLException {
 *     try (Connection c = db.connect()) { ... }                                  // a clone of its own
 * }
 * }</pre>
 *
 * <p>The PostgreSQL target module ({@code dr-postgres}) must be on the test class path.
 */
public final class PostgresFixture
        implements BeforeAllCallback, AfterAllCallback, BeforeEachCallback, AfterEachCallback, ParameterResolver {
    private static final ExtensionContext.Namespace NS = ExtensionContext.Namespace.create(PostgresFixture.class);

    private final Supplier<String> repository;
    private final String target;
    private final String backupId;
    private final Supplier<Server> server;
    private final AtomicInteger clones = new AtomicInteger();
    private final AtomicLong cloneNanos = new AtomicLong();
    private Server resolved;
    private String template;
    private double restoreSeconds;

    private PostgresFixture(Builder b) {
        this.repository = Objects.requireNonNull(b.repository, "repository");
        this.target = Objects.requireNonNull(b.target, "target");
        this.backupId = b.backupId;
        this.server = Objects.requireNonNull(b.server, "server");
    }

    public static Builder builder() {
        return new Builder();
    }

    /**
     * Where the fixture's PostgreSQL is: an admin JDBC URL (any database, usually
     * {@code postgres}) and a superuser or a role that may create databases.
     */
    public record Server(String adminJdbcUrl, String user, String password) {
        public static Server of(PostgresServer pg) {
            return new Server(pg.jdbcUrl("postgres"), PostgresServer.SUPERUSER, pg.password());
        }

        @Override
        public String toString() {
            return "Server[" + adminJdbcUrl + ", " + user + "]";
        }

        String url(String database) {
            return adminJdbcUrl.replaceFirst("^(jdbc:postgresql://[^/?]+)/[^?]*", "$1/" + database);
        }

        Connection admin() throws SQLException {
            return DriverManager.getConnection(adminJdbcUrl, user, password);
        }
    }

    /** The database a test gets: its own clone of the fixture. */
    public record FixtureDatabase(String name, String jdbcUrl, String user, String password) {
        public Connection connect() throws SQLException {
            return DriverManager.getConnection(jdbcUrl, user, password);
        }

        @Override
        public String toString() {
            return "FixtureDatabase[" + name + "]";
        }
    }

    /**
     * Takes a {@code postgres-logical} backup of a live database into a repository: the way to
     * make a fixture from a database prepared by hand or by a seeding script.
     *
     * @return the new backup's id
     */
    public static String capture(String repository, String target, String jdbcUrl, String user, String password) {
        try (DrKit kit = DrKit.builder().repository(repository).build()) {
            BackupResult r = kit.backup(new TargetSpec(
                    target,
                    "postgres-logical",
                    Settings.builder()
                            .set("url", jdbcUrl)
                            .set("user", user)
                            .set("password", password)
                            .build()));
            return r.id();
        }
    }

    @Override
    public void beforeAll(ExtensionContext context) throws Exception {
        resolved = server.get();
        template = "fixture_" + target.toLowerCase(Locale.ROOT).replaceAll("[^a-z0-9]", "_") + "_"
                + UUID.randomUUID().toString().substring(0, 8);
        long start = System.nanoTime();
        // made here, marked with this process first, and restored into: what a killed run leaves,
        // the next run on this host drops
        try (Connection c = resolved.admin();
                Statement s = c.createStatement()) {
            FixtureDatabases.dropLeftovers(c);
            s.execute("CREATE DATABASE " + template);
            FixtureDatabases.mark(s, template);
        }
        try (DrKit kit = DrKit.builder().repository(repository.get()).build()) {
            kit.restore(new RestoreRequest(
                    target,
                    backupId,
                    Settings.builder()
                            .set("url", resolved.adminJdbcUrl())
                            .set("user", resolved.user())
                            .set("password", resolved.password())
                            .set("to-database", template)
                            .build(),
                    true));
        } catch (RuntimeException e) {
            try (Connection c = resolved.admin();
                    Statement s = c.createStatement()) {
                s.execute("DROP DATABASE IF EXISTS " + template);
            }
            throw e;
        }
        try (Connection c = resolved.admin();
                Statement s = c.createStatement()) {
            // not IS_TEMPLATE: that would let every role that may create databases clone the backup's
            // data; its owner, the fixture's role, clones it unmarked
            s.execute("ALTER DATABASE " + template + " WITH ALLOW_CONNECTIONS false");
        }
        restoreSeconds = (System.nanoTime() - start) / 1e9;
        context.publishReportEntry("drkit.fixture.restoreSeconds", String.format(Locale.ROOT, "%.3f", restoreSeconds));
    }

    @Override
    public void beforeEach(ExtensionContext context) throws Exception {
        String name = template + "_t" + clones.incrementAndGet();
        long start = System.nanoTime();
        try (Connection c = resolved.admin();
                Statement s = c.createStatement()) {
            s.execute("CREATE DATABASE " + name + " TEMPLATE " + template);
            FixtureDatabases.mark(s, name);
        }
        cloneNanos.addAndGet(System.nanoTime() - start);
        context.getStore(NS)
                .put("db", new FixtureDatabase(name, resolved.url(name), resolved.user(), resolved.password()));
    }

    @Override
    public void afterEach(ExtensionContext context) throws Exception {
        FixtureDatabase db = context.getStore(NS).remove("db", FixtureDatabase.class);
        if (db != null) {
            try (Connection c = resolved.admin();
                    Statement s = c.createStatement()) {
                s.execute("DROP DATABASE IF EXISTS " + db.name() + " WITH (FORCE)");
            }
        }
    }

    @Override
    public void afterAll(ExtensionContext context) throws Exception {
        if (template != null) {
            try (Connection c = resolved.admin();
                    Statement s = c.createStatement()) {
                s.execute("DROP DATABASE IF EXISTS " + template);
            }
            context.publishReportEntry(
                    "drkit.fixture.perTestMillis", String.format(Locale.ROOT, "%.1f", perTestMillis()));
        }
    }

    /** How long the one restore took. */
    public double restoreSeconds() {
        return restoreSeconds;
    }

    /** The mean cost of one test's clone so far, in milliseconds. */
    public double perTestMillis() {
        int n = clones.get();
        return n == 0 ? 0 : cloneNanos.get() / 1e6 / n;
    }

    /** How many clones were made. */
    public int clones() {
        return clones.get();
    }

    @Override
    public boolean supportsParameter(ParameterContext parameter, ExtensionContext context) {
        return parameter.getParameter().getType() == FixtureDatabase.class;
    }

    @Override
    public Object resolveParameter(ParameterContext parameter, ExtensionContext context) {
        return context.getStore(NS).get("db", FixtureDatabase.class);
    }

    /** Builds the extension; repository, target and server are required. */
    public static final class Builder {
        private Supplier<String> repository;
        private String target;
        private String backupId;
        private Supplier<Server> server;

        /** The repository holding the backup (any {@code --repo} URI or path). */
        public Builder repository(String uri) {
            Objects.requireNonNull(uri, "uri");
            this.repository = () -> uri;
            return this;
        }

        /** A repository known only when the class starts (e.g. one a {@code @BeforeAll} step fills). */
        public Builder repository(Supplier<String> uri) {
            this.repository = Objects.requireNonNull(uri, "uri");
            return this;
        }

        /** The {@code postgres-logical} target whose backup is the fixture. */
        public Builder target(String target) {
            this.target = Objects.requireNonNull(target, "target");
            return this;
        }

        /** A particular backup (default: the newest). */
        public Builder backup(String id) {
            this.backupId = id;
            return this;
        }

        /** The PostgreSQL to restore into, asked for when the test class starts. */
        public Builder server(Supplier<Server> server) {
            this.server = Objects.requireNonNull(server, "server");
            return this;
        }

        public PostgresFixture build() {
            return new PostgresFixture(this);
        }
    }
}
