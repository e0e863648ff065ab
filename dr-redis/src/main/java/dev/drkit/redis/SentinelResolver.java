package dev.drkit.redis;

import dev.drkit.ConfigException;
import dev.drkit.DrException;
import dev.drkit.DrException.ErrorCode;
import dev.drkit.Settings;
import dev.drkit.spi.OptionSpec;
import dev.drkit.spi.OptionSpec.Type;
import dev.drkit.spi.support.Secrets;
import java.io.IOException;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * Finds the server to talk to through Redis Sentinel, the way Sentinel-aware clients do: each
 * sentinel in turn is asked {@code SENTINEL GET-MASTER-ADDR-BY-NAME}, and the address it names
 * is accepted only once that server says it is a master ({@code INFO replication}), so a backup
 * taken during or after a failover reaches the new master. With {@code read-from} {@code replica}
 * (or {@code replica-preferred}) a healthy replica from {@code SENTINEL REPLICAS} is chosen
 * instead, the one furthest along in replication. Sentinels' own credentials are separate
 * settings ({@code sentinel-user}, {@code sentinel-password-file}, ...); the URI's are the data
 * nodes'. Immutable.
 */
final class SentinelResolver {
    static final int DEFAULT_PORT = 26379;
    private static final String PLAIN = "redis-sentinel";
    private static final String TLS = "rediss-sentinel";

    /** A host and port as Sentinel names them (an IPv6 address without brackets). */
    record Address(String host, int port) {
        @Override
        public String toString() {
            return (host.contains(":") ? "[" + host + "]" : host) + ":" + port;
        }
    }

    /** What a {@code redis-sentinel://} URI says, before any server is asked. */
    record Parsed(List<Address> sentinels, String master, int database, String rawUserInfo, boolean tls) {
        /** Without the user info: it may hold a password. */
        @Override
        public String toString() {
            return "Parsed[sentinels=" + sentinels + ", master=" + master + ", database=" + database + ", tls=" + tls
                    + (rawUserInfo == null ? "" : ", userInfo=***") + "]";
        }
    }

    /** Settings only Sentinel URIs use (and {@link ReadFrom#OPTION}, which cluster backups share). */
    static final List<OptionSpec> OPTIONS = List.of(
            OptionSpec.builder("sentinel-user", Type.STRING)
                    .description("the ACL user to log in to the sentinels as")
                    .build(),
            OptionSpec.builder("sentinel-password", Type.STRING)
                    .secret()
                    .description("the sentinels' password, from the host's own configuration")
                    .build(),
            OptionSpec.builder("sentinel-password-file", Type.PATH)
                    .description("a file whose first line is the sentinels' password")
                    .build());

    private final Parsed parsed;
    private final ReadFrom readFrom;
    private final String user;
    private final String password;

    private SentinelResolver(Parsed parsed, ReadFrom readFrom, String user, String password) {
        this.parsed = parsed;
        this.readFrom = readFrom;
        this.user = user;
        this.password = password;
    }

    static boolean handles(String scheme) {
        String s = scheme.toLowerCase(Locale.ROOT);
        return PLAIN.equals(s) || TLS.equals(s);
    }

    /** The resolver for a parsed URI, with the sentinels' credentials and read-from from the settings. */
    static SentinelResolver of(Parsed parsed, Settings s) {
        // the sentinels' password is read the way every target reads one, from keys of its own and from
        // no environment variable (an empty name names none)
        Settings.Builder view = Settings.builder();
        s.get("sentinel-password").ifPresent(p -> view.set("password", p));
        s.get("sentinel-password-file").ifPresent(p -> view.set("password-file", p));
        view.set("password-env", "");
        String password = Secrets.password(view.build(), "");
        return new SentinelResolver(parsed, ReadFrom.of(s), s.get("sentinel-user", null), password);
    }

