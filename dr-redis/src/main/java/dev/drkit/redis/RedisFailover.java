package dev.drkit.redis;

import dev.drkit.ConfigException;
import dev.drkit.DrListener;
import dev.drkit.Settings;
import dev.drkit.failover.Failover;
import dev.drkit.failover.FailoverBuilder;
import dev.drkit.failover.FailoverReport;
import dev.drkit.failover.FailoverRun;
import dev.drkit.failover.FailoverRun.Refusal;
import dev.drkit.failover.Promotion;
import dev.drkit.failover.TrafficSwitch;
import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisCommandExecutionException;
import io.lettuce.core.RedisException;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.codec.StringCodec;
import io.lettuce.core.output.StatusOutput;
import io.lettuce.core.protocol.CommandArgs;
import io.lettuce.core.protocol.CommandType;
import io.lettuce.core.sentinel.api.StatefulRedisSentinelConnection;
import io.netty.channel.ConnectTimeoutException;
import java.net.ConnectException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.NoRouteToHostException;
import java.net.SocketAddress;
import java.net.URI;
import java.net.UnknownHostException;
import java.time.Clock;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Set;

/**
 * Promotes a Redis replica when its master is lost, in checked steps, one of two ways:
 *
 * <ul>
 *   <li><b>replica</b> ({@code replica-uri}): <i>check replica</i> (its role must be replica; its
 *       link status and replication offset are read), <i>check old master</i> (the one the replica
 *       names, or {@code master-uri}: whether it answers as a master, and its offset), <i>check
 *       replication lag</i> (the master's offset minus the replica's, refused above
 *       {@code max-lag} bytes unless forced), <i>fence old master</i> (a master that still answers
 *       as master is refused unless forced: two masters would split the data), <i>promote</i>
 *       ({@code REPLICAOF NO ONE}), <i>await role</i> (until the replica reports role master),
 *       <i>switch traffic</i>.
 *   <li><b>sentinel</b> ({@code sentinel-uri} and {@code master-name}): <i>ask sentinel</i> (the
 *       current master and its replicas), <i>promote</i> ({@code SENTINEL FAILOVER name}),
 *       <i>await new master</i> (until Sentinel names another master), <i>switch traffic</i>.
 *       Sentinel does its own fencing and lag checks.
 * </ul>
 *
 * <p>A dry run runs every check and reports what it would promote and switch. Connection keys as
 * a Redis target's, prefixed: {@code replica-uri}, {@code replica-password-file}, ...,
 * {@code master-uri}, {@code master-password-file}, ..., {@code sentinel-uri},
 * {@code sentinel-password-file}, ...; also {@code master-name}, {@code max-lag} (bytes, default
 * 1MiB), {@code promote-timeout} (default 60s), {@code force}, {@code dry-run}, {@code name}.
 * Passwords never appear in reports or events.
 *
 * <p>Immutable; {@link #run()} may be called again (a second run finds a master and refuses).
 */
public final class RedisFailover implements Failover {
    static final String SYSTEM = "redis";
    private static final Duration CHECK_TIMEOUT = Duration.ofSeconds(5);

    private final String name;
    private final Settings replica;
    private final Settings master;
    private final Settings sentinel;
    private final String masterName;
    private final long maxLagBytes;
    private final Duration maxLinkDown;
    private final Duration promoteTimeout;
    private final boolean force;
    private final boolean dryRun;
    private final TrafficSwitch traffic;
    private final List<DrListener> listeners;
    private final Clock clock;

    private RedisFailover(Builder b, FailoverBuilder.Common common) {
        this.name = b.name;
        this.replica = b.replica;
        this.master = b.master;
        this.sentinel = b.sentinel;
        this.masterName = b.masterName;
        this.maxLagBytes = b.maxLagBytes;
        this.maxLinkDown = b.maxLinkDown;
        this.promoteTimeout = b.promoteTimeout;
        this.force = common.force();
        this.dryRun = common.dryRun();
        this.traffic = common.traffic();
        this.listeners = common.listeners();
        this.clock = common.clock();
    }

    /** A builder; give {@link Builder#replica} or {@link Builder#sentinel}. */
    public static Builder builder() {
        return new Builder();
    }

