package dev.drkit.postgres;

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
import dev.drkit.postgres.launcher.ServerProcesses;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import javax.net.ssl.SSLException;

/**
 * Promotes a PostgreSQL streaming standby when its primary is lost, in checked steps:
 *
 * <ol>
 *   <li><b>check standby</b>: it must be in recovery; its receive and replay positions are read.
 *   <li><b>check old primary</b>: when its connection is configured, whether it answers and
 *       whether it still accepts writes (not in recovery: {@code default_transaction_read_only} is
 *       no fence, any client turns it off), its current WAL position, and that the standby is a
 *       copy of it (same system identifier). A server that answers but refuses drkit (a wrong
 *       password, shutting down, too many clients) counts as one that may still accept writes.
 *   <li><b>check replay lag</b>: the WAL the standby has not replayed (against the old primary's
 *       position when it answers, else against what the standby received), in bytes and seconds;
 *       above {@code max-lag} / {@code max-lag-time} the failover is refused unless forced.
 *   <li><b>fence old primary</b>: a primary that still accepts writes is stopped with
 *       {@code stop-command} (an argument list run without a shell) or {@code pg_ctl stop -m fast}
 *       on {@code stop-data-dir}, and must then no longer answer; with neither configured the
 *       failover is refused (two primaries would split the data) unless forced. Without a
 *       configured old primary nothing can be checked, so the failover needs force.
 *   <li><b>promote</b>: {@code pg_promote(wait => true, wait_seconds => N)}.
 *   <li><b>await writes</b>: until a new connection is given a transaction id (a real write test).
 *   <li><b>validate</b>: the {@code validate} queries, each true or positive.
 *   <li><b>switch traffic</b>: the host's {@link TrafficSwitch}.
 * </ol>
 *
 * <p>A dry run runs every check (the validation queries on the standby) and reports what it
 * would stop, promote and switch without doing it. Settings keys ({@link #fromSettings}): the
 * standby's and old primary's connections as {@code standby-url}, {@code standby-user},
 * {@code standby-password-file}, {@code standby-password-env} (and {@code primary-...}),
 * {@code max-lag} (bytes, default 16MiB), {@code max-lag-time} (default 30s),
 * {@code promote-timeout} (default 60s), {@code stop-command} (repeated: the program, then each
 * argument), {@code stop-data-dir}, {@code server-bin-dir}, {@code validate} (repeated),
 * {@code force}, {@code dry-run}, {@code name}. Passwords never appear in reports or events.
 *
 * <p>Immutable; {@link #run()} may be called again (a second run finds a primary and refuses).
 */
public final class PostgresFailover implements Failover {
    static final String SYSTEM = "postgresql";
    private static final Duration CHECK_TIMEOUT = Duration.ofSeconds(5);

    private final String name;
    private final PgConnection standby;
    private final PgConnection primary;
    private final long maxLagBytes;
    private final Duration maxLagTime;
    private final Duration promoteTimeout;
    private final Duration stopTimeout;
    private final List<String> stopCommand;
    private final Path stopDataDir;
    private final Path serverBinDir;
    private final List<String> validate;
    private final boolean force;
    private final boolean dryRun;
    private final TrafficSwitch traffic;
    private final List<DrListener> listeners;
    private final Clock clock;

    private PostgresFailover(Builder b, FailoverBuilder.Common common) {
        this.name = b.name;
        this.standby = b.standby;
        this.primary = b.primary;
        this.maxLagBytes = b.maxLagBytes;
        this.maxLagTime = b.maxLagTime;
        this.promoteTimeout = b.promoteTimeout;
        this.stopTimeout = b.stopTimeout;
        this.stopCommand = List.copyOf(b.stopCommand);
        this.stopDataDir = b.stopDataDir;
        this.serverBinDir = b.serverBinDir;
        this.validate = List.copyOf(b.validate);
        this.force = common.force();
        this.dryRun = common.dryRun();
        this.traffic = common.traffic();
        this.listeners = common.listeners();
        this.clock = common.clock();
    }

