package dev.drkit.postgres;

import dev.drkit.BackupManifest;
import dev.drkit.ConfigException;
import dev.drkit.CorruptDataException;
import dev.drkit.Settings;
import dev.drkit.spi.OptionSchema;
import dev.drkit.spi.OptionSpec;
import dev.drkit.spi.OptionSpec.Type;
import dev.drkit.spi.support.Secrets;
import java.net.URI;
import java.net.URLDecoder;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.regex.Pattern;

/**
 * Where and as whom to connect: a JDBC URL ({@code jdbc:postgresql://host:port/db?sslmode=..}),
 * a user, and a password read from {@code password-file}, the environment variable named
 * by {@code password-env} (default {@code PGPASSWORD}), or given by the host's configuration
 * as {@code password}. The password is handed to the
 * PostgreSQL tools in their environment, never through arguments or files, and never
 * appears in {@link #toString()} or messages.
 */
final class PgConnection {
    private final String host;
    private final int port;
    private final String database;
    private final String user;
    private final String password;
    private final Map<String, String> params;

    private PgConnection(
            String host, int port, String database, String user, String password, Map<String, String> params) {
        this.host = host;
        this.port = port;
        this.database = database;
        this.user = user;
        this.password = password;
        this.params = params;
    }

    /** The options {@link #from} reads. */
    static final List<OptionSpec> OPTIONS = options();

    private static List<OptionSpec> options() {
        List<OptionSpec> all = new ArrayList<>();
        all.add(OptionSpec.builder("url", Type.STRING)
                .required()
                .description("the server, jdbc:postgresql://HOST:PORT/DATABASE[?sslmode=...]")
                .build());
        all.add(OptionSpec.builder("user", Type.STRING)
                .description("the user to connect as (default: the URL's, else the system user)")
                .build());
        all.addAll(Secrets.passwordOptions("PGPASSWORD"));
        return List.copyOf(all);
    }

    /** {@link #OPTIONS} and then {@code more}, as one schema. */
    static OptionSchema schema(OptionSpec... more) {
        List<OptionSpec> all = new ArrayList<>(OPTIONS);
        all.addAll(List.of(more));
        return OptionSchema.of(all);
    }

    /** Reads {@code url}, {@code user}, {@code password-file} / {@code password-env} from settings. */
    static PgConnection from(Settings s) {
        String url = s.get("url")
                .orElseThrow(() -> new ConfigException(
                        "postgres: give the server as setting 'url' (jdbc:postgresql://HOST:PORT/DATABASE)"));
        if (!url.startsWith("jdbc:postgresql://")) {
            throw new ConfigException("postgres: setting 'url' must start with jdbc:postgresql://, not '"
                    + url.replaceAll("\\?.*", "").replaceAll("(^|//).*@", "$1") + "'"); // no credentials
        }
        URI uri;
        try {
            uri = URI.create(url.substring("jdbc:".length()));
        } catch (IllegalArgumentException e) {
            // URI's message quotes the whole URL, and with it a password in its query
            throw new ConfigException("postgres: setting 'url' is not a valid URL "
                    + "(jdbc:postgresql://HOST:PORT/DATABASE); percent-encode special characters, and give "
                    + "the password as setting 'password-file' rather than in the URL");
        }
        if (uri.getHost() == null && uri.getRawAuthority() != null) {
            // java.net.URI takes no underscore in a host name, nor pgjdbc's host1,host2 list: never
            // fall back to localhost for a server that was named
            throw new ConfigException("postgres: setting 'url' names the server '"
                    + uri.getRawAuthority().replaceAll(".*@", "")
                    + "', which drkit cannot use as one host: give one host name (letters, digits, '-' and '.') "
                    + "or address, e.g. jdbc:postgresql://HOST:PORT/DATABASE");
        }
        String db = uri.getPath() == null || uri.getPath().length() <= 1
                ? "postgres"
                : uri.getPath().substring(1);
        Map<String, String> params = new LinkedHashMap<>();
        if (uri.getRawQuery() != null) {
            for (String kv : uri.getRawQuery().split("&")) {
                int eq = kv.indexOf('=');
                if (eq > 0) {
                    params.put(kv.substring(0, eq), URLDecoder.decode(kv.substring(eq + 1), StandardCharsets.UTF_8));
                }
            }
        }
        String user = s.get("user").orElse(params.getOrDefault("user", System.getProperty("user.name")));
        params.remove("user");
        // a password in the URL is taken out of it, so that it is handled (and redacted) like any other
        String inUrl = params.remove("password");
        String password = Secrets.password(s, "PGPASSWORD");
        return new PgConnection(
                uri.getHost() == null ? "localhost" : uri.getHost(),
                uri.getPort() < 0 ? 5432 : uri.getPort(),
                db,
                user,
                password != null ? password : inUrl,
                params);
    }

    /** The same server and credentials, another database. */
    PgConnection withDatabase(String db) {
        return new PgConnection(host, port, db, user, password, params);
    }

    String database() {
        return database;
    }

