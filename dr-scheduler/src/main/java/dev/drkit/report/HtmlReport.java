package dev.drkit.report;

import dev.drkit.BackupManifest;
import dev.drkit.DrKit;
import dev.drkit.DrStatus;
import dev.drkit.Objectives;
import dev.drkit.StorageException;
import dev.drkit.TestSchedule;
import dev.drkit.VerificationRecord;
import dev.drkit.VerifyLevel;
import dev.drkit.spi.support.ByteSizes;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFileAttributeView;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;

/**
 * Renders the DR report: one self-contained HTML page (inline CSS and SVG, no scripts, nothing fetched) with,
 * per target, a timeline of the last days' backups (one point per backup, its height the stored size, its
 * colour the outcome of its newest verification) and restore tests, RPO and RTO against the objectives, the
 * verification checklist, then the recovery testing schedule and the open incidents.
 *
 * <p>Everything read from the repository is escaped: the page shows text, never markup, from it. Instances
 * are immutable and thread-safe; {@link #render()} reads the repository each time.
 *
 * <pre>{@code
 * HtmlReport.builder(kit).objectives(setup.targetObjectives()).testing(setup.testing()).build()
 *     .write(Path.of("dr-report.html"));
 * }</pre>
 */
public final class HtmlReport {
    static final int WIDTH = 760;
    static final int HEIGHT = 170;
    private static final int LEFT = 64;
    private static final int RIGHT = 16;
    private static final int TOP = 14;
    private static final int PLOT_BOTTOM = 112;
    private static final int TESTS_Y = 134;
    private static final DateTimeFormatter DAY =
            DateTimeFormatter.ofPattern("MMM d", Locale.ROOT).withZone(ZoneOffset.UTC);
    private static final DateTimeFormatter MINUTE =
            DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm'Z'", Locale.ROOT).withZone(ZoneOffset.UTC);

    private final DrKit kit;
    private final Map<String, Objectives> objectives;
    private final TestSchedule testing;
    private final Duration window;
    private final Clock clock;
    private final List<OpenIncident> incidents;

    private HtmlReport(Builder b) {
        this.kit = b.kit;
        this.objectives = Map.copyOf(b.objectives);
        this.testing = b.testing;
        this.window = b.window;
        this.clock = b.clock;
        this.incidents = List.copyOf(b.incidents);
    }

    /** A report on the kit's repository. */
    public static Builder builder(DrKit kit) {
        return new Builder(Objects.requireNonNull(kit, "kit"));
    }

    /**
     * An incident that is open, for the report's incident list.
     *
     * @param target the target it concerns, or null for the whole repository
     * @param title what is wrong, one line
     * @param since when it was declared
     * @param severity e.g. {@code critical}, or null
     */
    public record OpenIncident(String target, String title, Instant since, String severity) {
        public OpenIncident {
            Objects.requireNonNull(title, "title");
            Objects.requireNonNull(since, "since");
        }
    }

