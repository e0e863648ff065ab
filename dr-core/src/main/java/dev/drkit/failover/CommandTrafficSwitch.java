package dev.drkit.failover;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.TimeUnit;

/**
 * Switches traffic by running a program: the argument list as given, with no shell between (so
 * nothing in it is expanded or split); the tokens {@code {name}}, {@code {new-primary}} and
 * {@code {old-primary}} in an argument are replaced by the promotion's values. The program also
 * finds them in its environment as {@code DRKIT_FAILOVER_NAME}, {@code DRKIT_NEW_PRIMARY},
 * {@code DRKIT_OLD_PRIMARY} and {@code DRKIT_FAILOVER_SYSTEM}. Secrets it needs go in
 * {@link #withEnvironment} (never in arguments, which other users of the machine can read); their
 * values are blanked out of any output quoted in a message. Exit 0 within the timeout (default
 * 60 s) is success; otherwise the program is killed and the switch step fails with its last lines
 * of output. Immutable and thread-safe.
 */
public final class CommandTrafficSwitch implements TrafficSwitch {
    private final List<String> command;
    private final Map<String, String> environment;
    private final Duration timeout;

    private CommandTrafficSwitch(List<String> command, Map<String, String> environment, Duration timeout) {
        this.command = command;
        this.environment = environment;
        this.timeout = timeout;
    }

    /**
     * Runs {@code command} (program first, then its arguments) with a 60 s timeout.
     *
     * @throws IllegalArgumentException when the list is empty or the program name blank
     */
    public static CommandTrafficSwitch of(List<String> command) {
        Objects.requireNonNull(command, "command");
        if (command.isEmpty() || command.get(0).isBlank()) {
            throw new IllegalArgumentException("a traffic switch command needs a program to run");
        }
        return new CommandTrafficSwitch(List.copyOf(command), Map.of(), Duration.ofSeconds(60));
    }

    /** The same command with variables added to its environment (e.g. an API token); never logged. */
    public CommandTrafficSwitch withEnvironment(Map<String, String> variables) {
        Map<String, String> env = new LinkedHashMap<>(environment);
        env.putAll(Objects.requireNonNull(variables, "variables"));
        return new CommandTrafficSwitch(command, Map.copyOf(env), timeout);
    }

    /** The same command with another timeout. */
    public CommandTrafficSwitch withTimeout(Duration timeout) {
        return new CommandTrafficSwitch(command, environment, Probe.positive(timeout, "timeout"));
    }

    @Override
    public void switchTo(Promotion p) throws IOException, InterruptedException {
        List<String> argv = new ArrayList<>(command.size());
        for (String a : command) {
            argv.add(a.replace("{name}", p.name())
                    .replace("{new-primary}", p.newPrimary())
                    .replace("{old-primary}", p.oldPrimary() == null ? "" : p.oldPrimary()));
        }
        ProcessBuilder pb = new ProcessBuilder(argv).redirectErrorStream(true);
        pb.environment().putAll(environment);
        pb.environment().put("DRKIT_FAILOVER_NAME", p.name());
        pb.environment().put("DRKIT_FAILOVER_SYSTEM", p.system());
        pb.environment().put("DRKIT_NEW_PRIMARY", p.newPrimary());
        pb.environment().put("DRKIT_OLD_PRIMARY", p.oldPrimary() == null ? "" : p.oldPrimary());
        Process process;
        try {
            process = pb.start();
        } catch (IOException e) {
            throw new IOException(
                    "cannot run the traffic switch command " + command.get(0) + ": " + Probe.describe(e), e);
        }
        process.getOutputStream().close();
        OutputTail tail = new OutputTail(process);
        tail.start();
        if (!process.waitFor(
                // toMillis() overflows past Long.MAX_VALUE ms (ChronoUnit.FOREVER): then no limit
                timeout.getSeconds() >= Long.MAX_VALUE / 1000 ? Long.MAX_VALUE : timeout.toMillis(),
                TimeUnit.MILLISECONDS)) {
            process.descendants().forEach(ProcessHandle::destroyForcibly); // what it started goes too
            process.destroyForcibly();
            throw new IOException("the traffic switch command " + command.get(0) + " did not finish within "
                    + timeout.toSeconds() + " s; it was killed");
        }
        tail.join(5000);
        if (process.exitValue() != 0) {
            throw new IOException("the traffic switch command " + command.get(0) + " exited with " + process.exitValue()
                    + (tail.text().isBlank() ? "" : ": " + redact(tail.text())));
        }
    }

    private String redact(String text) {
        String out = text;
        for (String secret : environment.values()) {
            if (!secret.isEmpty()) {
                out = out.replace(secret, "****");
            }
        }
        return out;
    }

    @Override
    public String toString() {
        return "CommandTrafficSwitch[" + command.get(0) + "]"; // arguments and environment stay out
    }

    /** Reads the program's output, keeping its last lines (and at most 4 KiB) for a message. */
    private static final class OutputTail extends Thread {
        private final Process process;
        private volatile String text = "";

        OutputTail(Process process) {
            super("drkit-traffic-switch-output");
            setDaemon(true);
            this.process = process;
        }

        @Override
        public void run() {
            byte[] last = new byte[4096];
            int len = 0;
            byte[] buf = new byte[8192];
            try (var in = process.getInputStream()) {
                for (int n; (n = in.read(buf)) >= 0; ) {
                    if (n >= last.length) {
                        System.arraycopy(buf, n - last.length, last, 0, last.length);
                        len = last.length;
                    } else {
                        int keep = Math.min(len, last.length - n);
                        System.arraycopy(last, len - keep, last, 0, keep);
                        System.arraycopy(buf, 0, last, keep, n);
                        len = keep + n;
                    }
                }
            } catch (IOException e) {
                // the process was killed; what was read is kept
            }
            String all = new String(last, 0, len, StandardCharsets.UTF_8).strip();
            String[] lines = all.split("\n");
            text = String.join(" | ", List.of(lines).subList(Math.max(0, lines.length - 3), lines.length));
        }

        String text() {
            return text;
        }
    }
}
