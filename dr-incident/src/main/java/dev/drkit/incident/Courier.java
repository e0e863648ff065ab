package dev.drkit.incident;

import java.io.IOException;
import java.time.Duration;
import java.util.Locale;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.function.BiConsumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Delivers one channel's notices on a thread of its own, in order (a PagerDuty resolve never
 * overtakes its trigger), each retried with exponential backoff; a channel that is down delays
 * only its own notices, never a backup or another channel.
 */
final class Courier {
    private static final Logger LOG = LoggerFactory.getLogger(Courier.class);
    private static final long MAX_BACKOFF_MS = Duration.ofMinutes(5).toMillis();

    private final IncidentChannel channel;
    private final int attempts;
    private final Duration backoff;
    private final BiConsumer<Notice, String> failed;
    private final BiConsumer<Notice, Courier> delivered;
    private final ExecutorService thread;

    /**
     * @param failed told of a notice that could not be delivered, with the reason (no secret)
     * @param delivered told of a notice the channel took, with this courier
     */
    Courier(
            IncidentChannel channel,
            int attempts,
            Duration backoff,
            BiConsumer<Notice, String> failed,
            BiConsumer<Notice, Courier> delivered) {
        this.channel = channel;
        this.attempts = attempts;
        this.backoff = backoff;
        this.failed = failed;
        this.delivered = delivered;
        this.thread = Executors.newSingleThreadExecutor(r -> {
            Thread t = new Thread(r, "drkit-incident-notices");
            t.setDaemon(true);
            return t;
        });
    }

    void deliver(Notice notice) {
        thread.execute(() -> attempt(notice));
    }

    private void attempt(Notice notice) {
        String last = "";
        int attempt = 1;
        for (; attempt <= attempts; attempt++) {
            try {
                channel.send(notice);
                LOG.debug(
                        "{} notice of {} delivered to {}",
                        notice.type(),
                        notice.incident().id(),
                        channel);
                delivered.accept(notice, this);
                return;
            } catch (NoticeRejectedException e) {
                last = e.getMessage();
                break;
            } catch (IOException | RuntimeException e) {
                last = e.getMessage() == null ? "delivery failed" : e.getMessage();
            }
            if (attempt < attempts && !pause(attempt)) {
                last = "stopped while waiting to try again";
                break;
            }
        }
        int tried = Math.min(attempt, attempts);
        LOG.warn(
                "could not deliver the {} notice of incident {} to {} after {} attempt(s): {}",
                notice.type().name().toLowerCase(Locale.ROOT),
                notice.incident().id(),
                channel,
                tried,
                last);
        failed.accept(notice, channel + " after " + tried + " attempt(s): " + last);
    }

    private boolean pause(int attempt) {
        try {
            Thread.sleep(Math.min(MAX_BACKOFF_MS, backoff.toMillis() << Math.min(attempt - 1, 20)));
            return true;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }

    /** Delivers what is queued within {@code grace}, then interrupts the rest. */
    void close(Duration grace) {
        thread.shutdown();
        try {
            if (!thread.awaitTermination(grace.toMillis(), TimeUnit.MILLISECONDS)) {
                LOG.warn("notices to {} still undelivered after {} s; giving up on them", channel, grace.toSeconds());
                thread.shutdownNow();
            }
        } catch (InterruptedException e) {
            thread.shutdownNow();
            Thread.currentThread().interrupt();
        }
    }
}
