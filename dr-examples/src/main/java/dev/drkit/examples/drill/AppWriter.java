package dev.drkit.examples.drill;

import dev.drkit.postgres.EmbeddedPostgres;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.util.HashSet;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentSkipListMap;

/**
 * The application during the drill: one small write at a time into {@code activity}, each
 * remembered with the moment its commit was acknowledged. Comparing a recovered database with
 * these acknowledgements measures the data a recovery lost.
 */
final class AppWriter implements Runnable {
    static final Duration INTERVAL = Duration.ofMillis(20);

    private final EmbeddedPostgres pg;
    private final String database;
    private final ConcurrentSkipListMap<Long, Instant> acknowledged = new ConcurrentSkipListMap<>();
    private final Thread thread;
    private volatile boolean running = true;
    // where the application writes after a failover (its traffic was switched), and when the
    // first of those writes was acknowledged; until then a lost server makes it retry, not stop
    private volatile boolean followsFailover;
    private volatile EmbeddedPostgres switchedTo;
    private volatile Instant firstWriteAfterSwitch;

    private AppWriter(EmbeddedPostgres pg, String database) {
        this.pg = pg;
        this.database = database;
        this.thread = new Thread(this, "drill-application");
        thread.setDaemon(true);
    }

    static AppWriter start(EmbeddedPostgres pg, String database) {
        AppWriter w = new AppWriter(pg, database);
        w.thread.start();
        return w;
    }

    @Override
    public void run() {
        try {
            write(pg, acknowledged);
            // the server went away (the disaster): retry until traffic is switched to a promoted standby
            while (running && retryUntilSwitched()) {
                Thread.sleep(INTERVAL.toMillis());
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** Writes until the server goes away; acknowledged writes are recorded in {@code into}. */
    private void write(EmbeddedPostgres server, Map<Long, Instant> into) throws InterruptedException {
        try (Connection c = server.connect(database);
                PreparedStatement insert = c.prepareStatement("INSERT INTO activity (note) VALUES (?) RETURNING id")) {
            for (long n = 1; running; n++) {
                insert.setString(1, "order " + n);
                try (ResultSet rs = insert.executeQuery()) {
                    rs.next();
                    Instant at = Instant.now(); // autocommit: the commit is durable now
                    into.put(rs.getLong(1), at);
                    if (server != pg && firstWriteAfterSwitch == null) {
                        firstWriteAfterSwitch = at;
                    }
                }
                Thread.sleep(INTERVAL.toMillis());
            }
        } catch (SQLException e) {
            if (server == pg && !followsFailover) {
                running = false;
            }
        }
    }

    /** Whether to go on: writes to the server traffic was switched to, once there is one. */
    private boolean retryUntilSwitched() throws InterruptedException {
        if (!followsFailover) {
            return false;
        }
        EmbeddedPostgres next = switchedTo;
        if (next != null) {
            // the promoted server's writes are kept apart: its ids may repeat ones the lost server gave out
            write(next, new ConcurrentSkipListMap<>());
        }
        return true;
    }

    /** From now on a lost server makes the application retry and follow {@link #switchTo}, as a pool would. */
    void followFailovers() {
        followsFailover = true;
    }

    /** The traffic switch: the application writes to {@code promoted} from now on. */
    void switchTo(EmbeddedPostgres promoted) {
        switchedTo = promoted;
    }

    /**
     * Waits for the first write acknowledged by the server traffic was switched to.
     *
     * @throws IllegalStateException when none came within {@code timeout}
     */
    Instant awaitFirstWriteAfterSwitch(Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (firstWriteAfterSwitch == null) {
            if (System.nanoTime() - deadline > 0) {
                throw new IllegalStateException(
                        "the application wrote nothing to the promoted server within " + timeout.toSeconds() + " s");
            }
            Thread.sleep(5);
        }
        return firstWriteAfterSwitch;
    }

    void stop() {
        running = false;
        thread.interrupt();
    }

    /** Waits until the writer gave up on its lost server. */
    void awaitStopped() throws InterruptedException {
        thread.join(Duration.ofMinutes(1).toMillis());
        if (thread.isAlive()) {
            stop();
        }
    }

    /**
     * What a recovered database lost of the writes acknowledged before {@code disaster}: the
     * achieved RPO is the time from the newest write it kept (with every earlier one kept) to
     * the disaster.
     */
    Loss lossAgainst(EmbeddedPostgres recovered, String db, Instant disaster) throws SQLException {
        Set<Long> present = new HashSet<>();
        try (Connection c = recovered.connect(db);
                Statement s = c.createStatement();
                ResultSet rs = s.executeQuery("SELECT id FROM activity")) {
            while (rs.next()) {
                present.add(rs.getLong(1));
            }
        }
        Instant newestKept = null;
        int before = 0;
        int lost = 0;
        for (Map.Entry<Long, Instant> w : acknowledged.entrySet()) {
            if (!w.getValue().isBefore(disaster)) {
                break;
            }
            before++;
            if (!present.contains(w.getKey())) {
                lost++;
            } else if (lost == 0) {
                newestKept = w.getValue();
            }
        }
        if (before == 0) {
            throw new IllegalStateException("the application acknowledged no write before the disaster");
        }
        double rpo = newestKept == null
                ? Double.POSITIVE_INFINITY
                : Duration.between(newestKept, disaster).toNanos() / 1e9;
        return new Loss(before, lost, rpo);
    }

    /**
     * @param acknowledged writes acknowledged before the disaster
     * @param lostWrites how many of them the recovery lacks
     * @param rpoSeconds time from the newest write kept (all earlier ones kept too) to the disaster
     */
    record Loss(int acknowledged, int lostWrites, double rpoSeconds) {
        String describe() {
            return String.format(
                    Locale.ROOT,
                    "%d of %d acknowledged application writes lost; the newest kept write "
                            + "was acknowledged %.3f s before the disaster",
                    lostWrites,
                    acknowledged,
                    rpoSeconds);
        }

        @Override
        public String toString() {
            return describe();
        }
    }
}