    /**
     * The option that names {@code database} to pg_dump or pg_restore. Given bare, the tools read a
     * name with {@code =} (or a URI prefix) as a connection string, and one that starts with
     * {@code -} as an option; quoted as a connection string's {@code dbname}, any name is a name.
     */
    static String dbnameOption(String database) {
        return "--dbname=dbname='" + database.replace("\\", "\\\\").replace("'", "\\'") + "'";
    }

    String user() {
        return user;
    }

    String password() {
        return password;
    }

    /** The JDBC URL without credentials, for connections with properties of their own. */
    String jdbcUrl() {
        StringBuilder b = new StringBuilder("jdbc:postgresql://" + host + ":" + port + "/" + database);
        char sep = '?';
        for (Map.Entry<String, String> e : params.entrySet()) {
            b.append(sep)
                    .append(e.getKey())
                    .append('=')
                    .append(URLEncoder.encode(e.getValue(), StandardCharsets.UTF_8));
            sep = '&';
        }
        return b.toString();
    }

    Connection open() throws SQLException {
        return DriverManager.getConnection("jdbc:postgresql://" + host + ":" + port + "/" + database, properties());
    }

    /**
     * A connection that gives up after {@code timeout} (connecting, logging in, and any one
     * answer): for servers that may be down or hung, as during a failover.
     */
    Connection open(Duration timeout) throws SQLException {
        Properties p = properties();
        String seconds = String.valueOf(Math.max(1, timeout.toSeconds()));
        p.setProperty("connectTimeout", seconds);
        p.setProperty("loginTimeout", seconds);
        p.setProperty("socketTimeout", seconds);
        return DriverManager.getConnection("jdbc:postgresql://" + host + ":" + port + "/" + database, p);
    }

    /** {@code host:port}, for reports and traffic switches. */
    String endpoint() {
        return host + ":" + port;
    }

    private Properties properties() {
        Properties p = new Properties();
        params.forEach(p::setProperty);
        p.setProperty("user", user);
        if (password != null) {
            p.setProperty("password", password);
        }
        p.setProperty("ApplicationName", "drkit");
        return p;
    }

    /**
     * Environment for pg_dump, pg_restore and psql: server, user and database, TLS settings,
     * and the password ({@code PGPASSWORD}, see {@link PgTools} for why not a file).
     */
    Map<String, String> toolEnvironment() {
        Map<String, String> env = new LinkedHashMap<>();
        env.put("PGHOST", host);
        env.put("PGPORT", String.valueOf(port));
        env.put("PGUSER", user);
        env.put("PGDATABASE", database);
        env.put("PGAPPNAME", "drkit");
        copy(env, "sslmode", "PGSSLMODE");
        copy(env, "sslrootcert", "PGSSLROOTCERT");
        copy(env, "sslcert", "PGSSLCERT");
        copy(env, "sslkey", "PGSSLKEY");
        if (password != null) {
            env.put("PGPASSWORD", password);
        }
        return env;
    }

    private void copy(Map<String, String> env, String param, String variable) {
        if (params.containsKey(param)) {
            env.put(variable, params.get(param));
        }
    }

    /** Whether an error text could contain the password (never print it then). */
    String redact(String text) {
        return Settings.mask(text, password);
    }

    /** What {@link #recordedUrl} writes: a host name or address, a port, a database, no parameters. */
    private static final Pattern RECORDED_URL =
            Pattern.compile("jdbc:postgresql://(?:[A-Za-z0-9.-]+|\\[[0-9A-Fa-f:.]+\\]):\\d{1,5}/[^?#]*");

    /**
     * {@code options} with the server and user a backup recorded (metadata {@code server},
     * {@code user}) when they name no {@code url}: a restore or restore test on the same server
     * then needs only a password.
     */
    static Settings withRecordedServer(Settings options, BackupManifest manifest) {
        Object server = manifest.metadata().get("server");
        if (options.has("url") || server == null) {
            return options; // given, or an older backup: from() names the missing setting
        }
        // the manifest's word, which whoever can write the repository chooses: a URL as drkit
        // records it and nothing more, never connection parameters (sslmode=disable, an sslfactory
        // that trusts any certificate, server options) that the restore's password would go with
        if (!(server instanceof String recorded)
                || !RECORDED_URL.matcher(recorded).matches()) {
            throw new CorruptDataException("backup " + manifest.id() + " records its server (metadata 'server') "
                    + "otherwise than drkit writes it (jdbc:postgresql://HOST:PORT/DATABASE, no parameters): the "
                    + "manifest is damaged or forged; give the server to restore to as setting 'url'");
        }
        Settings.Builder b = options.toBuilder().set("url", recorded);
        Object user = manifest.metadata().get("user");
        if (!options.has("user") && user != null) {
            b.set("user", String.valueOf(user));
        }
        return b.build();
    }

    /**
     * Where the server is, for a manifest: host, port and database as a JDBC URL, without the
     * user, the password or any connection parameter (some of which hold secrets).
     */
    String recordedUrl() {
        return "jdbc:postgresql://" + host + ":" + port + "/" + database;
    }

    @Override
    public String toString() {
        return "postgresql://" + user + "@" + host + ":" + port + "/" + database;
    }
}