    /** A builder; {@link Builder#standby} is required. */
    public static Builder builder() {
        return new Builder();
    }

    /**
     * A builder filled from settings keys (see the class comment); the host adds its traffic
     * switch and listeners.
     *
     * @throws ConfigException naming every key that is missing or invalid
     */
    public static Builder fromSettings(Settings s) {
        List<String> problems = new ArrayList<>();
        Builder b = builder();
        b.name(s.get("name", "postgres"));
        Settings standbySettings = prefixed(s, "standby-");
        if (!standbySettings.has("url")) {
            problems.add("give the standby as setting 'standby-url' (jdbc:postgresql://HOST:PORT/DATABASE)");
        } else {
            b.standby(standbySettings);
        }
        Settings primarySettings = prefixed(s, "primary-");
        if (primarySettings.has("url")) {
            b.primary(primarySettings);
        }
        try {
            s.size("max-lag").ifPresent(b::maxLagBytes);
            s.duration("max-lag-time").ifPresent(b::maxLagTime);
            s.duration("promote-timeout").ifPresent(b::promoteTimeout);
            s.duration("stop-timeout").ifPresent(b::stopTimeout);
        } catch (RuntimeException e) {
            problems.add(e.getMessage());
        }
        if (s.has("stop-command")) {
            b.stopCommand(s.getAll("stop-command"));
        }
        s.path("stop-data-dir").ifPresent(b::stopDataDirectory);
        s.path("server-bin-dir").ifPresent(b::serverBinDir);
        b.validate(s.getAll("validate"));
        b.force(s.bool("force", false));
        b.dryRun(s.bool("dry-run", false));
        if (!problems.isEmpty()) {
            throw new ConfigException("postgres failover: " + String.join("; ", problems));
        }
        return b;
    }

    /** The keys starting with {@code prefix}, without it ({@code standby-url} becomes {@code url}). */
    private static Settings prefixed(Settings s, String prefix) {
        Settings.Builder out = Settings.builder();
        for (String k : s.keys()) {
            if (k.startsWith(prefix)) {
                out.addAll(k.substring(prefix.length()), s.getAll(k));
            }
        }
        return out.build();
    }

    @Override
    public FailoverReport run() {
        return FailoverRun.execute(name, SYSTEM, dryRun, listeners, clock, this::plan);
    }

    private String plan(FailoverRun run) throws Exception {
        StandbyState[] seen = new StandbyState[1];
        run.step("check standby", () -> {
            seen[0] = checkStandby();
            return seen[0].detail();
        });
        StandbyState state = seen[0];
        PrimaryState old = primary == null ? PrimaryState.UNKNOWN : inspectPrimary(run, state);
        run.step("check replay lag", () -> checkLag(state, old));
        fence(run, old);
        Promotion promotion = new Promotion(
                name, SYSTEM, standby.endpoint(), primary == null ? null : primary.endpoint(), clock.instant());
        if (run.dryRun()) {
            run.wouldDo("promote", "would run pg_promote on " + standby.endpoint());
            run.wouldDo(
                    "await writes",
                    "would wait up to " + promoteTimeout.toSeconds() + " s for " + standby.endpoint()
                            + " to accept writes");
            validate(run, "on the standby " + standby.endpoint() + ", read-only");
            run.switchTraffic(traffic, promotion);
            return "dry run: every check passed; a failover would promote " + standby.endpoint();
        }
        run.step("promote", this::promote);
        run.step("await writes", this::awaitWrites);
        validate(run, "on " + standby.endpoint());
        run.switchTraffic(traffic, promotion);
        return standby.endpoint() + " is the primary now and accepts writes";
    }

    /** What the standby answered: its WAL positions, how old its last replayed transaction is, whether replay is paused. */
    private record StandbyState(
            String receiveLsn,
            String replayLsn,
            long receivedNotReplayed,
            Double replayAge,
            boolean paused,
            String systemId,
            String detail) {}

