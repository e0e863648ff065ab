package dev.drkit.notify;

import dev.drkit.DrEvent;
import dev.drkit.DrListener;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** Logs every event through SLF4J (logger {@code dev.drkit.events}): failures at ERROR, the rest at INFO. */
public final class LoggingListener implements DrListener {
    private static final Logger LOG = LoggerFactory.getLogger("dev.drkit.events");

    @Override
    public void onEvent(DrEvent event) {
        if (WebhookListener.FAILURES.contains(event.type())) {
            LOG.error("{} {}: {}", event.type(), event.target(), event.message());
        } else {
            LOG.info("{} {}: {}", event.type(), event.target(), event.message());
        }
    }
}