    /**
     * A builder filled from settings keys (see the class comment).
     *
     * @throws ConfigException naming what is missing or invalid
     */
    public static Builder fromSettings(Settings s) {
        Builder b = builder().name(s.get("name", "redis"));
        Settings replicaSettings = prefixed(s, "replica-");
        Settings sentinelSettings = prefixed(s, "sentinel-");
        if (replicaSettings.has("uri")) {
            b.replica(replicaSettings);
        }
        if (sentinelSettings.has("uri")) {
            b.sentinel(sentinelSettings, s.get("master-name", null));
        }
        Settings masterSettings = prefixed(s, "master-");
        if (masterSettings.has("uri")) {
            b.master(masterSettings);
        }
        s.size("max-lag").ifPresent(b::maxLagBytes);
        s.duration("max-link-down").ifPresent(b::maxLinkDown);
        s.duration("promote-timeout").ifPresent(b::promoteTimeout);
        return b.force(s.bool("force", false)).dryRun(s.bool("dry-run", false));
    }

    private static Settings prefixed(Settings s, String prefix) {
        Settings.Builder out = Settings.builder();
        for (String k : s.keys()) {
            if (k.startsWith(prefix) && !k.equals("master-name")) {
                out.addAll(k.substring(prefix.length()), s.getAll(k));
            }
        }
        return out.build();
    }

    @Override
    public FailoverReport run() {
        return FailoverRun.execute(
                name, SYSTEM, dryRun, listeners, clock, sentinel != null ? this::viaSentinel : this::direct);
    }

    /** INFO replication of a server, as key/value pairs. */
    private record Replication(String where, Map<String, String> fields) {
        String get(String key) {
            return fields.getOrDefault(key, "");
        }

        long offset(String key) {
            try {
                return Long.parseLong(get(key));
            } catch (NumberFormatException e) {
                return -1;
            }
        }

        boolean isMaster() {
            return "master".equals(get("role"));
        }
    }

    private static Replication replication(Settings server) {
        RedisEndpoint endpoint = RedisEndpoint.from(server, "uri");
        RedisClient client = endpoint.client();
        try (StatefulRedisConnection<String, String> c = client.connect()) {
            Map<String, String> fields = new LinkedHashMap<>();
            for (String line : c.sync().info("replication").split("\r?\n")) {
                int colon = line.indexOf(':');
                if (colon > 0 && !line.startsWith("#")) {
                    fields.put(
                            line.substring(0, colon), line.substring(colon + 1).strip());
                }
            }
            return new Replication(where(server), fields);
        } catch (RedisException e) {
            throw endpoint.unreachable(e);
        } finally {
            RedisEndpoint.shutdown(client);
        }
    }

    /** {@code host:port} of a server's settings, without credentials. */
    private static String where(Settings server) {
        URI uri = URI.create(server.require("uri"));
        return uri.getHost() + ":" + port(uri);
    }

    /** The port a Redis URI names, 6379 when it names none. */
    private static int port(URI uri) {
        return uri.getPort() < 0 ? 6379 : uri.getPort();
    }

    /**
     * Whether the server {@code master} names is the one the replica replicates from: the same
     * port, and a host that is spelled alike or resolves to an address the replica's names
     * (a host name given where the replica holds an address).
     */
    private static boolean sameServer(Settings master, Replication rep) {
        URI uri = URI.create(master.require("uri"));
        String port = String.valueOf(port(uri));
        String host = uri.getHost() == null ? "" : uri.getHost().replaceAll("^\\[|\\]$", "");
        String theirs = rep.get("master_host");
        if (!port.equals(rep.get("master_port")) || host.isEmpty() || theirs.isEmpty()) {
            return false;
        }
        if (host.equalsIgnoreCase(theirs)) {
            return true;
        }
        try {
            Set<InetAddress> named = Set.of(InetAddress.getAllByName(theirs));
            for (InetAddress a : InetAddress.getAllByName(host)) {
                if (named.contains(a)) {
                    return true;
                }
            }
            return false;
        } catch (UnknownHostException e) {
            return false;
        }
    }

    /** {@code host:port}, an IPv6 address in brackets as in a URI. */
    private static String hostPort(String host, String port) {
        return (host.contains(":") ? "[" + host + "]" : host) + ":" + port;
    }