    private StandbyState checkStandby() throws Exception {
        try (Connection c = standby.open(CHECK_TIMEOUT);
                Statement s = c.createStatement();
                ResultSet rs = s.executeQuery("SELECT pg_is_in_recovery(), pg_last_wal_receive_lsn()::text,"
                        + " pg_last_wal_replay_lsn()::text,"
                        + " coalesce(pg_wal_lsn_diff(pg_last_wal_receive_lsn(), pg_last_wal_replay_lsn()), 0)::bigint,"
                        + " extract(epoch FROM now() - pg_last_xact_replay_timestamp())::float8,"
                        + " CASE WHEN pg_is_in_recovery() THEN pg_is_wal_replay_paused() ELSE false END,"
                        + " (SELECT status FROM pg_stat_wal_receiver LIMIT 1),"
                        + " (SELECT system_identifier FROM pg_control_system())::text")) {
            rs.next();
            if (!rs.getBoolean(1)) {
                throw new Refusal(standby.endpoint() + " is not a standby (it is not in recovery): it is a primary "
                        + "already, so there is nothing to promote; check setting 'standby-url'");
            }
            double age = rs.getDouble(5);
            Double replayAge = rs.wasNull() ? null : age;
            boolean paused = rs.getBoolean(6);
            String receiver = rs.getString(7);
            String detail = standby.endpoint() + " in recovery, received up to " + rs.getString(2) + ", replayed up to "
                    + rs.getString(3) + (paused ? ", replay PAUSED" : "")
                    + ", WAL receiver " + (receiver == null ? "not running" : receiver);
            return new StandbyState(
                    rs.getString(2),
                    rs.getString(3),
                    Math.max(0, rs.getLong(4)),
                    replayAge,
                    paused,
                    rs.getString(8),
                    detail);
        } catch (SQLException e) {
            throw PgSql.sqlError("checking the standby " + standby.endpoint(), standby, e);
        }
    }

    /** What the old primary answered: whether it accepts writes, and its WAL position. */
    private record PrimaryState(
            boolean reachable,
            boolean acceptsWrites,
            String currentLsn,
            String systemId,
            String detail,
            boolean shuttingDown) {
        static final PrimaryState UNKNOWN = new PrimaryState(false, false, null, null, "not configured", false);

        PrimaryState(boolean reachable, boolean acceptsWrites, String currentLsn, String systemId, String detail) {
            this(reachable, acceptsWrites, currentLsn, systemId, detail, false);
        }
    }

    private PrimaryState inspectPrimary(FailoverRun run, StandbyState standbyState) throws Exception {
        PrimaryState[] seen = new PrimaryState[1];
        run.step("check old primary", () -> {
            seen[0] = askPrimary();
            String theirs = seen[0].systemId();
            if (theirs != null && standbyState.systemId() != null && !theirs.equals(standbyState.systemId())) {
                throw new Refusal("the standby " + standby.endpoint() + " is not a copy of the old primary "
                        + primary.endpoint() + " (system identifier " + standbyState.systemId() + ", not " + theirs
                        + "): promoting it would put another database in its place; check setting 'standby-url' "
                        + "and setting 'primary-url'");
            }
            if (theirs == null && seen[0].reachable() && standbyState.systemId() != null && !force) {
                // it answered but not to drkit: whether the standby is its copy is unknown, and a fence
                // would stop it for what may be another cluster's standby
                throw new Refusal(seen[0].detail() + "; so drkit cannot check that the standby "
                        + standby.endpoint() + " is a copy of it (system identifier " + standbyState.systemId()
                        + "): fix the old primary's connection (setting 'primary-url', 'primary-user', its "
                        + "password) or force it (setting 'force') once you know the standby is its copy");
            }
            return seen[0].detail();
        });
        return seen[0];
    }