    /**
     * Parses {@code redis-sentinel://[user[:password]@]host[:port][,host[:port]...]/master[/db]}
     * ({@code rediss-sentinel://} for TLS to the sentinels and the servers).
     *
     * @throws ConfigException naming setting {@code key} and what is wrong
     */
    static Parsed parse(String text, String key) {
        String form = " (redis-sentinel://HOST:PORT,HOST:PORT/MASTER-NAME)";
        int sep = text.indexOf("://");
        String scheme = sep < 0 ? "" : text.substring(0, sep).toLowerCase(Locale.ROOT);
        if (!handles(scheme)) {
            throw new ConfigException("redis: setting '" + key + "' is not a Sentinel URI" + form);
        }
        String rest = text.substring(sep + 3);
        if (rest.indexOf('?') >= 0 || rest.indexOf('#') >= 0) {
            throw new ConfigException("redis: setting '" + key + "' takes no ?query or #fragment" + form);
        }
        // the user information ends at the last '@' (a password may hold '/' or ':' unencoded), and
        // nothing before it is ever shown in a message
        int at = rest.lastIndexOf('@');
        if (at >= 0 && rest.indexOf('@') != at) {
            // a password or a master name holding '@' (and '/'): which '@' ends the password cannot
            // be told, and a wrong guess would send the password to another host
            throw new ConfigException("redis: setting '" + key + "' holds more than one '@'; write an '@' or '/' "
                    + "in the password or the master name as %40 or %2F" + form);
        }
        String userInfo = at < 0 ? null : rest.substring(0, at);
        String afterUser = rest.substring(at + 1);
        int slash = afterUser.indexOf('/');
        String hosts = slash < 0 ? afterUser : afterUser.substring(0, slash);
        String path = slash < 0 ? "" : afterUser.substring(slash + 1);
        List<Address> sentinels = new ArrayList<>();
        for (String h : hosts.split(",", -1)) {
            sentinels.add(address(h.trim(), key, form));
        }
        String[] parts = path.split("/", -1);
        String master = parts.length > 0 ? decode(parts[0]) : "";
        if (master.isEmpty() || parts.length > 2 || master.chars().anyMatch(c -> c <= ' ' || c == 0x7f)) {
            throw new ConfigException("redis: setting '" + key + "' must end with the master's name as the "
                    + "sentinels know it, and optionally a database number" + form);
        }
        int db = 0;
        if (parts.length == 2 && !parts[1].isEmpty()) {
            try {
                db = Integer.parseInt(parts[1]);
            } catch (NumberFormatException e) {
                db = -1;
            }
            if (db < 0) {
                throw new ConfigException("redis: the database in setting '" + key + "' must be a number "
                        + "(redis-sentinel://HOST:PORT/MASTER-NAME/0)");
            }
        }
        return new Parsed(List.copyOf(sentinels), master, db, userInfo, TLS.equals(scheme));
    }

    private static Address address(String text, String key, String form) {
        String host;
        String port = null;
        if (text.startsWith("[")) {
            int close = text.indexOf(']');
            if (close < 0) {
                throw new ConfigException("redis: setting '" + key + "' has an unclosed IPv6 address" + form);
            }
            host = text.substring(1, close);
            String after = text.substring(close + 1);
            if (!after.isEmpty()) {
                if (!after.startsWith(":")) {
                    throw new ConfigException(
                            "redis: setting '" + key + "' has a bad sentinel address '" + text + "'" + form);
                }
                port = after.substring(1);
            }
        } else {
            int colon = text.lastIndexOf(':');
            host = colon < 0 ? text : text.substring(0, colon);
            port = colon < 0 ? null : text.substring(colon + 1);
        }
        if (host.isEmpty() || host.chars().anyMatch(c -> c <= ' ' || c == '/' || c == '@')) {
            throw new ConfigException("redis: setting '" + key + "' names a sentinel without a host" + form);
        }
        int p = DEFAULT_PORT;
        if (port != null) {
            try {
                p = Integer.parseInt(port);
            } catch (NumberFormatException e) {
                p = -1;
            }
            if (p < 1 || p > 65535) {
                throw new ConfigException(
                        "redis: setting '" + key + "' has a bad port in sentinel address '" + text + "'" + form);
            }
        }
        return new Address(host, p);
    }

