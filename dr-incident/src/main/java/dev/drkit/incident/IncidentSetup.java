package dev.drkit.incident;

import dev.drkit.ConfigException;
import dev.drkit.DrListener;
import dev.drkit.Settings;
import dev.drkit.setup.Setup;
import dev.drkit.spi.support.PrivateFiles;
import dev.drkit.spi.support.Secrets;
import java.io.IOException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.ArrayList;
import java.util.Collection;
import java.util.EnumMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Builds an {@link IncidentManager} from a setup's {@code notifications.incidents} section:
 *
 * <pre>{@code
 * notifications:
 *   incidents:
 *     state-file: /var/lib/drkit/incidents.json
 *     rpo-at-risk: 100%           # of each target's RPO objective
 *     failed-backups: 2           # in a row
 *     update-every: 1h
 *     templates: { initial: /etc/drkit/initial.mustache }
 *     slack: { url: https://hooks.slack.com/services/T000/B000/XXXX }
 *     pagerduty: { routing-key-file: /etc/drkit/pagerduty-key }
 *     webhook: { url: https://hooks.example.com/incidents }
 *     email: { host: smtp.example.com, port: 587, user: drkit, password-file: /etc/drkit/smtp-password,
 *              from: drkit@example.com, to: [oncall@example.com] }
 * }</pre>
 *
 * Secrets come from files readable by their owner alone ({@code routing-key-file},
 * {@code password-file}) or from environment variables ({@code routing-key-env},
 * {@code password-env}); never from the setup itself. Stateless.
 */
public final class IncidentSetup {
    private static final Logger LOG = LoggerFactory.getLogger(IncidentSetup.class);

    private IncidentSetup() {}

    /**
     * The manager the setup asks for, or empty when it has no incidents section. The caller
     * registers it as a listener of the kit and the scheduler, calls {@link IncidentManager#watch}
     * once the kit is open, and closes it.
     *
     * @param clock where the time comes from
     * @param listeners where the manager's own events go (not the manager itself)
     * <p>A state file that is damaged (not the JSON drkit writes) is moved aside with a warning,
     * so that notices never stop backups; {@code drkit config check} reports it as a problem. A
     * state file another incident manager holds (another {@code drkit run} of the same setup)
     * gives no manager, with a warning: that one pages already, and this process still runs
     * its backups.
     *
     * @throws ConfigException when a secret file or template is missing, open to other users or
     *     invalid, a channel's options do not make a channel, or the state file cannot be read
     */
    public static Optional<IncidentManager> manager(
            Setup setup, Clock clock, Collection<? extends DrListener> listeners) {
        Setup.Incidents in =
                setup.notifications() == null ? null : setup.notifications().incidents();
        if (in == null) {
            return Optional.empty();
        }
        List<String> problems = problems(in, false);
        if (!problems.isEmpty()) {
            throw new ConfigException(problems);
        }
        IncidentManager.Builder b = IncidentManager.builder()
                .clock(clock)
                .rpoAtRisk(in.rpoAtRisk())
                .failedBackups(in.failedBackups())
                .updateEvery(in.updateEvery())
                .templates(NoticeTemplates.of(templateFiles(in)))
                .channels(channels(in));
        if (in.stateFile() != null) {
            b.stateFile(in.stateFile());
        }
        listeners.forEach(b::listener);
        try {
            try {
                return Optional.of(b.build());
            } catch (IncidentState.Damaged e) {
                // thrown only to the manager that took the file's lock (another one's file stays
                // where it is): a damaged file would stop the daemon, and with it the backups, so
                // it goes aside instead
                IncidentState.setAsideIfDamaged(in.stateFile(), clock.instant());
                return Optional.of(b.build());
            }
        } catch (IncidentState.InUse e) {
            // another daemon pages for these incidents already; this one must still run its backups
            LOG.warn("{}; this process sends no incident notices", e.getMessage());
            return Optional.empty();
        }
    }

    /**
     * Checks what the setup file alone cannot: that the template files are valid templates, that
     * the secret files exist and are their owner's alone (and the environment variables named are
     * set), that each channel's options make a channel, and that the state file, if it exists,
     * can be read. Nothing is sent and no thread is started ({@code drkit config check}).
     *
     * @throws ConfigException listing every problem
     */
    public static void check(Setup setup) {
        Setup.Incidents in =
                setup.notifications() == null ? null : setup.notifications().incidents();
        if (in == null) {
            return;
        }
        List<String> problems = problems(in, true);
        if (!problems.isEmpty()) {
            throw new ConfigException(problems);
        }
    }

    /** The section's problems; a damaged state file among them when {@code damagedState} (not for a daemon that sets it aside). */
    private static List<String> problems(Setup.Incidents in, boolean damagedState) {
        List<String> problems = new ArrayList<>();
        templateFiles(in).forEach((type, file) -> collect(problems, () -> NoticeTemplates.of(Map.of(type, file))));
        collect(problems, () -> channels(in));
        if (in.stateFile() != null) {
            collect(problems, () -> {
                try {
                    IncidentState.load(in.stateFile());
                } catch (IncidentState.Damaged e) {
                    if (damagedState) {
                        throw e;
                    }
                }
            });
        }
        return problems;
    }

    private static void collect(List<String> problems, Runnable check) {
        try {
            check.run();
        } catch (ConfigException e) {
            problems.addAll(e.problems());
        }
    }

    private static Map<Notice.Type, Path> templateFiles(Setup.Incidents in) {
        Map<Notice.Type, Path> files = new EnumMap<>(Notice.Type.class);
        in.templates().forEach((k, v) -> files.put(Notice.Type.valueOf(k.toUpperCase(Locale.ROOT)), v));
        return files;
    }

    /**
     * The incidents open in the setup's state file, oldest first, without building a manager
     * (for a status display next to a running {@code drkit run}); empty when the setup has no
     * incidents section or no state file, or the file does not exist yet.
     *
     * @throws ConfigException when the state file cannot be read or is damaged
     */
    public static List<Incident> openIncidents(Setup setup) {
        Setup.Incidents in =
                setup.notifications() == null ? null : setup.notifications().incidents();
        if (in == null || in.stateFile() == null) {
            return List.of();
        }
        return IncidentState.load(in.stateFile()).open();
    }

    /** The channels of the section, in the order slack, pagerduty, webhook, email. */
    static List<IncidentChannel> channels(Setup.Incidents in) {
        List<IncidentChannel> out = new ArrayList<>();
        List<String> problems = new ArrayList<>();
        in.channels().forEach((type, s) -> {
            String where = "notifications.incidents." + type;
            try {
                out.add(channel(type, s, where));
            } catch (IllegalArgumentException | IllegalStateException e) {
                problems.add(where + ": " + e.getMessage());
            } catch (ConfigException e) {
                problems.addAll(e.problems());
            }
        });
        if (!problems.isEmpty()) {
            throw new ConfigException(problems);
        }
        return out;
    }

    private static IncidentChannel channel(String type, Settings s, String where) {
        return switch (type) {
            case "slack" -> new SlackWebhookChannel(URI.create(s.require("url")), s.bool("blocks", false));
            case "webhook" -> new WebhookChannel(URI.create(s.require("url")));
            case "pagerduty" ->
                new PagerDutyChannel(
                        routingKey(s, where),
                        s.has("url") ? URI.create(s.require("url")) : PagerDutyChannel.DEFAULT_ENDPOINT);
            case "email" -> email(s, where);
            default ->
                throw new IllegalArgumentException(
                        "unknown channel type '" + type + "' (one of " + Setup.Incidents.CHANNELS + ")");
        };
    }

    private static EmailChannel email(Settings s, String where) {
        EmailChannel.Builder b = EmailChannel.builder(s.require("host"), s.require("from"))
                .starttls(s.bool("starttls", true))
                .ssl(s.bool("ssl", false));
        if (s.has("port")) {
            b.port(Integer.parseInt(s.require("port")));
        }
        s.getAll("to").forEach(b::to);
        if (s.has("user")) {
            if (s.has("password-file")) {
                PrivateFiles.requirePrivate(Path.of(s.require("password-file")), "SMTP password file");
            }
            String password = Secrets.password(s, "DRKIT_SMTP_PASSWORD");
            if (password == null) {
                throw new ConfigException(where + ": 'user' is set but no password was found: set 'password-file' "
                        + "or the environment variable named by 'password-env' (default DRKIT_SMTP_PASSWORD)");
            }
            b.login(s.require("user"), password);
        }
        return b.build();
    }

    private static String routingKey(Settings s, String where) {
        if (s.has("routing-key-file")) {
            Path f = Path.of(s.require("routing-key-file"));
            PrivateFiles.requirePrivate(f, "PagerDuty routing key file");
            try {
                return Files.readString(f, StandardCharsets.UTF_8)
                        .lines()
                        .findFirst()
                        .orElse("")
                        .strip();
            } catch (IOException e) {
                throw new ConfigException("cannot read the PagerDuty routing key file " + f + " (" + e.getMessage()
                        + "); check that this user may read it");
            }
        }
        String env = s.require("routing-key-env");
        String key = System.getenv(env);
        if (key == null || key.isBlank()) {
            throw new ConfigException(where + ": the environment variable " + env + " (routing-key-env) is not set");
        }
        return key.strip();
    }
}