    private PrimaryState askPrimary() {
        try (Connection c = primary.open(CHECK_TIMEOUT);
                Statement s = c.createStatement();
                ResultSet rs =
                        s.executeQuery("SELECT pg_is_in_recovery(), current_setting('default_transaction_read_only'),"
                                + " CASE WHEN pg_is_in_recovery() THEN pg_last_wal_replay_lsn() ELSE pg_current_wal_insert_lsn() END::text,"
                                + " (SELECT system_identifier FROM pg_control_system())::text")) {
            rs.next();
            boolean recovering = rs.getBoolean(1);
            // default_transaction_read_only is only a default (of the server, a role or a database):
            // any client turns it off for itself, so only recovery means no writes
            boolean readOnlyDefault = "on".equals(rs.getString(2));
            boolean writes = !recovering;
            String lsn = recovering ? null : rs.getString(3);
            String detail = primary.endpoint() + " answers"
                    + (writes
                            ? " and ACCEPTS WRITES (WAL at " + lsn + ")"
                                    + (readOnlyDefault
                                            ? "; default_transaction_read_only is on, which any client can turn off"
                                            : "")
                            : " but is in recovery (a standby itself)");
            return new PrimaryState(true, writes, lsn, rs.getString(4), detail);
        } catch (SQLException e) {
            String why = primary.redact(String.valueOf(e.getMessage()));
            if (unreachable(e)) {
                return new PrimaryState(false, false, null, null, primary.endpoint() + " does not answer: " + why);
            }
            // it answered (a wrong password, "shutting down", too many clients): it is up, and may take writes
            return new PrimaryState(
                    true,
                    true,
                    null,
                    null,
                    primary.endpoint() + " answers but drkit cannot check it, so it may still ACCEPT WRITES: " + why,
                    "57P03".equals(e.getSQLState())); // cannot connect now: shutting down (or starting up)
        }
    }

    /** Whether an error says no server answered at all (refused, timed out, unknown host), not that one refused drkit. */
    private static boolean unreachable(SQLException e) {
        for (Throwable c = e; c != null; c = c.getCause()) {
            if (c instanceof SSLException) {
                return false; // a TLS handshake began: a server answered drkit's SSL request
            }
        }
        String state = e.getSQLState();
        return state != null && state.startsWith("08") && !state.equals("08004");
    }

    private String checkLag(StandbyState st, PrimaryState old) throws Exception {
        long bytes = st.receivedNotReplayed();
        String against = "received WAL";
        if (old.currentLsn() != null && st.replayLsn() != null) {
            try (Connection c = standby.open(CHECK_TIMEOUT);
                    PreparedStatement s = c.prepareStatement("SELECT pg_wal_lsn_diff(?::pg_lsn, ?::pg_lsn)::bigint")) {
                s.setString(1, old.currentLsn());
                s.setString(2, st.replayLsn());
                try (ResultSet rs = s.executeQuery()) {
                    rs.next();
                    bytes = Math.max(bytes, rs.getLong(1));
                }
                against = "the old primary";
            }
        }
        // seconds behind only mean something while WAL waits to be replayed: an idle primary
        // leaves the last replayed transaction old without the standby being behind
        double seconds = bytes == 0 || st.replayAge() == null ? 0 : Math.max(0, st.replayAge());
        String figures = String.format(
                Locale.ROOT,
                "%d bytes and %.1f s behind %s (limits %d bytes, %d s)",
                bytes,
                seconds,
                against,
                maxLagBytes,
                maxLagTime.toSeconds());
        if (bytes > maxLagBytes || seconds > maxLagTime.toSeconds()) {
            if (!force) {
                throw new Refusal(
                        "the standby " + standby.endpoint() + " is " + figures + ": promoting it now would "
                                + "lose that WAL; wait until it has caught up"
                                + (st.paused() ? " (its replay is paused: SELECT pg_wal_replay_resume() on it)" : "")
                                + ", raise setting 'max-lag' / setting 'max-lag-time', or force it (setting 'force') to accept the loss");
            }
            return figures + "; over the limit, forced";
        }
        return figures;
    }