    private static String decode(String s) {
        return URLDecoder.decode(s.replace("+", "%2B"), StandardCharsets.UTF_8);
    }

    ReadFrom readFrom() {
        return readFrom;
    }

    String master() {
        return parsed.master();
    }

    /**
     * The server to use: for writes always the master, else as setting {@code read-from} asks.
     *
     * @param endpoint connects (plain or TLS, with its timeout) and logs in to the data nodes
     * @throws DrException (retryable) when no sentinel names a usable server
     * @throws ConfigException when a sentinel or the named server rejects the credentials
     */
    Address resolve(RedisEndpoint endpoint, boolean forWrites) {
        boolean replica = !forWrites && readFrom != ReadFrom.MASTER;
        List<String> problems = new ArrayList<>();
        for (Address s : parsed.sentinels()) {
            try (RespConnection c =
                    RespConnection.open(endpoint.connect(s.host(), s.port()), "sentinel " + s, user, password)) {
                Optional<Address> master;
                Object reply;
                try {
                    reply = c.call("SENTINEL", "GET-MASTER-ADDR-BY-NAME", parsed.master());
                    master = addressIn(reply);
                } catch (RespConnection.RespError e) {
                    if (e.noAuth()) {
                        throw new ConfigException("sentinel " + s + " requires a password: give the sentinels' "
                                + "password in setting 'sentinel-password-file'");
                    }
                    problems.add(s + " answered " + e.getMessage());
                    continue;
                }
                if (master.isEmpty()) {
                    problems.add(s
                            + (reply instanceof List<?> ? " named no usable address for '" : " knows no master named '")
                            + parsed.master() + "'");
                    continue;
                }
                if (replica) {
                    Optional<Address> r = healthiestReplica(replicas(c));
                    String notReady = r.isPresent() ? notReady(endpoint, r.get()) : null;
                    if (r.isPresent() && notReady == null) {
                        return r.get();
                    }
                    if (notReady != null) {
                        problems.add(s + " names " + r.get() + " as a healthy replica, but " + notReady);
                    }
                    if (readFrom == ReadFrom.REPLICA) {
                        problems.add(s + " knows no healthy replica of '" + parsed.master() + "'");
                        continue;
                    }
                }
                String role = roleOf(endpoint, master.get());
                if (!role.equals("master") && !role.equals("unknown")) {
                    problems.add(s + " names " + master.get() + " as the master, but it is a " + role
                            + " (a failover under way?)");
                    continue;
                }
                return master.get();
            } catch (IOException | DrException e) {
                if (e instanceof ConfigException c) {
                    throw c;
                }
                problems.add(s + ": " + endpoint.redact(String.valueOf(e.getMessage())));
            }
        }
        throw new DrException(
                ErrorCode.TARGET,
                "no sentinel of " + describe() + " named a usable " + (replica ? "replica" : "master") + ": "
                        + String.join("; ", problems)
                        + "; check that the sentinels are up and monitor '" + parsed.master() + "'",
                null,
                true);
    }

    /** {@code SENTINEL REPLICAS}, or none when the sentinel refuses it (replica-preferred then takes the master). */
    private Object replicas(RespConnection sentinel) throws IOException {
        try {
            return sentinel.call("SENTINEL", "REPLICAS", parsed.master());
        } catch (RespConnection.RespError e) {
            return null;
        }
    }

    /** The role a server reports, or {@code unknown} when it does not say (INFO not permitted). */
    private static String roleOf(RedisEndpoint endpoint, Address server) throws IOException {
        return info(endpoint, server, "replication").getOrDefault("role", "unknown");
    }

