package dev.drkit.examples.cli;

import java.util.Comparator;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The one place that turns the library's words for settings and API calls into this CLI's
 * flags and commands, so that a message written for hosts tells a command-line user what to type.
 *
 * <p>Library messages refer to a settings key in exactly one form, {@code setting 'KEY'} (the
 * key in single quotes, e.g. {@code setting 'to'}, {@code setting 'secret-key'}); this becomes the
 * flag that sets that key ({@code --to}, {@code --secret-key}; {@code setting 'repository'}
 * becomes {@code --repo} and {@code setting 'tablespace-OID'}
 * becomes {@code --tablespace OID=DIR}).
 * A key this CLI has no flag for stays as written: it is a setup-file key.
 * Library messages name API calls by a fixed term, which becomes the option or command that makes that call:
 * {@code RestoreRequest.force} ({@code --force}), {@code DrKit.list} ({@code drkit list}),
 * {@code WalArchive.push} and {@code WalArchive.fetch} (the {@code wal-push} and {@code wal-fetch}
 * commands PostgreSQL runs), {@code WalArchive's dataDir} ({@code --pgdata}) and
 * {@code PostgresWalStreamer} ({@code drkit wal-stream}), {@code WalPushBatch's spool}, {@code queueSize},
 * {@code jobs} and {@code linger} ({@code wal-push --spool}, {@code --queue}, {@code --jobs}, {@code --linger}).
 *
 * <p>Stateless and thread-safe.
 */
final class MessageFlags {
    private static final Pattern KEY = Pattern.compile("setting '([a-z0-9]+(?:-[a-z0-9]+)*)'");
    private static final Pattern REPOSITORY_URI = Pattern.compile("repository URI scheme '[^'\\n]*':[^\\n]*");
    private static final Pattern TABLESPACE = Pattern.compile("tablespace-([0-9]+)");

    /** Settings keys whose flag is not {@code --KEY}. */
    private static final Map<String, String> RENAMED =
            Map.of("repository", "--repo", "master-password-file", "--primary-password-file");

    /** Settings keys that the flag of the same name sets (in the commands' {@code call()} methods). */
    private static final Set<String> SAME_NAME = Set.of(
            "secret-key",
            "passphrase-file",
            "encrypt-to",
            "path",
            "exclude",
            "include",
            "to",
            "url",
            "user",
            "password-file",
            "bin-dir",
            "server-bin-dir",
            "data-dir",
            "jobs",
            "wal-timeout",
            "wal-source",
            "incremental",
            "checksum",
            "max-chain",
            "max-delta-keys",
            "synthetic-full",
            "scratch-dir",
            "dedup",
            "dedup-key-file",
            "compression-level",
            "globals",
            "to-database",
            "table",
            "schema",
            "no-owner",
            "no-privileges",
            "validate",
            "restore-command",
            "time",
            "lsn",
            "xid",
            "target-name",
            "immediate",
            "target-action",
            "target-timeline",
            "stage-wal",
            "start",
            "start-port",
            "cluster-owner",
            "slot",
            "endpoint",
            "bucket",
            "prefix",
            "versions",
            "full",
            "to-bucket",
            "latest-only",
            "uri",
            "to-uri",
            "to-dir",
            "shared-destination",
            "mode",
            "cluster",
            "read-from",
            "match",
            "replica-wait",
            "tls-ca",
            "timeout",
            "snapshot-start-timeout",
            "server-version",
            "redis-server",
            "standby-url",
            "standby-user",
            "standby-password-file",
            "primary-url",
            "primary-user",
            "primary-password-file",
            "replica-uri",
            "master-uri",
            "sentinel-uri",
            "master-name",
            "max-lag",
            "max-lag-time",
            "max-link-down",
            "promote-timeout",
            "stop-command",
            "stop-data-dir",
            "force",
            "sentinel-user",
            "sentinel-password-file",
            "keys-fallback",
            "backup-acl",
            "acl-users");

    /** API terms and what this CLI calls them; longer terms first where one starts another. */
    private static final Map<String, String> API_TERMS = Map.ofEntries(
            Map.entry("RestoreRequest.force", "--force"),
            Map.entry("DrKit.list", "drkit list"),
            Map.entry("CheckOptions.readData", "drkit check --read-data"),
            Map.entry("WalArchive.push", "'drkit --repo REPO wal-push %p'"),
            Map.entry("WalArchive.fetch", "'drkit --repo REPO wal-fetch %f %p'"),
            Map.entry("WalArchive's dataDir", "--pgdata"),
            Map.entry("PostgresWalStreamer", "drkit wal-stream"),
            Map.entry("WalPushBatch's queueSize", "wal-push --queue"),
            Map.entry("WalPushBatch's jobs", "wal-push --jobs"),
            Map.entry("WalPushBatch's spool", "wal-push --spool"),
            Map.entry("WalPushBatch's linger", "wal-push --linger"));

    private static final Pattern API_TERM = Pattern.compile("\\b("
            + String.join(
                    "|",
                    API_TERMS.keySet().stream()
                            .sorted(Comparator.comparingInt(String::length).reversed())
                            .map(Pattern::quote)
                            .toList())
            + ")\\b");

    private MessageFlags() {}

    /**
     * The message with every settings key this CLI has a flag for, and every API term above,
     * replaced by what a command-line user types; null stays null.
     */
    static String forCli(String message) {
        if (message == null) {
            return null;
        }
        // a repository's settings are parameters of its URI (--repo, --to, the setup's repository),
        // never the flag of a target option of the same name (--endpoint, --prefix of minio-bucket)
        String uri = REPOSITORY_URI
                .matcher(message)
                .replaceAll(m -> Matcher.quoteReplacement(KEY.matcher(m.group()).replaceAll("URI parameter '$1='")));
        String keys = KEY.matcher(uri)
                .replaceAll(m -> Matcher.quoteReplacement(flag(m.group(1)).orElse(m.group())));
        return API_TERM.matcher(keys).replaceAll(m -> Matcher.quoteReplacement(API_TERMS.get(m.group(1))));
    }

    /** Every settings key with a flag, but for the {@code tablespace-OID} family. */
    static Set<String> mappedKeys() {
        Set<String> all = new TreeSet<>(SAME_NAME);
        all.addAll(RENAMED.keySet());
        return all;
    }

    /** What this CLI calls each API term. */
    static Map<String, String> apiTerms() {
        return API_TERMS;
    }

    /** The flag that sets {@code key}, if this CLI has one. */
    static Optional<String> flag(String key) {
        Matcher tablespace = TABLESPACE.matcher(key);
        if (tablespace.matches()) {
            return Optional.of("--tablespace " + tablespace.group(1) + "=DIR");
        }
        if (RENAMED.containsKey(key)) {
            return Optional.of(RENAMED.get(key));
        }
        return SAME_NAME.contains(key) ? Optional.of("--" + key) : Optional.empty();
    }
}
