package dev.drkit.examples.cli;

import dev.drkit.DrEvent;
import dev.drkit.DrListener;
import dev.drkit.Progress;
import java.io.PrintWriter;
import java.util.Locale;

/**
 * Progress on a terminal: one line, rewritten in place, on stderr as the JVM gave it (its
 * carriage return and erase-line escape would not pass {@link TerminalSafeStream}); the target's
 * name, which a restore reads from the repository, is cleaned here instead.
 */
final class ConsoleProgress implements DrListener {
    private final PrintWriter err;

    ConsoleProgress(PrintWriter err) {
        this.err = err;
    }

    @Override
    public void onProgress(Progress p) {
        StringBuilder sb = new StringBuilder("\r")
                .append(p.operation())
                .append(' ')
                .append(GlobalOptions.safe(p.target()))
                .append(": ")
                .append(Sizes.human(p.bytesDone()));
        if (p.bytesTotal() >= 0) {
            sb.append(" / ")
                    .append(Sizes.human(p.bytesTotal()))
                    .append(String.format(Locale.ROOT, " (%.0f%%)", p.fraction() * 100));
        }
        sb.append(' ').append(Sizes.human((long) p.bytesPerSecond())).append("/s");
        p.eta().ifPresent(eta -> sb.append(" ETA ").append(eta.toSeconds()).append('s'));
        sb.append("   ");
        err.print(sb);
        err.flush();
    }

    @Override
    public void onEvent(DrEvent event) {
        switch (event.type()) {
            case BACKUP_SUCCEEDED:
            case BACKUP_FAILED:
            case RESTORE_SUCCEEDED:
            case RESTORE_FAILED:
                err.print("\r\033[K");
                err.flush();
                break;
            default:
        }
    }
}
