package dev.drkit.incident;

import static org.assertj.core.api.Assertions.assertThat;

import dev.drkit.DrEvent;
import dev.drkit.DrListener;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A resolution notice is the last word on an incident: an open incident's notice that fails is
 * made good by the next update (a PagerDuty trigger with the same dedup key), but nothing else
 * follows a resolution. So a resolution some channel did not take (the receiver down for the
 * minutes the retries take, the daemon stopped before the notice left) is kept in the state
 * file and sent again every update interval, to those channels, for up to a week.
 */
class LostResolutionTest {
    @TempDir
    Path dir;

    private final TestClock clock = new TestClock("2026-12-02T10:00:00Z");

    /** Records what it is sent; refuses (retryably) while down. */
    static final class Receiver implements IncidentChannel {
        final AtomicBoolean down = new AtomicBoolean();
        final List<Notice> delivered = new CopyOnWriteArrayList<>();
        final BlockingQueue<Notice> arrived = new LinkedBlockingQueue<>();

        @Override
        public void send(Notice notice) throws IOException {
            if (down.get()) {
                throw new IOException("HTTP 503");
            }
            delivered.add(notice);
            arrived.add(notice);
        }

        @Override
        public String toString() {
            return "receiver";
        }
    }

    private DrEvent event(DrEvent.Type type) {
        return new DrEvent(type, "db", null, clock.instant(), "x", Map.of());
    }

    @Test
    void aResolutionThatFailedWhileTheReceiverWasDownIsSentOnceItIsBack() throws Exception {
        Receiver receiver = new Receiver();
        CountDownLatch failed = new CountDownLatch(1);
        DrListener events = new DrListener() {
            @Override
            public void onEvent(DrEvent e) {
                if (e.type() == DrEvent.Type.NOTICE_FAILED) {
                    failed.countDown();
                }
            }
        };
        IncidentManager m = IncidentManager.builder()
                .clock(clock)
                .stateFile(dir.resolve("incidents.json"))
                .channel(receiver)
                .listener(events)
                .delivery(2, Duration.ofMillis(10))
                .build();
        m.onEvent(event(DrEvent.Type.FAILOVER_STARTED));
        assertThat(receiver.arrived.poll(10, TimeUnit.SECONDS))
                .as("the initial notice")
                .isNotNull();
        receiver.down.set(true); // the receiver's outage begins after the page went out
        clock.plus(Duration.ofMinutes(10));
        m.onEvent(event(DrEvent.Type.FAILOVER_COMPLETED));
        assertThat(failed.await(10, TimeUnit.SECONDS))
                .as("the resolution's delivery failed")
                .isTrue();

        receiver.down.set(false); // back an hour later; the daemon keeps evaluating
        clock.plus(Duration.ofHours(1));
        m.evaluate(null);
        clock.plus(Duration.ofHours(1));
        m.evaluate(null);
        m.close(); // delivers what is queued

        assertThat(receiver.delivered)
                .extracting(Notice::type)
                .as("the alert the initial notice opened must be resolved in the end")
                .contains(Notice.Type.INITIAL, Notice.Type.RESOLUTION);
    }

    @Test
    void aResolutionNoChannelTookForAWeekIsGivenUp() throws Exception {
        Path state = dir.resolve("incidents.json");
        Receiver receiver = new Receiver();
        IncidentManager m = IncidentManager.builder()
                .clock(clock)
                .stateFile(state)
                .channel(receiver)
                .delivery(1, Duration.ofMillis(10))
                .build();
        m.onEvent(event(DrEvent.Type.FAILOVER_STARTED));
        assertThat(receiver.arrived.poll(10, TimeUnit.SECONDS)).isNotNull();
        receiver.down.set(true);
        m.onEvent(event(DrEvent.Type.FAILOVER_COMPLETED));
        clock.plus(Duration.ofDays(6));
        m.evaluate(null);
        assertThat(Files.readString(state)).as("still on its way after 6 days").contains("\"resolving\" : [ {");

        clock.plus(Duration.ofDays(2));
        m.evaluate(null);
        m.close();

        assertThat(Files.readString(state)).contains("\"resolving\" : [ ]");
        assertThat(receiver.delivered).extracting(Notice::type).containsExactly(Notice.Type.INITIAL);
    }

    @Test
    void aResolutionNotYetSentWhenTheDaemonStoppedIsSentAfterTheRestart() throws Exception {
        Path state = dir.resolve("incidents.json");
        Receiver before = new Receiver();
        IncidentManager first = IncidentManager.builder()
                .clock(clock)
                .stateFile(state)
                .channel(before)
                .delivery(20, Duration.ofMinutes(1)) // still retrying when the daemon stops
                .build();
        first.onEvent(event(DrEvent.Type.FAILOVER_STARTED));
        before.down.set(true);
        first.onEvent(event(DrEvent.Type.FAILOVER_COMPLETED));
        // killed: no close(), the queued resolution dies with the process, which releases the state file's lock
        first.releaseState();

        Receiver after = new Receiver();
        IncidentManager second = IncidentManager.builder()
                .clock(clock)
                .stateFile(state)
                .channel(after)
                .delivery(2, Duration.ofMillis(10))
                .build();
        clock.plus(Duration.ofHours(2));
        second.evaluate(null);
        second.close();
        assertThat(after.delivered)
                .extracting(Notice::type)
                .as("the restarted daemon resolves the alert the killed one could not")
                .contains(Notice.Type.RESOLUTION);
    }
}