    /**
     * The master a replica names, with the replica's scheme and login (a password in its URI too):
     * one set, one password, as the replica's {@code masterauth} usually is.
     */
    private static Settings namedMaster(Settings replica, Replication rep) throws Refusal {
        if (rep.get("master_host").isEmpty()) {
            throw new Refusal(rep.where() + " names no master; give the old master (setting 'master-uri')");
        }
        URI r = URI.create(replica.require("uri"));
        String userInfo = r.getRawUserInfo();
        return replica.toBuilder()
                .set(
                        "uri",
                        r.getScheme() + "://" + (userInfo != null ? userInfo + "@" : "")
                                + hostPort(rep.get("master_host"), rep.get("master_port")))
                .build();
    }

    /** Whether no connection was made at all (refused, no route, unknown host, connect timeout), not one that said no. */
    private static boolean noConnection(Throwable e) {
        for (Throwable c = e; c != null; c = c.getCause()) {
            if (c instanceof ConnectException
                    || c instanceof NoRouteToHostException
                    || c instanceof UnknownHostException
                    || c instanceof ConnectTimeoutException) {
                return true;
            }
        }
        return false;
    }

    /** The innermost words of a failure (Lettuce wraps NOAUTH in "Unable to connect"). */
    private static String why(Throwable e) {
        String words = null;
        for (Throwable c = e; c != null; c = c.getCause()) {
            if (c.getMessage() != null && !c.getMessage().isBlank()) {
                words = c.getMessage();
            }
        }
        return words != null ? words : "no answer";
    }

    private static Settings quick(Settings server) {
        return server.has("timeout")
                ? server
                : server.toBuilder()
                        .set("timeout", CHECK_TIMEOUT.toSeconds() + "s")
                        .build();
    }

