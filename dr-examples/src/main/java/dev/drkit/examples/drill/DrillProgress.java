package dev.drkit.examples.drill;

import dev.drkit.DrEvent;
import dev.drkit.DrListener;
import dev.drkit.Progress;
import java.io.PrintWriter;
import java.time.Duration;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The progress of the drill's long backups, restores and verifications on its log: one line
 * every {@link #EVERY} while one runs, so that a drill on a large sample shows it is alive; none
 * for an operation that ends sooner (the default sample's). Thread-safe.
 */
public final class DrillProgress implements DrListener {
    /** How often a running operation prints a line. */
    public static final Duration EVERY = Duration.ofSeconds(5);

    private final PrintWriter log;
    // operation and target -> the last period (elapsed / EVERY) a line was printed for
    private final Map<String, Long> printed = new ConcurrentHashMap<>();

    /** @param log the drill's log (lines start with {@code drill: }) */
    public DrillProgress(PrintWriter log) {
        this.log = log;
    }

    @Override
    public void onProgress(Progress p) {
        long period = p.elapsed().toMillis() / EVERY.toMillis();
        if (period == 0) {
            return;
        }
        Long before = printed.put(p.operation() + " " + p.target(), period);
        if (before != null && before == period) {
            return;
        }
        StringBuilder line = new StringBuilder("drill: ")
                .append(p.operation())
                .append(' ')
                .append(p.target())
                .append(": ")
                .append(SampleDatabase.mib(p.bytesDone()));
        if (p.bytesTotal() > 0) {
            line.append(" of ")
                    .append(SampleDatabase.mib(p.bytesTotal()))
                    .append(String.format(Locale.ROOT, " (%.0f%%)", p.fraction() * 100));
        }
        line.append(String.format(
                Locale.ROOT,
                ", %s/s, %d s",
                SampleDatabase.mib((long) p.bytesPerSecond()),
                p.elapsed().toSeconds()));
        log.println(line);
        log.flush();
    }

    @Override
    public void onEvent(DrEvent event) {
        if (event.type().name().endsWith("_SUCCEEDED") || event.type().name().endsWith("_FAILED")) {
            printed.clear(); // the next operation on the same target starts its periods afresh
        }
    }
}