    private void fence(FailoverRun run, PrimaryState old) throws Exception {
        String stepName = "fence old primary";
        if (primary == null) {
            if (!force) {
                run.step(stepName, () -> {
                    throw new Refusal("no old primary is configured, so drkit cannot tell whether it still accepts "
                            + "writes; give its connection (setting 'primary-url') or force it (setting 'force') once "
                            + "you know it is down");
                });
            }
            run.skipped(stepName, "no old primary configured; forced");
            return;
        }
        if (!old.acceptsWrites()) {
            run.step(stepName, () -> "nothing to fence: " + old.detail());
            return;
        }
        boolean canStop = !stopCommand.isEmpty() || stopDataDir != null;
        if (!canStop) {
            if (!force) {
                run.step(stepName, () -> {
                    throw new Refusal("the old primary " + primary.endpoint() + " still accepts writes: promoting "
                            + "the standby now would leave two primaries and split the data; stop it (or make it "
                            + "read-only) first, configure setting 'stop-command' or setting 'stop-data-dir' so that drkit "
                            + "stops it, or force it (setting 'force') if its clients cannot reach it");
                });
            }
            run.step(stepName, () -> primary.endpoint() + " still accepts writes; forced, left running");
            return;
        }
        if (run.dryRun()) {
            run.wouldDo(
                    stepName,
                    "would stop " + primary.endpoint() + " with " + stopDescription() + " (it still accepts writes)");
            return;
        }
        run.step(stepName, () -> {
            stopPrimary();
            PrimaryState after = askPrimary();
            long began = System.nanoTime();
            // a shutdown's checkpoint takes what its dirty buffers need: a server that says it is
            // shutting down is given as long as the stop command is (stop-timeout), any other answer 10 s
            while (after.reachable()
                    && System.nanoTime() - began
                            < (after.shuttingDown() ? stopTimeout : Duration.ofSeconds(10)).toNanos()) {
                Thread.sleep(200); // a server shutting down answers "shutting down" for a moment
                after = askPrimary();
            }
            if (after.reachable()) {
                throw new IllegalStateException(primary.endpoint() + " still answers after " + stopDescription()
                        + " (" + after.detail() + ")"
                        + "; stop it by hand, then run the failover again");
            }
            return "stopped " + primary.endpoint() + " with " + stopDescription() + "; now: " + after.detail();
        });
    }

    private String stopDescription() {
        return !stopCommand.isEmpty()
                ? "the stop command " + Path.of(stopCommand.get(0)).getFileName()
                : "pg_ctl stop on " + stopDataDir;
    }

    private void stopPrimary() throws Exception {
        if (!stopCommand.isEmpty()) {
            ServerProcesses.run(stopCommand, null, stopTimeout, null);
            return;
        }
        Path bin = serverBinDir != null
                ? serverBinDir
                : PgBinaries.onPath("pg_ctl")
                        .or(() -> PgBinaries.newestDebian("pg_ctl"))
                        .orElseThrow(() -> new ConfigException(
                                "pg_ctl not found to stop the old primary: give setting 'server-bin-dir'"));
        String owner = Files.getOwner(stopDataDir.resolve("PG_VERSION"), LinkOption.NOFOLLOW_LINKS)
                .getName();
        PgProcesses.run(
                List.of(bin.resolve("pg_ctl").toString(), "-D", stopDataDir.toString(), "-m", "fast", "-w", "stop"),
                owner,
                (int) Math.max(1, stopTimeout.toSeconds()),
                null);
    }

