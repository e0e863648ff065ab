package dev.drkit.examples.host;

import dev.drkit.DrEvent;
import dev.drkit.DrListener;
import jakarta.inject.Singleton;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** The host's listener: logs what drkit did and keeps it for the service's health page. */
@Singleton
public final class BackupEvents implements DrListener {
    private static final Logger LOG = LoggerFactory.getLogger(BackupEvents.class);
    private final List<DrEvent> events = new CopyOnWriteArrayList<>();

    @Override
    public void onEvent(DrEvent event) {
        events.add(event);
        if (event.type().name().endsWith("FAILED")) {
            LOG.error("drkit: {}", event.message());
        } else {
            LOG.info("drkit: {}", event.message());
        }
    }

    /** Every event so far, oldest first. */
    public List<DrEvent> events() {
        return List.copyOf(events);
    }
}