    /**
     * Reads the repository and renders the page.
     *
     * @throws StorageException when the storage fails
     */
    public String render() {
        Instant now = clock.instant();
        Instant from = now.minus(window);
        DrStatus status = kit.status(objectives, testing);
        StringBuilder h = new StringBuilder(64 * 1024);
        h.append("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">")
                .append("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">")
                .append("<title>DR report</title><style>")
                .append(CSS)
                .append("</style></head><body>\n<h1>DR report</h1>\n<p class=\"meta\">")
                .append(esc(kit.repositoryDescription()))
                .append(" &middot; ")
                .append(MINUTE.format(now))
                .append(" &middot; last ")
                .append(window.toDays())
                .append(" days &middot; <span class=\"")
                .append(status.healthy() ? "ok\">healthy" : "bad\">UNHEALTHY")
                .append("</span></p>\n");
        for (String p : status.problems()) {
            h.append("<p class=\"bad\">repository: ").append(esc(p)).append("</p>\n");
        }
        incidents(h);
        for (DrStatus.Target t : status.targets()) {
            target(h, t, from, now);
        }
        schedule(h, status);
        h.append("</body></html>\n");
        return h.toString();
    }

    /**
     * Renders the page into a file, replacing it atomically (a reader never sees half a page).
     *
     * @throws IOException when the file cannot be written
     */
    public void write(Path file) throws IOException {
        Path target = file.toAbsolutePath();
        Path tmp = Files.createTempFile(target.getParent(), ".drkit-report", ".tmp");
        try {
            Files.writeString(tmp, render(), StandardCharsets.UTF_8);
            if (Files.getFileStore(tmp).supportsFileAttributeView(PosixFileAttributeView.class)) {
                // the temporary file is the owner's only; the page is for a web server, as the one it replaces
                Files.setPosixFilePermissions(
                        tmp,
                        Files.exists(target)
                                ? Files.getPosixFilePermissions(target)
                                : PosixFilePermissions.fromString("rw-r--r--"));
            }
            Files.move(tmp, target, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } finally {
            Files.deleteIfExists(tmp);
        }
    }

    private void incidents(StringBuilder h) {
        h.append("<h2>Open incidents</h2>\n");
        if (incidents.isEmpty()) {
            h.append("<p class=\"ok\">none</p>\n");
            return;
        }
        h.append("<table><tr><th>since</th><th>target</th><th>severity</th><th>incident</th></tr>\n");
        for (OpenIncident i : incidents) {
            h.append("<tr class=\"bad\"><td>")
                    .append(MINUTE.format(i.since()))
                    .append("</td><td>")
                    .append(esc(i.target() == null ? "-" : i.target()))
                    .append("</td><td>")
                    .append(esc(i.severity() == null ? "-" : i.severity()))
                    .append("</td><td>")
                    .append(esc(i.title()))
                    .append("</td></tr>\n");
        }
        h.append("</table>\n");
    }

    private void target(StringBuilder h, DrStatus.Target t, Instant from, Instant now) {
        List<BackupManifest> backups = new ArrayList<>();
        for (BackupManifest m : kit.list(t.name())) {
            if (!m.finishedAt().isBefore(from) && !m.finishedAt().isAfter(now)) {
                backups.add(m);
            }
        }
        List<VerificationRecord> verifications = kit.verifications(t.name(), from);
        h.append("<section class=\"target\"><h2>")
                .append(esc(t.name()))
                .append(" <span class=\"")
                .append(t.healthy() ? "ok\">healthy" : "bad\">UNHEALTHY")
                .append("</span></h2>\n<table class=\"objectives\"><tr><th></th><th>measured</th><th>objective</th>"
                        + "<th></th></tr>\n<tr><td>RPO (")
                // a PITR target's data goes on being archived after its newest backup: that is the RPO
                .append(
                        t.recoveryPointAt() == null
                                ? "newest backup's age"
                                : "WAL archived since the newest backup, up to " + MINUTE.format(t.recoveryPointAt()))
                .append(")</td><td>")
                .append(duration(
                        t.recoveryPointAt() == null
                                ? t.newestBackupAgeSeconds()
                                : Math.max(
                                                0,
                                                Duration.between(t.recoveryPointAt(), now)
                                                        .toMillis())
                                        / 1000.0))
                .append("</td><td>")
                .append(duration(t.rpoSeconds() == null ? null : t.rpoSeconds().doubleValue()))
                .append("</td><td class=\"")
                .append(t.rpoMet() ? "ok\">met" : "bad\">missed")
                .append("</td></tr>\n<tr><td>RTO (newest restore test)</td><td>")
                .append(duration(t.lastRestoreTestSeconds()))
                .append("</td><td>")
                .append(duration(t.rtoSeconds() == null ? null : t.rtoSeconds().doubleValue()))
                .append("</td><td class=\"")
                .append(t.rtoMet() ? "ok\">met" : "bad\">missed")
                .append("</td></tr></table>\n");
        h.append(Timeline.svg(t.name(), backups, verifications, from, now));
        h.append("<p class=\"legend\">").append(backups.size()).append(" backup(s) in the window &middot; ");
        long restoreTests = verifications.stream()
                .filter(v -> v.level() == VerifyLevel.RESTORE)
                .count();
        h.append(restoreTests).append(" restore test(s) &middot; ").append(verifications.size());
        h.append(" verification(s)</p>\n");
        for (String p : t.problems()) {
            h.append("<p class=\"bad\">").append(esc(p)).append("</p>\n");
        }
        h.append("<table class=\"checklist\"><tr><th>checklist</th><th></th><th></th></tr>\n");
        for (DrStatus.Check c : t.checklist()) {
            String cls = switch (c.state()) {
                case PASSED -> "ok";
                case FAILED -> "bad";
                case UNKNOWN -> "unknown";
            };
            h.append("<tr><td>")
                    .append(esc(c.item().title()))
                    .append("</td><td class=\"")
                    .append(cls)
                    .append("\">")
                    .append(c.state().name().toLowerCase(Locale.ROOT))
                    .append("</td><td>")
                    .append(esc(c.detail()))
                    .append("</td></tr>\n");
        }
        h.append("</table></section>\n");
    }

    private void schedule(StringBuilder h, DrStatus status) {
        h.append("<h2>Recovery testing schedule</h2>\n<table class=\"schedule\"><tr><th>test</th><th>every</th>"
                + "<th>last executed</th><th>result</th><th>next due</th><th></th></tr>\n");
        for (DrStatus.ScheduledTest s : status.schedule()) {
            h.append("<tr><td>")
                    .append(esc(s.test().title()))
                    .append("</td><td>")
                    .append(duration((double) s.every().toSeconds()))
                    .append("</td><td>")
                    .append(s.lastExecuted() == null ? "never" : MINUTE.format(s.lastExecuted()))
                    .append(s.lastDetail() == null ? "" : "<br><small>" + esc(s.lastDetail()) + "</small>")
                    .append("</td><td class=\"")
                    .append(s.lastPassed() == null ? "unknown\">-" : s.lastPassed() ? "ok\">passed" : "bad\">failed")
                    .append("</td><td>")
                    .append(s.lastExecuted() == null ? "now" : MINUTE.format(s.nextDue()))
                    .append("</td><td class=\"bad\">")
                    .append(s.overdue() ? "overdue" : "")
                    .append("</td></tr>\n");
        }
        h.append("</table>\n");
    }

    static String duration(Double seconds) {
        if (seconds == null) {
            return "-";
        }
        double s = seconds;
        if (s >= 86400 && s % 86400 == 0) {
            return String.format(Locale.ROOT, "%.0f d", s / 86400);
        }
        return s >= 7200
                ? String.format(Locale.ROOT, "%.1f h", s / 3600)
                : s >= 120 ? String.format(Locale.ROOT, "%.1f min", s / 60) : String.format(Locale.ROOT, "%.1f s", s);
    }

    /** Escapes text for HTML element content and double-quoted attributes. */
    static String esc(String s) {
        if (s == null) {
            return "";
        }
        StringBuilder b = new StringBuilder(s.length() + 16);
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '<' -> b.append("&lt;");
                case '>' -> b.append("&gt;");
                case '&' -> b.append("&amp;");
                case '"' -> b.append("&quot;");
                case '\'' -> b.append("&#39;");
                default -> b.append(c < 0x20 && c != '\n' && c != '\t' ? '\uFFFD' : c);
            }
        }
        return b.toString();
    }

    /** The SVG timeline of one target. */
    static final class Timeline {
        private Timeline() {}

        static String svg(
                String target,
                List<BackupManifest> backups,
                List<VerificationRecord> verifications,
                Instant from,
                Instant to) {
            double span = Math.max(1, Duration.between(from, to).toSeconds());
            long max =
                    backups.stream().mapToLong(BackupManifest::storedSize).max().orElse(0);
            Map<String, VerificationRecord> newestByBackup = new HashMap<>();
            for (VerificationRecord v : verifications) {
                newestByBackup.merge(v.backupId(), v, (a, b) -> b.at().isAfter(a.at()) ? b : a);
            }
            StringBuilder s = new StringBuilder();
            s.append("<svg class=\"timeline\" xmlns=\"http://www.w3.org/2000/svg\" width=\"")
                    .append(WIDTH)
                    .append("\" height=\"")
                    .append(HEIGHT)
                    .append("\" viewBox=\"0 0 ")
                    .append(WIDTH)
                    .append(' ')
                    .append(HEIGHT)
                    .append("\" role=\"img\" aria-label=\"backups of ")
                    .append(esc(target))
                    .append("\">");
            s.append("<rect x=\"0\" y=\"0\" width=\"")
                    .append(WIDTH)
                    .append("\" height=\"")
                    .append(HEIGHT)
                    .append("\" fill=\"#fafbfc\"/>");
            int plotWidth = WIDTH - LEFT - RIGHT;
            // day grid with a label every few days
            long days = Math.max(1, Math.round(span / 86400));
            long every = days <= 10 ? 1 : days <= 40 ? 5 : 10;
            for (long d = 0; d <= days; d++) {
                Instant at = from.plus(Duration.ofDays(d));
                double x = LEFT + plotWidth * (Duration.between(from, at).toSeconds() / span);
                s.append("<line class=\"grid\" x1=\"")
                        .append(f(x))
                        .append("\" y1=\"")
                        .append(TOP)
                        .append("\" x2=\"")
                        .append(f(x))
                        .append("\" y2=\"")
                        .append(TESTS_Y + 8)
                        .append("\"/>");
                if (d % every == 0) {
                    s.append("<text class=\"axis\" x=\"")
                            .append(f(x))
                            .append("\" y=\"")
                            .append(HEIGHT - 6)
                            .append("\" text-anchor=\"middle\">")
                            .append(DAY.format(at))
                            .append("</text>");
                }
            }
            s.append("<text class=\"axis\" x=\"4\" y=\"")
                    .append(TOP + 8)
                    .append("\">")
                    .append(esc(ByteSizes.human(max)))
                    .append("</text>");
            s.append("<text class=\"axis\" x=\"4\" y=\"").append(PLOT_BOTTOM).append("\">0</text>");
            s.append("<text class=\"axis\" x=\"4\" y=\"").append(TESTS_Y + 4).append("\">restore</text>");
            s.append("<line class=\"base\" x1=\"")
                    .append(LEFT)
                    .append("\" y1=\"")
                    .append(PLOT_BOTTOM)
                    .append("\" x2=\"")
                    .append(WIDTH - RIGHT)
                    .append("\" y2=\"")
                    .append(PLOT_BOTTOM)
                    .append("\"/>");
            for (BackupManifest m : backups) {
                double x = LEFT
                        + plotWidth * (Duration.between(from, m.finishedAt()).toSeconds() / span);
                double y = max == 0 ? PLOT_BOTTOM : PLOT_BOTTOM - (PLOT_BOTTOM - TOP) * (m.storedSize() / (double) max);
                VerificationRecord v = newestByBackup.get(m.id());
                String outcome = v == null ? "unverified" : v.passed() ? "verified" : "failed";
                s.append("<circle class=\"backup ")
                        .append(outcome)
                        .append("\" cx=\"")
                        .append(f(x))
                        .append("\" cy=\"")
                        .append(f(y))
                        .append("\" r=\"4\"><title>")
                        .append(esc(m.id() + ", " + ByteSizes.human(m.storedSize()) + " stored, " + outcome
                                + (v == null ? "" : " (" + v.level().name().toLowerCase(Locale.ROOT) + ")")))
                        .append("</title></circle>");
            }
            for (VerificationRecord v : verifications) {
                if (v.level() != VerifyLevel.RESTORE) {
                    continue;
                }
                double x = LEFT + plotWidth * (Duration.between(from, v.at()).toSeconds() / span);
                s.append("<path class=\"restore-test ")
                        .append(v.passed() ? "passed" : "failed")
                        .append("\" d=\"M")
                        .append(f(x))
                        .append(' ')
                        .append(TESTS_Y - 6)
                        .append(" l6 6 l-6 6 l-6 -6 z\"><title>")
                        .append(esc("restore test of " + v.backupId() + " " + (v.passed() ? "passed" : "failed")
                                + (v.restoreSeconds() == null
                                        ? ""
                                        : String.format(Locale.ROOT, " in %.1f s", v.restoreSeconds()))))
                        .append("</title></path>");
            }
            s.append("</svg>\n");
            return s.toString();
        }

        private static String f(double v) {
            return String.format(Locale.ROOT, "%.1f", v);
        }
    }

    private static final String CSS = "body{font:14px/1.45 system-ui,sans-serif;margin:24px;color:#1f2328;"
            + "background:#fff}h1{margin:0 0 4px}h2{margin:22px 0 6px;font-size:18px}.meta{color:#57606a}"
            + "table{border-collapse:collapse;margin:6px 0}td,th{padding:3px 10px;border-bottom:1px solid #d8dee4;"
            + "text-align:left;vertical-align:top}.ok{color:#1a7f37;font-weight:600}.bad{color:#cf222e;"
            + "font-weight:600}.unknown{color:#6e7781}section.target{border:1px solid #d0d7de;border-radius:6px;"
            + "padding:4px 14px 10px;margin:14px 0}.legend{color:#57606a;font-size:12px;margin:2px 0}"
            + "svg .grid{stroke:#eaeef2}svg .base{stroke:#8c959f}svg .axis{font-size:10px;fill:#57606a}"
            + "svg .backup{stroke:#fff;stroke-width:1}svg .verified{fill:#1a7f37}svg .failed{fill:#cf222e}"
            + "svg .unverified{fill:#8250df}svg .restore-test.passed{fill:#0969da}"
            + "svg .restore-test.failed{fill:#cf222e}small{color:#57606a}";

    /** Builds a report. Not thread-safe; the report it builds is. */
    public static final class Builder {
        private final DrKit kit;
        private Map<String, Objectives> objectives = Map.of();
        private TestSchedule testing = TestSchedule.plan();
        private Duration window = Duration.ofDays(30);
        private Clock clock = Clock.systemUTC();
        private List<OpenIncident> incidents = List.of();

        private Builder(DrKit kit) {
            this.kit = kit;
        }

        /** The targets' objectives (targets not in it have none). */
        public Builder objectives(Map<String, Objectives> objectives) {
            this.objectives = Map.copyOf(Objects.requireNonNull(objectives, "objectives"));
            return this;
        }

        /** How often each recovery test is due (default: the classic plan's). */
        public Builder testing(TestSchedule testing) {
            this.testing = Objects.requireNonNull(testing, "testing");
            return this;
        }

        /**
         * How far back the timelines go, in whole days (default 30).
         *
         * @throws IllegalArgumentException unless 1 to 366 days
         */
        public Builder days(int days) {
            if (days < 1 || days > 366) {
                throw new IllegalArgumentException("days must be 1 to 366, not " + days);
            }
            this.window = Duration.ofDays(days);
            return this;
        }

        /** The clock that says when "now" is (default: the system's). */
        public Builder clock(Clock clock) {
            this.clock = Objects.requireNonNull(clock, "clock");
            return this;
        }

        /** The incidents that are open, listed at the top (default: none). */
        public Builder incidents(List<OpenIncident> incidents) {
            this.incidents = List.copyOf(Objects.requireNonNull(incidents, "incidents"));
            return this;
        }

        /** The report. */
        public HtmlReport build() {
            return new HtmlReport(this);
        }
    }
}
