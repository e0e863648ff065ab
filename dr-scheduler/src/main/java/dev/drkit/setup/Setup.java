package dev.drkit.setup;

import dev.drkit.ConfigException;
import dev.drkit.DrEvent;
import dev.drkit.Objectives;
import dev.drkit.Settings;
import dev.drkit.TargetSpec;
import dev.drkit.TestSchedule;
import dev.drkit.retention.GfsRetentionPolicy;
import java.net.URI;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * A declarative DR setup, as read from a {@code drkit.yaml} by {@link SetupFile}: where the
 * backups go, the offsite copies, the objectives, the keys, and per target its options,
 * schedule, retention and verification. Immutable; {@code toString()} shows no secret
 * (secrets are only ever named by file).
 *
 * @param file the file it was read from, or null for a setup from a host's configuration
 *     ({@link SetupFile#fromTree})
 * @param repository the repository URI, or null when the file names none (then {@code --repo})
 * @param copies repositories every new backup is copied to (offsite replicas), possibly empty
 * @param compression the codec for new artifacts, or null for the default
 * @param objectives the default objectives of every target, or null
 * @param encryption {@code encrypt-to} (repeatable), {@code passphrase-file}, {@code secret-key},
 *        {@code secret-passphrase-file}, {@code sign-with}, {@code sign-passphrase-file}
 * @param notifications where events go
 * @param targets the targets by name, in file order
 * @param testing how often each recovery test is due ({@code testing:}; the classic plan's when not given)
 */
public record Setup(
        Path file,
        String repository,
        List<String> copies,
        String compression,
        Objectives objectives,
        Settings encryption,
        Notifications notifications,
        Map<String, Target> targets,
        TestSchedule testing) {

    /**
     * Notifications.
     *
     * @param webhook a URL events are POSTed to as JSON, or null; it may hold a token, so it is
     *        never logged
     * @param events the event types sent (default: failures, RPO at risk, stale locks)
     */
    public record Notifications(URI webhook, Set<DrEvent.Type> events) {
        @Override
        public String toString() {
            return "Notifications[webhook=" + (webhook == null ? "none" : webhook.getHost()) + ", events=" + events
                    + "]";
        }
    }

    /**
     * One target of the setup.
     *
     * @param name the target name (its folder in the repository)
     * @param type the target type ({@code files}, {@code postgres}, ...)
     * @param settings the type's options, as the command line's long options without dashes
     * @param schedule when to back up: a UNIX cron expression in UTC, or null
     * @param retention {@code keep-last}, {@code keep-hourly} ... {@code keep-within}; empty keeps all
     * @param verify how and when to verify; never null
     * @param objectives this target's objectives (the setup's when it names none), or null
     */
    public record Target(
            String name,
            String type,
            Settings settings,
            String schedule,
            Settings retention,
            Verify verify,
            Objectives objectives) {

        /** What {@code DrKit.backup} takes for this target. */
        public TargetSpec spec() {
            return new TargetSpec(name, type, settings);
        }

        /** The retention policy; {@linkplain GfsRetentionPolicy#isEmpty() empty} when the target has none. */
        public GfsRetentionPolicy retentionPolicy() {
            return SetupFile.retentionPolicy(retention);
        }
    }

    /**
     * Verification of a target's backups.
     *
     * @param schedule when to verify the newest backup (UNIX cron, UTC), or null
     * @param level {@code checksum}, {@code decode} or {@code restore}
     * @param options the verifiers' options (e.g. {@code validate} queries, {@code server-bin-dir})
     */
    public record Verify(String schedule, String level, Settings options) {}

    /** Per target name, the target's objectives, for {@code DrKit.status}; targets without any are left out. */
    public Map<String, Objectives> targetObjectives() {
        Map<String, Objectives> out = new LinkedHashMap<>();
        targets.values().stream().filter(t -> t.objectives() != null).forEach(t -> out.put(t.name(), t.objectives()));
        return out;
    }

    /**
     * The named target.
     *
     * @throws ConfigException naming the targets the setup has when it has no such target
     */
    public Target target(String name) {
        Target t = targets.get(name);
        if (t == null) {
            throw new ConfigException((file == null ? "the setup" : file) + " has no target '" + name + "'; it has: "
                    + (targets.isEmpty() ? "none" : String.join(", ", targets.keySet())));
        }
        return t;
    }
}