    private String direct(FailoverRun run) throws Exception {
        Replication[] seen = new Replication[2];
        run.step("check replica", () -> {
            Replication r = replication(quick(replica));
            if (r.isMaster()) {
                throw new Refusal(r.where() + " is not a replica (its role is master), so there is nothing to "
                        + "promote; check setting 'replica-uri'");
            }
            seen[0] = r;
            return r.where() + " replicates from " + r.get("master_host") + ":" + r.get("master_port") + ", link "
                    + r.get("master_link_status") + ", offset " + r.get("slave_repl_offset")
                    + ("down".equals(r.get("master_link_status"))
                            ? ", down for " + r.get("master_link_down_since_seconds") + " s"
                            : ", last contact " + r.get("master_last_io_seconds_ago") + " s ago");
        });
        Replication rep = seen[0];
        String named = hostPort(rep.get("master_host"), rep.get("master_port"));
        Settings oldMaster = master != null ? master : namedMaster(replica, rep);
        String[] unchecked = new String[1];
        run.step("check old master", () -> {
            if (master != null && !sameServer(master, rep) && !force) {
                throw new Refusal("the replica " + rep.where() + " replicates from " + named + ", not from "
                        + where(master) + " (setting 'master-uri'): what that server says proves nothing about "
                        + named + "; give the master the replica replicates from, or force it (setting 'force')");
            }
            try {
                seen[1] = replication(quick(oldMaster));
                return seen[1].where() + " answers as " + seen[1].get("role")
                        + (seen[1].isMaster() ? " (ACCEPTS WRITES), offset " + seen[1].get("master_repl_offset") : "")
                        + (seen[1].isMaster()
                                ? ""
                                : " of " + hostPort(seen[1].get("master_host"), seen[1].get("master_port")));
            } catch (RuntimeException e) {
                if (noConnection(e)) {
                    return where(oldMaster) + " does not answer: " + why(e);
                }
                // it took the connection and said no (NOAUTH, WRONGPASS, NOPERM, BUSY) or nothing in time
                unchecked[0] = where(oldMaster)
                        + " answers but drkit cannot read its role, so it may still ACCEPT WRITES: " + why(e);
                return unchecked[0];
            }
        });
        Replication old = seen[1];
        run.step("check replication lag", () -> {
            if (old == null || !old.isMaster()) {
                if (old == null && "up".equals(rep.get("master_link_status")) && !force) {
                    // drkit could not connect, but the replica's link to it is up: the master lives and takes
                    // writes where drkit cannot see it (a firewall, a forward that takes no new connections)
                    throw new Refusal("the replica " + rep.where() + "'s link to " + named + " is up (last contact "
                            + rep.get("master_last_io_seconds_ago") + " s ago), though drkit cannot reach it: "
                            + "promoting now could leave two masters; wait until the replica's link is down, "
                            + "or force it (setting 'force') if that master's clients cannot reach it");
                }
                if ("down".equals(rep.get("master_link_status")) && !force) {
                    long downFor = rep.offset("master_link_down_since_seconds");
                    if (downFor < 0 || "1".equals(rep.get("master_sync_in_progress"))) {
                        throw new Refusal("the replica " + rep.where() + " has not completed a sync with " + named
                                + " since it started (its link is down and was never up): it holds none of that "
                                + "master's data, or only what it loaded at its start, however old; repair its link, "
                                + "or force it (setting 'force') if its data is known to be current");
                    }
                    if (downFor > maxLinkDown.toSeconds()) {
                        throw new Refusal("the replica " + rep.where() + "'s link to " + named + " has been down for "
                                + downFor + " s (limit " + maxLinkDown.toSeconds() + " s, setting 'max-link-down'): "
                                + "it lacks what was written since; force it (setting 'force') if that is known");
                    }
                }
                return "the old master does not answer: the replica keeps what it received, up to offset "
                        + rep.get("slave_repl_offset");
            }
            long lag = Math.max(0, old.offset("master_repl_offset") - rep.offset("slave_repl_offset"));
            String figures = lag + " bytes behind the old master (limit " + maxLagBytes + ")";
            if (lag > maxLagBytes && !force) {
                throw new Refusal(
                        "the replica " + rep.where() + " is " + figures + ": promoting it now would lose "
                                + "those writes; wait until it has caught up, raise setting 'max-lag', or force it (setting 'force')");
            }
            return figures + (lag > maxLagBytes ? "; over the limit, forced" : "");
        });
        run.step("fence old master", () -> {
            if (old == null && unchecked[0] != null) {
                if (!force) {
                    throw new Refusal(unchecked[0] + "; promoting the replica now could leave two masters; give "
                            + "drkit credentials that may run INFO there (setting 'master-password-file'), stop it, "
                            + "or force it (setting 'force') if its clients cannot reach it");
                }
                return unchecked[0] + "; forced, left running";
            }
            if (old != null && !old.isMaster()) {
                String itsMaster = hostPort(old.get("master_host"), old.get("master_port"));
                if (!force) {
                    throw new Refusal("the old master " + old.where() + " is now a replica of " + itsMaster
                            + ": the set has a master there, and promoting " + rep.where() + " would make a second "
                            + "one; fail over from " + itsMaster + ", or force it (setting 'force')");
                }
                return old.where() + " is a replica of " + itsMaster + "; forced";
            }
            if (old == null) {
                return "nothing to fence: " + where(oldMaster) + " does not answer";
            }
            if (!force) {
                throw new Refusal("the old master " + old.where() + " still answers as a master: promoting the "
                        + "replica now would leave two masters and split the data; stop it first, or force it (setting 'force') "
                        + "if its clients cannot reach it");
            }
            return old.where() + " still answers as a master; forced, left running";
        });
        Promotion promotion = new Promotion(name, SYSTEM, rep.where(), where(oldMaster), clock.instant());
        if (run.dryRun()) {
            run.wouldDo("promote", "would send REPLICAOF NO ONE to " + rep.where());
            run.wouldDo("await role", "would wait up to " + promoteTimeout.toSeconds() + " s for role master");
            run.switchTraffic(traffic, promotion);
            return "dry run: every check passed; a failover would promote " + rep.where();
        }
        run.step("promote", () -> {
            RedisEndpoint endpoint = RedisEndpoint.from(replica, "uri");
            RedisClient client = endpoint.client();
            try (StatefulRedisConnection<String, String> c = client.connect()) {
                return "REPLICAOF NO ONE: " + c.sync().replicaofNoOne();
            } catch (RedisException e) {
                throw endpoint.unreachable(e);
            } finally {
                RedisEndpoint.shutdown(client);
            }
        });
        run.step("await role", () -> awaitMaster(rep.where()));
        run.switchTraffic(traffic, promotion);
        return rep.where() + " is the master now";
    }