    private String promote() throws Exception {
        int wait = (int) Math.max(1, promoteTimeout.toSeconds());
        try (Connection c = standby.open(promoteTimeout.plusSeconds(10));
                Statement s = c.createStatement();
                ResultSet rs = s.executeQuery("SELECT pg_promote(wait => true, wait_seconds => " + wait + ")")) {
            rs.next();
            if (!rs.getBoolean(1)) {
                throw new IllegalStateException(standby.endpoint() + " did not finish its promotion within " + wait
                        + " s; see its server log, and raise setting 'promote-timeout' if it is still replaying");
            }
            return "pg_promote on " + standby.endpoint() + " returned true";
        } catch (SQLException e) {
            throw PgSql.sqlError("promoting " + standby.endpoint(), standby, e);
        }
    }

    private String awaitWrites() throws Exception {
        long t0 = System.nanoTime();
        long deadline = t0 + promoteTimeout.toNanos();
        String last = "";
        int attempts = 0;
        while (true) {
            attempts++;
            try (Connection c = standby.open(CHECK_TIMEOUT)) {
                c.setAutoCommit(false);
                try (Statement s = c.createStatement();
                        ResultSet rs = s.executeQuery("SELECT pg_current_xact_id()")) {
                    rs.next(); // a transaction id is only given out by a server that accepts writes
                } finally {
                    c.rollback();
                }
                return String.format(
                        Locale.ROOT,
                        "%s accepts writes (a transaction id was given out; %d attempt(s), %.2f s)",
                        standby.endpoint(),
                        attempts,
                        (System.nanoTime() - t0) / 1e9);
            } catch (SQLException e) {
                last = standby.redact(String.valueOf(e.getMessage()));
            }
            if (System.nanoTime() - deadline > 0) {
                throw new IllegalStateException(standby.endpoint() + " was promoted but does not accept writes after "
                        + promoteTimeout.toSeconds() + " s: " + last);
            }
            Thread.sleep(50);
        }
    }

    private void validate(FailoverRun run, String where) throws Exception {
        if (validate.isEmpty()) {
            run.skipped("validate", "no validation queries configured (setting 'validate')");
            return;
        }
        run.step("validate", () -> {
            List<String> problems = new ArrayList<>();
            try (Connection c = standby.open(Duration.ofMinutes(5))) {
                PostgresVerifiers.RestoreTestVerifier.runValidations(c, validate, problems);
            } catch (SQLException e) {
                throw PgSql.sqlError("validating " + standby.endpoint(), standby, e);
            }
            if (!problems.isEmpty()) {
                throw new IllegalStateException(String.join("; ", problems)
                        + (run.dryRun() ? "" : "; the server is promoted, but traffic was not switched to it"));
            }
            return validate.size() + " validation quer" + (validate.size() == 1 ? "y" : "ies") + " passed " + where;
        });
    }

    @Override
    public String toString() {
        return "PostgresFailover[" + name + ", standby " + standby.endpoint()
                + (primary == null ? "" : ", old primary " + primary.endpoint()) + (dryRun ? ", dry run" : "") + "]";
    }

    /** Builds a {@link PostgresFailover}; not thread-safe; arguments are checked at each call. */
    public static final class Builder extends FailoverBuilder<Builder> {
        private static final Duration MAX_PROMOTE_TIMEOUT = Duration.ofDays(1);
        private String name = "postgres";
        private PgConnection standby;
        private PgConnection primary;
        private long maxLagBytes = 16L << 20;
        private Duration maxLagTime = Duration.ofSeconds(30);
        private Duration promoteTimeout = Duration.ofSeconds(60);
        private Duration stopTimeout = Duration.ofMinutes(2);
        private List<String> stopCommand = List.of();
        private Path stopDataDir;
        private Path serverBinDir;
        private List<String> validate = List.of();

        private Builder() {}

        @Override
        protected Builder self() {
            return this;
        }

        /** The name in reports and events (e.g. the database's target name); default {@code postgres}. */
        public Builder name(String name) {
            if (name == null || name.isBlank()) {
                throw new IllegalArgumentException("a failover needs a name");
            }
            this.name = name;
            return this;
        }

