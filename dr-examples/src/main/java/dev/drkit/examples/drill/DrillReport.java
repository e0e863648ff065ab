package dev.drkit.examples.drill;

import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Locale;

/**
 * What a drill measured.
 *
 * @param startedAt when the drill started
 * @param repository where the backups were stored
 * @param scenarios one row per scenario played
 * @param notes the backups taken and checked before the disasters, and anything skipped
 */
public record DrillReport(Instant startedAt, String repository, List<Scenario> scenarios, List<String> notes) {

    /**
     * One disaster and the recovery from it.
     *
     * @param name short name of the scenario
     * @param system the system it hit (and whose objectives apply)
     * @param what what happened and how drkit recovered
     * @param achievedRpoSeconds data lost, measured as the time between the newest usable backup
     *        and the disaster
     * @param achievedRtoSeconds time from the start of recovery to a validated restore
     * @param objectiveRpoSeconds the plan's recovery point objective
     * @param objectiveRtoSeconds the plan's recovery time objective
     * @param checks what was checked to call the recovery good
     * @param passed whether the recovery was validated and both objectives were met
     */
    public record Scenario(
            String name,
            String system,
            String what,
            double achievedRpoSeconds,
            double achievedRtoSeconds,
            long objectiveRpoSeconds,
            long objectiveRtoSeconds,
            List<String> checks,
            boolean passed) {

        /** A scenario whose recovery could not be completed at all. */
        public static Scenario failed(
                String name,
                String system,
                String what,
                long objectiveRpoSeconds,
                long objectiveRtoSeconds,
                Exception cause) {
            return new Scenario(
                    name,
                    system,
                    what,
                    Double.NaN,
                    Double.NaN,
                    objectiveRpoSeconds,
                    objectiveRtoSeconds,
                    List.of("FAILED: " + cause),
                    false);
        }
    }

    public boolean passed() {
        return !scenarios.isEmpty() && scenarios.stream().allMatch(Scenario::passed);
    }

    /** The report as a plain-text table. */
    public String table() {
        StringBuilder sb = new StringBuilder();
        sb.append(String.format(
                Locale.ROOT,
                "%-24s %-14s %12s %12s %12s %12s  %s%n",
                "SCENARIO",
                "SYSTEM",
                "RPO",
                "RPO GOAL",
                "RTO",
                "RTO GOAL",
                "RESULT"));
        for (Scenario s : scenarios) {
            sb.append(String.format(
                    Locale.ROOT,
                    "%-24s %-14s %12s %12s %12s %12s  %s%n",
                    s.name(),
                    s.system(),
                    seconds(s.achievedRpoSeconds()),
                    human(s.objectiveRpoSeconds()),
                    seconds(s.achievedRtoSeconds()),
                    human(s.objectiveRtoSeconds()),
                    s.passed() ? "PASS" : "FAIL"));
        }
        return sb.toString();
    }

    /** The report as Markdown. */
    public String markdown() {
        StringBuilder sb = new StringBuilder("# drkit DR drill\n\n");
        sb.append("Started ")
                .append(startedAt)
                .append(", repository `")
                .append(repository)
                .append("`.\n\n");
        sb.append("| scenario | system | achieved RPO | RPO objective | achieved RTO | RTO objective | result |\n");
        sb.append("|---|---|---|---|---|---|---|\n");
        for (Scenario s : scenarios) {
            sb.append("| ")
                    .append(s.name())
                    .append(" | ")
                    .append(s.system())
                    .append(" | ")
                    .append(seconds(s.achievedRpoSeconds()))
                    .append(" | ")
                    .append(human(s.objectiveRpoSeconds()))
                    .append(" | ")
                    .append(seconds(s.achievedRtoSeconds()))
                    .append(" | ")
                    .append(human(s.objectiveRtoSeconds()))
                    .append(" | ")
                    .append(s.passed() ? "PASS" : "FAIL")
                    .append(" |\n");
        }
        sb.append('\n');
        if (!notes.isEmpty()) {
            sb.append("## Backups\n\n");
            notes.forEach(n -> sb.append("- ").append(n).append('\n'));
            sb.append('\n');
        }
        for (Scenario s : scenarios) {
            sb.append("## ").append(s.name()).append("\n\n").append(s.what()).append("\n\n");
            s.checks().forEach(c -> sb.append("- ").append(c).append('\n'));
            sb.append('\n');
        }
        sb.append("Overall: **").append(passed() ? "PASS" : "FAIL").append("**\n");
        return sb.toString();
    }

    private static String seconds(double s) {
        if (Double.isNaN(s) || Double.isInfinite(s)) {
            return "-";
        }
        return String.format(Locale.ROOT, "%.2fs", s);
    }

    private static String human(long seconds) {
        Duration d = Duration.ofSeconds(seconds);
        if (d.toHours() >= 1 && d.toMinutesPart() == 0) {
            return d.toHours() + "h";
        }
        return d.toSecondsPart() == 0 ? d.toMinutes() + "m" : d.toSeconds() + "s";
    }
}