    private String awaitMaster(String where) throws InterruptedException {
        long t0 = System.nanoTime();
        while (true) {
            Replication r = replication(quick(replica));
            if (r.isMaster()) {
                return String.format(
                        Locale.ROOT, "%s reports role master after %.2f s", where, (System.nanoTime() - t0) / 1e9);
            }
            if (System.nanoTime() - t0 > promoteTimeout.toNanos()) {
                throw new IllegalStateException(where + " still reports role " + r.get("role") + " after "
                        + promoteTimeout.toSeconds() + " s; see its log");
            }
            Thread.sleep(50);
        }
    }

    private String viaSentinel(FailoverRun run) throws Exception {
        String[] current = new String[1];
        run.step(
                "ask sentinel",
                () -> withSentinel(s -> {
                    SocketAddress addr = s.sync().getMasterAddrByName(masterName);
                    if (addr == null) {
                        throw new Refusal("Sentinel at " + where(sentinel) + " does not monitor a master named '"
                                + masterName + "'; check setting 'master-name'");
                    }
                    current[0] = endpoint(addr);
                    try {
                        s.sync()
                                .dispatch(
                                        CommandType.SENTINEL,
                                        new StatusOutput<>(StringCodec.UTF8),
                                        new CommandArgs<>(StringCodec.UTF8)
                                                .add("CKQUORUM")
                                                .add(masterName));
                    } catch (RedisCommandExecutionException e) {
                        if (!force) {
                            throw new Refusal("Sentinel at " + where(sentinel) + " cannot reach the quorum of the "
                                    + "sentinels of '" + masterName + "' (" + e.getMessage() + "): it may be cut off "
                                    + "from the others, which keep " + current[0]
                                    + " the master; ask a sentinel of the "
                                    + "majority, or force it (setting 'force')");
                        }
                    }
                    List<Map<String, String>> replicas = s.sync().replicas(masterName);
                    long usable = replicas.stream()
                            .filter(r -> !r.getOrDefault("flags", "").matches(".*(s_down|o_down|disconnected).*"))
                            .count();
                    if (usable == 0) {
                        throw new Refusal("Sentinel knows no healthy replica of '" + masterName + "' to promote ("
                                + replicas.size() + " known); start or repair a replica first");
                    }
                    return "master " + current[0] + ", " + usable + " of " + replicas.size() + " replicas healthy";
                }));
        if (run.dryRun()) {
            run.wouldDo("promote", "would send SENTINEL FAILOVER " + masterName + " to " + where(sentinel));
            run.wouldDo("await new master", "would wait up to " + promoteTimeout.toSeconds() + " s for a new master");
            run.switchTraffic(
                    traffic, new Promotion(name, SYSTEM, "(chosen by Sentinel)", current[0], clock.instant()));
            return "dry run: every check passed; Sentinel would promote a replica of " + current[0];
        }
        run.step(
                "promote",
                () -> withSentinel(
                        s -> "SENTINEL FAILOVER " + masterName + ": " + s.sync().failover(masterName)));
        String[] promoted = new String[1];
        run.step(
                "await new master",
                () -> withSentinel(s -> {
                    long t0 = System.nanoTime();
                    while (true) {
                        SocketAddress addr = s.sync().getMasterAddrByName(masterName);
                        if (addr != null && !endpoint(addr).equals(current[0])) {
                            promoted[0] = endpoint(addr);
                            return String.format(
                                    Locale.ROOT,
                                    "Sentinel names %s the master after %.2f s",
                                    promoted[0],
                                    (System.nanoTime() - t0) / 1e9);
                        }
                        if (System.nanoTime() - t0 > promoteTimeout.toNanos()) {
                            throw new IllegalStateException(
                                    "Sentinel still names " + current[0] + " the master of '" + masterName + "' after "
                                            + promoteTimeout.toSeconds() + " s; see the Sentinel log");
                        }
                        Thread.sleep(100);
                    }
                }));
        run.switchTraffic(traffic, new Promotion(name, SYSTEM, promoted[0], current[0], clock.instant()));
        return promoted[0] + " is the master of '" + masterName + "' now";
    }

    @FunctionalInterface
    private interface SentinelWork {
        String run(StatefulRedisSentinelConnection<String, String> connection) throws Exception;
    }