        /**
         * The standby to promote: {@code url}, {@code user}, {@code password-file} /
         * {@code password-env} / {@code password}, as a target's connection settings.
         *
         * @throws ConfigException when the URL is missing or not a PostgreSQL JDBC URL
         */
        public Builder standby(Settings connection) {
            this.standby = PgConnection.from(Objects.requireNonNull(connection, "connection"));
            return this;
        }

        /** The old primary, checked before the promotion (same keys as {@link #standby}); optional. */
        public Builder primary(Settings connection) {
            this.primary = PgConnection.from(Objects.requireNonNull(connection, "connection"));
            return this;
        }

        /** The most unreplayed WAL to accept, in bytes (default 16 MiB). */
        public Builder maxLagBytes(long bytes) {
            if (bytes < 0) {
                throw new IllegalArgumentException("max-lag must be 0 or more bytes, not " + bytes);
            }
            this.maxLagBytes = bytes;
            return this;
        }

        /** The longest replay delay to accept (default 30 s). */
        public Builder maxLagTime(Duration time) {
            if (time == null || time.isNegative()) {
                throw new IllegalArgumentException("max-lag-time must be 0 or more, not " + time);
            }
            this.maxLagTime = time;
            return this;
        }

        /**
         * How long the old primary's stop may take (default 2 min): the stop command or
         * {@code pg_ctl stop}, then a server that still says it is shutting down.
         */
        public Builder stopTimeout(Duration timeout) {
            if (timeout == null
                    || timeout.isNegative()
                    || timeout.isZero()
                    || timeout.compareTo(MAX_PROMOTE_TIMEOUT) > 0) {
                throw new IllegalArgumentException("stop-timeout must be more than 0 and at most 24h, not " + timeout);
            }
            this.stopTimeout = timeout;
            return this;
        }

        /** How long to wait for the promotion and for the first write (default 60 s). */
        public Builder promoteTimeout(Duration timeout) {
            if (timeout == null || timeout.isNegative() || timeout.isZero()) {
                throw new IllegalArgumentException("promote-timeout must be positive, not " + timeout);
            }
            if (timeout.compareTo(MAX_PROMOTE_TIMEOUT) > 0) {
                // pg_promote takes whole seconds as an int; a failover waits minutes, not days
                throw new IllegalArgumentException("promote-timeout must be at most 24h, not " + timeout);
            }
            this.promoteTimeout = timeout;
            return this;
        }

        /**
         * A program that stops the old primary (program first, then each argument; run without a
         * shell, as this process's user; exit 0 means stopped). Secrets it needs must come from
         * its environment or files, never its arguments.
         */
        public Builder stopCommand(List<String> command) {
            Objects.requireNonNull(command, "command");
            if (!command.isEmpty() && command.get(0).isBlank()) {
                throw new IllegalArgumentException("stop-command needs a program first");
            }
            this.stopCommand = List.copyOf(command);
            return this;
        }

        /** Stops the old primary with {@code pg_ctl stop -m fast} on this local data directory, as its owner. */
        public Builder stopDataDirectory(Path dataDir) {
            this.stopDataDir = Objects.requireNonNull(dataDir, "dataDir");
            return this;
        }

        /** Where {@code pg_ctl} is for {@link #stopDataDirectory} (default PATH, then the newest Debian one). */
        public Builder serverBinDir(Path bin) {
            this.serverBinDir = Objects.requireNonNull(bin, "bin");
            return this;
        }

        /** Queries the promoted server must pass, each returning true or a positive number. */
        public Builder validate(List<String> queries) {
            this.validate = List.copyOf(queries);
            return this;
        }

        /**
         * The failover.
         *
         * @throws ConfigException when no standby was given
         */
        public PostgresFailover build() {
            if (standby == null) {
                throw new ConfigException("postgres failover: give the standby (setting 'standby-url')");
            }
            return new PostgresFailover(this, common());
        }
    }
}