    /**
     * Why a replica a sentinel named cannot give a current snapshot (not a replica, not linked to
     * its master, loading), as the server itself says; null when it can, or does not say (INFO not
     * permitted). A sentinel's view is seconds old, or the sentinel's own.
     */
    private static String notReady(RedisEndpoint endpoint, Address replica) {
        Map<String, String> info;
        try {
            info = info(endpoint, replica, "replication", "persistence");
        } catch (IOException | DrException e) {
            if (e instanceof ConfigException c) {
                throw c;
            }
            return "it cannot be reached (" + endpoint.redact(String.valueOf(e.getMessage())) + ")";
        }
        String role = info.getOrDefault("role", "slave");
        if (!role.equals("slave")) {
            return "it is a " + role;
        }
        if (!info.getOrDefault("master_link_status", "up").equals("up")) {
            return "its link to its master is down";
        }
        return info.getOrDefault("loading", "0").equals("0") ? null : "it is loading its data";
    }

    /** The fields of INFO sections of a data node; none when it may not be asked. */
    private static Map<String, String> info(RedisEndpoint endpoint, Address server, String... sections)
            throws IOException {
        try (RespConnection c = RespConnection.open(
                endpoint.connect(server.host(), server.port()),
                server.toString(),
                endpoint.user(),
                endpoint.password())) {
            Map<String, String> fields = new HashMap<>();
            for (String section : sections) {
                fields.putAll(RedisTarget.infoFields(c.text("INFO", section)));
            }
            return fields;
        } catch (RespConnection.RespError e) {
            return Map.of();
        }
    }

    private static Optional<Address> addressIn(Object reply) {
        if (reply instanceof List<?> l
                && l.size() == 2
                && l.get(0) instanceof String host
                && l.get(1) instanceof String port) {
            try {
                int p = Integer.parseInt(port);
                if (RedisEndpoint.isHost(host) && p > 0 && p <= 65535) {
                    return Optional.of(new Address(host, p));
                }
            } catch (NumberFormatException e) {
                return Optional.empty();
            }
        }
        return Optional.empty();
    }

    /** The replica that is up, linked to its master and furthest along, from {@code SENTINEL REPLICAS}. */
    static Optional<Address> healthiestReplica(Object reply) {
        if (!(reply instanceof List<?> replicas)) {
            return Optional.empty();
        }
        Address best = null;
        long bestOffset = Long.MIN_VALUE;
        for (Object r : replicas) {
            Map<String, String> fields = fields(r);
            Set<String> flags = Set.of(fields.getOrDefault("flags", "").split(","));
            if (!flags.contains("slave")
                    || flags.contains("s_down")
                    || flags.contains("o_down")
                    || flags.contains("disconnected")
                    || !"ok".equals(fields.get("master-link-status"))) {
                continue;
            }
            Optional<Address> a = addressIn(List.of(fields.getOrDefault("ip", ""), fields.getOrDefault("port", "")));
            long offset;
            try {
                offset = Long.parseLong(fields.getOrDefault("slave-repl-offset", "0"));
            } catch (NumberFormatException e) {
                offset = 0;
            }
            if (a.isPresent() && offset > bestOffset) {
                best = a.get();
                bestOffset = offset;
            }
        }
        return Optional.ofNullable(best);
    }

    private static Map<String, String> fields(Object entry) {
        Map<String, String> m = new HashMap<>();
        if (entry instanceof List<?> l) {
            for (int i = 0; i + 1 < l.size(); i += 2) {
                if (l.get(i) instanceof String k && l.get(i + 1) instanceof String v) {
                    m.put(k, v);
                }
            }
        }
        return m;
    }

    /** The URI without credentials, e.g. {@code redis-sentinel://10.0.0.5:26379,10.0.0.6:26379/cache}. */
    String describe() {
        StringBuilder b = new StringBuilder(parsed.tls() ? TLS : PLAIN).append("://");
        for (int i = 0; i < parsed.sentinels().size(); i++) {
            b.append(i > 0 ? "," : "").append(parsed.sentinels().get(i));
        }
        return b.append('/')
                .append(parsed.master())
                .append(parsed.database() != 0 ? "/" + parsed.database() : "")
                .toString();
    }
}