    private String withSentinel(SentinelWork work) throws Exception {
        RedisEndpoint endpoint = RedisEndpoint.from(quick(sentinel), "uri");
        RedisClient client = endpoint.client();
        try (StatefulRedisSentinelConnection<String, String> c = client.connectSentinel()) {
            return work.run(c);
        } catch (RedisException e) {
            throw endpoint.unreachable(e);
        } finally {
            RedisEndpoint.shutdown(client);
        }
    }

    private static String endpoint(SocketAddress addr) {
        return addr instanceof InetSocketAddress i ? i.getHostString() + ":" + i.getPort() : String.valueOf(addr);
    }

    @Override
    public String toString() {
        return "RedisFailover[" + name
                + (sentinel != null ? ", sentinel " + where(sentinel) : ", replica " + where(replica))
                + (dryRun ? ", dry run" : "") + "]";
    }

    /** Builds a {@link RedisFailover}; not thread-safe; arguments are checked at each call. */
    public static final class Builder extends FailoverBuilder<Builder> {
        private String name = "redis";
        private Settings replica;
        private Settings master;
        private Settings sentinel;
        private String masterName;
        private long maxLagBytes = 1L << 20;
        private Duration maxLinkDown = Duration.ofMinutes(10);
        private Duration promoteTimeout = Duration.ofSeconds(60);

        private Builder() {}

        @Override
        protected Builder self() {
            return this;
        }

        /** The name in reports and events; default {@code redis}. */
        public Builder name(String name) {
            if (name == null || name.isBlank()) {
                throw new IllegalArgumentException("a failover needs a name");
            }
            this.name = name;
            return this;
        }

        /**
         * The replica to promote with {@code REPLICAOF NO ONE}: {@code uri}
         * ({@code redis://HOST:PORT}), {@code user}, {@code password-file}, ... as a Redis target's.
         *
         * @throws ConfigException when the URI is missing or not redis:// / rediss://
         */
        public Builder replica(Settings connection) {
            RedisEndpoint.from(Objects.requireNonNull(connection, "connection"), "uri");
            this.replica = connection;
            return this;
        }

        /** The old master, when it is not the one the replica names (same keys as {@link #replica}). */
        public Builder master(Settings connection) {
            RedisEndpoint.from(Objects.requireNonNull(connection, "connection"), "uri");
            this.master = connection;
            return this;
        }

        /**
         * Promote through Sentinel instead: the Sentinel's connection ({@code uri} with its port,
         * usually 26379) and the monitored master's name.
         *
         * @throws ConfigException when the URI or the name is missing
         */
        public Builder sentinel(Settings connection, String masterName) {
            RedisEndpoint.from(Objects.requireNonNull(connection, "connection"), "uri");
            if (masterName == null || masterName.isBlank()) {
                throw new ConfigException("redis failover through Sentinel: give the monitored master's name "
                        + "(setting 'master-name')");
            }
            this.sentinel = connection;
            this.masterName = masterName;
            return this;
        }

        /** The most replication offset the replica may be behind a master that still answers (default 1 MiB). */
        public Builder maxLagBytes(long bytes) {
            if (bytes < 0) {
                throw new IllegalArgumentException("max-lag must be 0 or more bytes, not " + bytes);
            }
            this.maxLagBytes = bytes;
            return this;
        }

        /**
         * The longest a replica's link to a master that no longer answers may have been down (default 10 min):
         * a replica cut off longer ago lacks what was written since, and is refused unless forced.
         */
        public Builder maxLinkDown(Duration d) {
            if (d == null || d.isNegative()) {
                throw new IllegalArgumentException("max-link-down must be 0 or more, not " + d);
            }
            this.maxLinkDown = d;
            return this;
        }

        /** How long to wait for the role change (default 60 s). */
        public Builder promoteTimeout(Duration timeout) {
            if (timeout == null || timeout.isNegative() || timeout.isZero()) {
                throw new IllegalArgumentException("promote-timeout must be positive, not " + timeout);
            }
            this.promoteTimeout = timeout;
            return this;
        }

        /**
         * The failover.
         *
         * @throws ConfigException when neither a replica nor a Sentinel was given
         */
        public RedisFailover build() {
            if (replica == null && sentinel == null) {
                throw new ConfigException("redis failover: give the replica (setting 'replica-uri') or a Sentinel "
                        + "(settings 'sentinel-uri' and 'master-name')");
            }
            return new RedisFailover(this, common());
        }
    }
}
