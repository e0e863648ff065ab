package dev.drkit.setup;

import com.cronutils.model.CronType;
import com.cronutils.model.definition.CronDefinitionBuilder;
import com.cronutils.model.time.ExecutionTime;
import com.cronutils.parser.CronParser;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.exc.StreamConstraintsException;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import dev.drkit.ConfigException;
import dev.drkit.DrEvent;
import dev.drkit.Objectives;
import dev.drkit.RecoveryTest;
import dev.drkit.Settings;
import dev.drkit.TargetSpec;
import dev.drkit.TestSchedule;
import dev.drkit.notify.WebhookListener;
import dev.drkit.retention.GfsRetentionPolicy;
import dev.drkit.spi.BackupTargetProvider;
import dev.drkit.spi.OptionSchema;
import dev.drkit.spi.OptionSpec;
import dev.drkit.spi.VerifierProvider;
import dev.drkit.spi.support.BackupIds;
import dev.drkit.spi.support.OptionValidator;
import java.io.ByteArrayInputStream;
import java.io.CharConversionException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.URI;
import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.time.ZoneOffset;
import java.time.ZonedDateTime;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.EnumMap;
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.ServiceLoader;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Predicate;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.yaml.snakeyaml.error.MarkedYAMLException;
import org.yaml.snakeyaml.error.YAMLException;

/**
 * Reads a declarative setup ({@code drkit.yaml}) into a {@link Setup}. Every problem in the
 * file is reported at once, each with its line: unknown keys, a missing or unknown target type,
 * each target's options and verify options against its provider's schema (an unknown one with a
 * did-you-mean, values of the wrong type, required ones missing), cron schedules, durations, retention counts, verification levels,
 * and secrets written into the file (they belong in files the setup names).
 *
 * <pre>{@code
 * repository: file:/var/backups/corporate-intel
 * copies: ["s3://corporate-intel-backups/production?region=eu-west-1"]
 * objectives: { rpo: 1h, rto: 2h }
 * targets:
 *   config:
 *     type: files
 *     path: [/opt/corporate-intel/.env.production, /etc/nginx]
 *     schedule: "0 3 * * *"
 *     retention: { keep-daily: 7, keep-weekly: 4, keep-monthly: 12 }
 * }</pre>
 */
public final class SetupFile {
    private static final Set<String> TOP = Set.of(
            "repository", "copies", "compression", "objectives", "encryption", "notifications", "targets", "testing");
    private static final Set<String> ENCRYPTION = Set.of(
            "encrypt-to",
            "passphrase-file",
            "secret-key",
            "secret-passphrase-file",
            "sign-with",
            "sign-passphrase-file");
    private static final Set<String> RETENTION_COUNTS =
            Set.of("keep-last", "keep-hourly", "keep-daily", "keep-weekly", "keep-monthly", "keep-yearly");
    private static final List<String> LEVELS = List.of("checksum", "decode", "restore");
    private static final Set<String> COMPRESSION = Set.of("zstd", "gzip", "lz4", "xz", "none");
    private static final Pattern BARE_M = Pattern.compile("\\d\\s*m(?![a-z])");
    private static final Pattern KEY_FIRST = Pattern.compile("[a-z][a-z0-9-]*(\\.[^\\s:]+)*: ");
    private static final Map<String, Set<String>> CHANNEL_KEYS = Map.of(
            "slack", Set.of("url", "blocks"),
            "pagerduty", Set.of("routing-key-file", "routing-key-env", "url"),
            "webhook", Set.of("url"),
            "email", Set.of("host", "port", "starttls", "ssl", "user", "password-file", "password-env", "from", "to"));
    private static final Pattern PERCENT = Pattern.compile("(\\d{1,4}(?:\\.\\d+)?)\\s*%");
    private static final CronParser CRON = new CronParser(CronDefinitionBuilder.instanceDefinitionFor(CronType.UNIX));
    /** The largest setup file read: a setup with hundreds of targets is tens of kilobytes. */
    private static final long MAX_FILE_BYTES = 1 << 20;

    private final Path file;
    /** For a setup given as a tree: the keys' prefix in the host's configuration; null for a file. */
    private final String prefix;
    /** Per target, the required options the host supplies itself (a client or DataSource it hands over). */
    private final Map<String, Set<String>> hostSupplied;

    private final Map<String, BackupTargetProvider> types = new TreeMap<>();
    private final List<VerifierProvider> verifiers = new ArrayList<>();
    private final Collection<String> knownTypes;
    private final List<String> problems = new ArrayList<>();

    private SetupFile(Path file, String prefix, Map<String, Set<String>> hostSupplied, Collection<?> providers) {
        this.file = file;
        this.prefix = prefix;
        this.hostSupplied = hostSupplied;
        for (Object p : providers) {
            if (p instanceof BackupTargetProvider t) {
                types.merge(t.type(), t, (a, b) -> b.priority() > a.priority() ? b : a);
            }
            if (p instanceof VerifierProvider v) {
                verifiers.add(v);
            }
        }
        this.knownTypes = types.keySet();
    }

    /**
     * Reads and checks a setup file against the target types and verifiers on the class path.
     *
     * @throws ConfigException listing every problem, each as {@code FILE:LINE: what is wrong}
     */
    public static Setup load(Path file) {
        return load(file, discoveredProviders());
    }

    /**
     * {@link #load(Path)} against the given {@link BackupTargetProvider}s and
     * {@link VerifierProvider}s (other objects are ignored): the target types known, and the
     * schemas their options are checked against.
     */
    public static Setup load(Path file, Collection<?> providers) {
        SetupFile reader = new SetupFile(file, null, Map.of(), providers);
        if (Files.isDirectory(file)) {
            throw new ConfigException("setup file " + file + " is a directory; name the drkit.yaml in it");
        }
        boolean pipe = isPipe(file);
        if (Files.exists(file) && !Files.isRegularFile(file) && !pipe) {
            // a device would be read forever
            throw new ConfigException("setup file " + file + " is not a regular file (a socket or device); "
                    + "name the drkit.yaml itself");
        }
        Node root;
        byte[] content = null;
        try (InputStream in = pipe ? openPipe(file) : Files.newInputStream(file)) {
            // read whole, at most MAX_FILE_BYTES: SnakeYAML's reader copies its whole buffer for each
            // kilobyte of a long value, so a few megabytes in one value took seconds, tens of them
            // minutes, before its own limit of 3M characters refused the file
            content = in.readNBytes((int) MAX_FILE_BYTES + 1);
            if (content.length > MAX_FILE_BYTES) {
                throw new ConfigException("setup file " + file + " is larger than " + (MAX_FILE_BYTES >> 20)
                        + " MiB; a setup file is a few kilobytes: check that this is the setup file meant");
            }
            root = reader.parse(new ByteArrayInputStream(content));
        } catch (NoSuchFileException e) {
            throw new ConfigException("setup file " + file + " does not exist");
        } catch (JsonProcessingException e) {
            int notText = notUtf8(e) ? lineNotUtf8(content) : -1;
            if (notText > 0) {
                // the parser's words would be a Java exception's name and a byte offset of -1
                throw new ConfigException(file + ":" + notText + ": not UTF-8 text; a setup file is YAML in UTF-8: "
                        + "check that this is the setup file meant, and save it as UTF-8");
            }
            throw new ConfigException(file + ":" + yamlProblem(e));
        } catch (IOException e) {
            throw new ConfigException("cannot read setup file " + file + ": " + e.getMessage());
        }
        Setup setup = reader.setup(root);
        if (!reader.problems.isEmpty()) {
            throw new ConfigException(reader.problems);
        }
        return setup;
    }

    /** How long a setup file that is a pipe may wait for its writer (tests shorten it). */
    static volatile Duration pipeWait = Duration.ofSeconds(30);

    /** Whether {@code file} is a FIFO or a pipe ({@code --config <(sops -d drkit.yaml)} names one). */
    private static boolean isPipe(Path file) {
        try {
            return ((Integer) Files.getAttribute(file, "unix:mode") & 0170000) == 0010000;
        } catch (IOException | RuntimeException e) {
            return false;
        }
    }

    /**
     * Opens a pipe for reading, waiting at most {@link #pipeWait} for a writer: process
     * substitution (a decrypting command's output) has one, a FIFO nobody writes to would hold
     * the open for good. The waiting open is then released by an open for writing of our own.
     */
    private static InputStream openPipe(Path file) throws IOException {
        CompletableFuture<InputStream> open = new CompletableFuture<>();
        Thread opener = new Thread(
                () -> {
                    try {
                        open.complete(Files.newInputStream(file));
                    } catch (IOException | RuntimeException e) {
                        open.completeExceptionally(e);
                    }
                },
                "drkit-setup-pipe");
        opener.setDaemon(true);
        opener.start();
        Duration wait = pipeWait;
        try {
            return open.get(wait.toMillis(), TimeUnit.MILLISECONDS);
        } catch (TimeoutException e) {
            try (OutputStream release = Files.newOutputStream(file, StandardOpenOption.WRITE)) {
                // both ends met: the waiting open returns, and reads nothing
            } catch (IOException ignored) {
                // gone: the open ends on its own
            }
            open.thenAccept(in -> {
                try {
                    in.close();
                } catch (IOException ignored) {
                    // nothing read from it
                }
            });
            throw new ConfigException("setup file " + file + " is a pipe nobody wrote to within " + wait.toSeconds()
                    + " s; name the drkit.yaml itself, or start the command that writes it");
        } catch (ExecutionException e) {
            throw e.getCause() instanceof IOException io ? io : new IOException(e.getCause());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new ConfigException("interrupted while waiting for setup file " + file);
        }
    }

    /**
     * Reads and checks a setup held by a host's configuration rather than a file: a tree of maps
     * with string keys, lists, and scalar values (read as their {@code toString()}), such as
     * Spring Boot's {@code drkit.*} properties. The keys and rules are those of {@link #load(Path)};
     * each problem names its key under {@code prefix}, e.g. {@code drkit.targets.db.type: unknown
     * type 'postgress' (one of ...)}.
     *
     * @param prefix where the tree sits in the host's configuration, e.g. {@code drkit}
     * @param tree the setup's keys and values
     * @param hostSupplied per target name, the required options the host supplies in code (e.g.
     *     {@code url} when it hands the target its own DataSource): their absence is no problem
     * @param providers the {@link BackupTargetProvider}s and {@link VerifierProvider}s whose
     *     schemas the targets are checked against (other objects are ignored)
     * @throws ConfigException listing every problem
     */
    public static Setup fromTree(
            String prefix, Map<String, ?> tree, Map<String, Set<String>> hostSupplied, Collection<?> providers) {
        SetupFile reader = new SetupFile(null, prefix, Map.copyOf(hostSupplied), providers);
        Setup setup = reader.setup(tree.isEmpty() ? null : reader.node(tree));
        if (!reader.problems.isEmpty()) {
            throw new ConfigException(reader.problems);
        }
        return setup;
    }

    /** The providers on the class path, for {@link #fromTree}. */
    public static List<Object> discoveredProviders() {
        List<Object> providers = new ArrayList<>();
        ClassLoader loader = SetupFile.class.getClassLoader();
        ServiceLoader.load(BackupTargetProvider.class, loader).forEach(providers::add);
        ServiceLoader.load(VerifierProvider.class, loader).forEach(providers::add);
        return providers;
    }

    private static boolean notUtf8(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof CharConversionException || t instanceof CharacterCodingException) {
                return true;
            }
        }
        return false;
    }

    /** The line (from 1) of the first bytes that are not UTF-8, or -1 when all of it is. */
    private static int lineNotUtf8(byte[] content) {
        if (content == null) {
            return -1;
        }
        CharsetDecoder utf8 = StandardCharsets.UTF_8
                .newDecoder()
                .onMalformedInput(CodingErrorAction.REPORT)
                .onUnmappableCharacter(CodingErrorAction.REPORT);
        ByteBuffer in = ByteBuffer.wrap(content);
        CharBuffer out = CharBuffer.allocate(content.length);
        if (!utf8.decode(in, out, true).isError()) {
            return -1;
        }
        int line = 1;
        for (int i = 0; i < in.position(); i++) {
            line += content[i] == '\n' ? 1 : 0;
        }
        return line;
    }

    /**
     * {@code LINE: not valid YAML: what}, on one line, without the parser's excerpt of the file,
     * its class names or its API's names.
     */
    private static String yamlProblem(JsonProcessingException e) {
        int line = e.getLocation() == null ? 1 : Math.max(1, e.getLocation().getLineNr());
        String what;
        if (e.getCause() instanceof MarkedYAMLException m && m.getProblem() != null) {
            if (m.getProblemMark() != null) {
                line = m.getProblemMark().getLine() + 1;
            }
            what = m.getProblem() + (m.getContext() == null ? "" : " (" + m.getContext() + ")");
        } else if (e instanceof StreamConstraintsException) {
            what = "nested too deeply (at most 1000 levels of lists and mappings)";
        } else if (e.getOriginalMessage() != null && e.getOriginalMessage().startsWith("Expected a field name")) {
            what = "a key must be a single value, not a list or a mapping";
        } else if (e.getCause() instanceof YAMLException y && y.getMessage() != null) {
            what = y.getMessage();
        } else {
            what = String.valueOf(e.getOriginalMessage());
        }
        return line + ": not valid YAML: " + what.replaceAll("\\s+", " ").strip();
    }

    /** A retention policy from {@code keep-*} settings (as checked by {@link #load}). */
    static GfsRetentionPolicy retentionPolicy(Settings r) {
        return GfsRetentionPolicy.builder()
                .keepLast(r.integer("keep-last", 0))
                .keepHourly(r.integer("keep-hourly", 0))
                .keepDaily(r.integer("keep-daily", 0))
                .keepWeekly(r.integer("keep-weekly", 0))
                .keepMonthly(r.integer("keep-monthly", 0))
                .keepYearly(r.integer("keep-yearly", 0))
                .keepWithin(r.duration("keep-within").orElse(null))
                .build();
    }

    // --------------------------------------------------------------- the model

    private Setup setup(Node root) {
        if (root == null) {
            problem(1, (prefix == null ? "the file is empty" : "nothing is set") + "; it needs at least 'targets'");
            return null;
        }
        Map<String, Node> top = mapping(root, "the file");
        unknownKeys(top, TOP, "");
        String repository = scalar(top.get("repository"), "repository");
        List<String> copies = new ArrayList<>();
        List<Node> copyNodes = list(top.get("copies"), "copies");
        for (Node n : copyNodes) {
            copies.add(scalar(n, "copies"));
        }
        String compression = scalar(top.get("compression"), "compression");
        if (compression != null && !COMPRESSION.contains(compression)) {
            problem(top.get("compression").line, "compression: '" + compression + "' is not one of " + COMPRESSION);
        }
        Objectives objectives = objectives(top.get("objectives"), "objectives");
        Settings.Builder encryption = Settings.builder();
        Map<String, Node> enc = mapping(top.get("encryption"), "encryption");
        if (prefix != null) {
            enc = joinLevels(enc, ENCRYPTION::contains);
        }
        unknownKeys(enc, ENCRYPTION, "encryption.");
        enc.forEach((k, v) -> values(v, "encryption." + k).forEach(value -> encryption.add(k, value)));
        Setup.Notifications notifications = notifications(top.get("notifications"));
        Map<String, Setup.Target> targets = new LinkedHashMap<>();
        Node targetsNode = top.get("targets");
        if (targetsNode == null) {
            problem(root.line, "no 'targets': name at least one target to back up");
        }
        mapping(targetsNode, "targets").forEach((name, node) -> {
            Setup.Target t = target(name, node, objectives, compression == null ? "zstd" : compression);
            if (t != null) {
                targets.put(name, t);
            }
        });
        repository = withLockPeriod(repository, top.get("repository"), targets);
        for (int i = 0; i < copies.size(); i++) {
            copies.set(i, withLockPeriod(copies.get(i), copyNodes.get(i), targets));
        }
        return new Setup(
                file,
                repository,
                List.copyOf(copies),
                compression,
                objectives,
                encryption.build(),
                notifications,
                targets,
                testing(top.get("testing")));
    }

    private TestSchedule testing(Node node) {
        Map<RecoveryTest, Duration> every = new EnumMap<>(RecoveryTest.class);
        Map<String, Node> m = mapping(node, "testing");
        Set<String> keys = new LinkedHashSet<>();
        for (RecoveryTest t : RecoveryTest.values()) {
            keys.add(t.key());
        }
        unknownKeys(m, keys, "testing.");
        for (RecoveryTest t : RecoveryTest.values()) {
            Duration d = duration(m.get(t.key()), "testing." + t.key());
            if (d != null && (d.isZero() || d.isNegative())) {
                problem(m.get(t.key()).line, "testing." + t.key() + ": must be longer than zero");
            } else if (d != null) {
                every.put(t, d);
            }
        }
        return new TestSchedule(every);
    }

    /**
     * A repository URI with {@code object-lock=} but no {@code lock-for=} gets the lock period
     * derived from the targets' retention: the longest of their {@link GfsRetentionPolicy#lockPeriod()},
     * so that no target's backups are left unprotected in a repository they share.
     */
    private String withLockPeriod(String uri, Node node, Map<String, Setup.Target> targets) {
        if (uri == null || !uri.contains("object-lock=") || uri.contains("lock-for=")) {
            return uri;
        }
        Optional<Duration> period = targets.values().stream()
                .filter(t -> t.retention() != null)
                .map(t -> retentionPolicy(t.retention()).lockPeriod())
                .flatMap(Optional::stream)
                .max(Comparator.naturalOrder());
        if (period.isEmpty()) {
            problem(
                    node.line,
                    "'" + uri + "' asks for object-lock but gives no lock-for, and no target has a "
                            + "time-based retention (keep-within, keep-daily, ...) to derive it from; add lock-for=30d");
            return uri;
        }
        return uri + (uri.contains("?") ? "&" : "?") + "lock-for=" + period.get();
    }

    private Setup.Notifications notifications(Node node) {
        Map<String, Node> m = mapping(node, "notifications");
        unknownKeys(m, Set.of("webhook", "events", "incidents"), "notifications.");
        String webhook = scalar(m.get("webhook"), "notifications.webhook");
        URI uri = null;
        if (webhook != null) {
            try {
                uri = URI.create(webhook);
                if (!"http".equals(uri.getScheme()) && !"https".equals(uri.getScheme()) || uri.getHost() == null) {
                    throw new IllegalArgumentException("not http(s)");
                }
            } catch (IllegalArgumentException e) {
                problem(m.get("webhook").line, "notifications.webhook: not an http(s) URL");
                uri = null;
            }
        }
        Set<DrEvent.Type> types = EnumSet.noneOf(DrEvent.Type.class);
        for (String e : values(m.get("events"), "notifications.events")) {
            try {
                types.add(DrEvent.Type.valueOf(e.toUpperCase(Locale.ROOT).replace('-', '_')));
            } catch (IllegalArgumentException ex) {
                problem(
                        m.get("events").line,
                        "notifications.events: unknown event '" + e + "' (e.g. backup-failed, "
                                + "verify-failed, rpo-at-risk, backup-succeeded)");
            }
        }
        return new Setup.Notifications(
                uri, types.isEmpty() ? WebhookListener.FAILURES : types, incidents(m.get("incidents")));
    }

    /** The {@code notifications.incidents} section, or null when there is none. */
    private Setup.Incidents incidents(Node node) {
        if (node == null) {
            return null;
        }
        String where = "notifications.incidents";
        Map<String, Node> m = mapping(node, where);
        Set<String> known = new TreeSet<>(Setup.Incidents.CHANNELS);
        known.addAll(Set.of("state-file", "rpo-at-risk", "failed-backups", "update-every", "templates"));
        unknownKeys(m, known, where + ".");
        String state = scalar(m.get("state-file"), where + ".state-file");
        Path statePath = state == null ? null : path(state, m.get("state-file"), where + ".state-file");
        double share = rpoShare(m.get("rpo-at-risk"), where + ".rpo-at-risk");
        int failed = 2;
        String count = scalar(m.get("failed-backups"), where + ".failed-backups");
        if (count != null) {
            if (count.matches("\\d{1,4}") && Integer.parseInt(count) >= 1 && Integer.parseInt(count) <= 1000) {
                failed = Integer.parseInt(count);
            } else {
                problem(
                        m.get("failed-backups").line,
                        where + ".failed-backups: '" + count + "' is not a count from 1 to 1000");
            }
        }
        Duration every = duration(m.get("update-every"), where + ".update-every");
        if (every != null && every.compareTo(Duration.ofSeconds(1)) < 0) {
            problem(m.get("update-every").line, where + ".update-every: must be at least 1s");
        }
        Map<String, Path> templates = new LinkedHashMap<>();
        Map<String, Node> t = mapping(m.get("templates"), where + ".templates");
        unknownKeys(t, Set.of("initial", "update", "resolution"), where + ".templates.");
        t.forEach((k, v) -> {
            String file = scalar(v, where + ".templates." + k);
            if (file != null) {
                Path p = path(file, v, where + ".templates." + k);
                if (p != null) {
                    templates.put(k, p);
                }
            }
        });
        Map<String, Settings> channels = new LinkedHashMap<>();
        for (String type : Setup.Incidents.CHANNELS) {
            if (m.containsKey(type)) {
                channels.put(type, channel(type, m.get(type), where + "." + type));
            }
        }
        if (channels.isEmpty()) {
            problem(node.line, where + ": no channel; add at least one of " + Setup.Incidents.CHANNELS);
        }
        return new Setup.Incidents(
                statePath, share, failed, every == null ? Duration.ofHours(1) : every, templates, channels);
    }

    private Path path(String text, Node node, String where) {
        try {
            return Path.of(text);
        } catch (InvalidPathException e) {
            problem(node.line, where + ": '" + text.replace("\0", "\\0") + "' is not a path: " + e.getReason());
            return null;
        }
    }

    private double rpoShare(Node node, String where) {
        String text = scalar(node, where);
        if (text == null) {
            return 1.0;
        }
        Matcher pm = PERCENT.matcher(text.trim());
        double share = Double.NaN;
        if (pm.matches()) {
            share = Double.parseDouble(pm.group(1)) / 100;
        } else if (text.trim().matches("\\d{1,2}(\\.\\d+)?")) {
            share = Double.parseDouble(text.trim());
        }
        if (!(share >= 0.1 && share <= 10)) {
            problem(
                    node.line,
                    where + ": '" + text + "' is not a share of the RPO from 10% to 1000% (e.g. 80% or 0.8)");
            return 1.0;
        }
        return share;
    }

    private Settings channel(String type, Node node, String where) {
        Map<String, Node> m = mapping(node, where);
        Settings.Builder b = Settings.builder();
        m.forEach((k, v) -> {
            if (Settings.isSecretKey(k) || k.equals("routing-key")) {
                option(b, k, v, where); // refuses the secret, naming the -file key to use instead
            } else if (!CHANNEL_KEYS.get(type).contains(k)) {
                unknownKeys(Map.of(k, v), CHANNEL_KEYS.get(type), where + ".");
            } else {
                values(v, where + "." + k).forEach(value -> b.add(k, value));
            }
        });
        Settings s = b.build();
        for (String key : List.of("blocks", "starttls", "ssl")) {
            if (s.has(key) && !s.require(key).matches("true|false")) {
                problem(m.get(key).line, where + "." + key + ": '" + s.require(key) + "' is not true or false");
            }
        }
        if (s.has("port") && !s.require("port").matches("\\d{1,5}")) {
            problem(m.get("port").line, where + ".port: '" + s.require("port") + "' is not a port number");
        }
        if (s.has("url")) {
            url(s.require("url"), m.get("url").line, where + ".url");
        }
        List<String> required = switch (type) {
            case "slack", "webhook" -> List.of("url");
            case "email" -> List.of("host", "from", "to");
            default -> List.of();
        };
        for (String key : required) {
            if (!s.has(key)) {
                problem(node.line, where + ": no '" + key + "'");
            }
        }
        if (type.equals("pagerduty") && !s.has("routing-key-file") && !s.has("routing-key-env")) {
            problem(
                    node.line,
                    where + ": no 'routing-key-file' (a file holding the integration's routing key) or "
                            + "'routing-key-env' (the environment variable that holds it)");
        }
        if (type.equals("email") && (s.has("password-file") || s.has("password-env")) && !s.has("user")) {
            problem(node.line, where + ": a password is given but no 'user' to log in as");
        }
        return s;
    }

    private void url(String text, int line, String where) {
        try {
            URI u = URI.create(text);
            if (!"http".equals(u.getScheme()) && !"https".equals(u.getScheme()) || u.getHost() == null) {
                throw new IllegalArgumentException("not http(s)");
            }
        } catch (IllegalArgumentException e) {
            problem(line, where + ": not an http(s) URL");
        }
    }

    private Setup.Target target(String name, Node node, Objectives defaults, String codec) {
        String where = "targets." + name;
        try {
            BackupIds.checkTargetName(name);
        } catch (ConfigException e) {
            problem(node.line, where + ": " + e.getMessage());
        }
        Map<String, Node> given = mapping(node, where);
        String type = scalar(given.get("type"), where + ".type");
        if (type == null) {
            problem(node.line, where + ": no 'type' (one of " + String.join(", ", knownTypes) + ")");
        } else if (!knownTypes.contains(type)) {
            problem(
                    given.get("type").line,
                    where + ".type: unknown type '" + type + "' (one of " + String.join(", ", knownTypes) + ")");
        }
        Map<String, Node> m = prefix != null && type != null && types.containsKey(type)
                ? joinLevels(given, k -> types.get(type).schema().find(k).isPresent())
                : given;
        String schedule = cron(m.get("schedule"), where + ".schedule");
        Settings retention = retention(m.get("retention"), where + ".retention");
        Map<String, Node> v = mapping(m.get("verify"), where + ".verify");
        Settings.Builder verifyOptions = Settings.builder();
        String verifySchedule = null;
        String level = "decode";
        for (Map.Entry<String, Node> e : v.entrySet()) {
            switch (e.getKey()) {
                case "schedule" -> verifySchedule = cron(e.getValue(), where + ".verify.schedule");
                case "level" -> {
                    level = scalar(e.getValue(), where + ".verify.level");
                    if (level != null && !LEVELS.contains(level)) {
                        problem(e.getValue().line, where + ".verify.level: '" + level + "' is not one of " + LEVELS);
                    }
                }
                default -> option(verifyOptions, e.getKey(), e.getValue(), where + ".verify");
            }
        }
        Objectives own = objectives(m.get("objectives"), where + ".objectives");
        Settings.Builder settings = Settings.builder();
        m.forEach((k, value) -> {
            if (!Set.of("type", "schedule", "retention", "verify", "objectives").contains(k)) {
                option(settings, k, value, where);
            }
        });
        // the kit's settings of every type, checked as a backup checks them, against the setup's codec
        TargetSpec kit = new TargetSpec("t", type == null ? "?" : type, settings.build());
        if (m.containsKey(TargetSpec.DEDUP)) {
            String dedup = kit.settings().get(TargetSpec.DEDUP).orElse("");
            Boolean on = null;
            try {
                on = dedup.isBlank() ? null : kit.settings().bool(TargetSpec.DEDUP, false);
            } catch (ConfigException e) {
                // not a boolean: said below
            }
            if (on == null) {
                problem(m.get(TargetSpec.DEDUP).line, where + ".dedup: '" + dedup + "' is not true or false");
            } else if (on && COMPRESSION.contains(codec) && !codec.equals("zstd")) {
                problem(
                        m.get(TargetSpec.DEDUP).line,
                        where + ".dedup: " + TargetSpec.DEDUP_NEEDS_ZSTD + " for this target");
            }
        }
        if (m.containsKey(TargetSpec.COMPRESSION_LEVEL) && COMPRESSION.contains(codec)) {
            try {
                TargetSpec.compressionLevel(
                        codec, kit.settings().get(TargetSpec.COMPRESSION_LEVEL).orElse(""));
            } catch (ConfigException e) {
                problem(m.get(TargetSpec.COMPRESSION_LEVEL).line, where + ".compression-level: " + e.getMessage());
            }
        }
        if (type != null && types.containsKey(type)) {
            check(
                    where,
                    types.get(type).schema(),
                    // the kit's, for every type
                    kit.typeSettings(),
                    m,
                    node.line,
                    true,
                    hostSupplied.getOrDefault(name, Set.of()));
            check(where + ".verify", verifySchema(type), verifyOptions.build(), v, node.line, false, Set.of());
        }
        return new Setup.Target(
                name,
                type,
                settings.build(),
                schedule,
                retention,
                new Setup.Verify(verifySchedule, level, verifyOptions.build()),
                own != null ? own : defaults);
    }

    /**
     * An environment variable turns each {@code _} into a level: {@code DRKIT_TARGETS_DB_PASSWORD_FILE}
     * arrives as {@code password: {file: ...}}. Levels whose joined name is a known key (an option
     * of the target's type, an encryption key) are that key; anything else is left for the checks
     * to report.
     */
    private static Map<String, Node> joinLevels(Map<String, Node> options, Predicate<String> known) {
        Map<String, Node> out = new LinkedHashMap<>();
        options.forEach((key, value) -> {
            Map<String, Node> joined = new LinkedHashMap<>();
            if (value.value instanceof Map<?, ?> && join(key, value, known, joined)) {
                out.putAll(joined);
            } else {
                out.put(key, value);
            }
        });
        return out;
    }

    private static boolean join(String path, Node node, Predicate<String> known, Map<String, Node> into) {
        if (!(node.value instanceof Map<?, ?> children)) {
            if (!known.test(path) || into.containsKey(path)) {
                return false;
            }
            into.put(path, node);
            return true;
        }
        for (Map.Entry<?, ?> e : children.entrySet()) {
            if (!join(path + "-" + e.getKey(), (Node) e.getValue(), known, into)) {
                return false;
            }
        }
        return true;
    }

    /** Each problem of the options against the schema, on the line of the key concerned. */
    private void check(
            String where,
            OptionSchema schema,
            Settings options,
            Map<String, Node> nodes,
            int targetLine,
            boolean requireAll,
            Set<String> supplied) {
        for (OptionValidator.Problem p : OptionValidator.problems(where, schema, options, requireAll)) {
            if (supplied.contains(p.key()) && !options.has(p.key())) {
                continue; // required, but the host hands it over in code
            }
            Node at = nodes.get(p.key());
            // the file's keys are options of a target, not settings a host or a tool maps to its own names
            problem(at == null ? targetLine : at.line, p.message().replace("setting '", "option '"));
        }
        if (prefix != null) {
            hostValues(where, schema, nodes);
        }
    }

    /**
     * Values a host's properties would read otherwise than drkit: {@code path=/a,/b} is one value to
     * drkit but two to Spring's own binding of a list, {@code 30m} months to drkit but minutes to
     * Spring. Rather than guess, each is a problem.
     */
    private void hostValues(String where, OptionSchema schema, Map<String, Node> nodes) {
        nodes.forEach((key, node) -> {
            if (schema.find(key).map(o -> o.type() == OptionSpec.Type.DURATION).orElse(false)) {
                monthsOrMinutes(node, where + "." + key);
            }
            if (node.value instanceof String s
                    && s.contains(",")
                    && schema.find(key).map(OptionSpec::repeatable).orElse(false)) {
                problem(
                        node.line,
                        where + "." + key + ": '" + s + "' is one value with a comma; give each value at its own "
                                + "index (" + key + "[0], " + key + "[1], or a YAML list)");
            }
        });
    }

    /** What a target's verify options may hold: the options of every verifier of its type, and its settings. */
    private OptionSchema verifySchema(String type) {
        OptionSchema all = types.get(type).schema();
        for (VerifierProvider p : verifiers) {
            if (p.supports(type)) {
                all = all.plus(p.schema());
            }
        }
        return all;
    }

    private void option(Settings.Builder into, String key, Node value, String where) {
        if (Settings.isSecretKey(key) || key.equals("routing-key")) {
            problem(
                    value.line,
                    where + "." + key + ": secrets do not belong in the " + (prefix == null ? "setup file" : "setup")
                            + "; put it in a file "
                            + "readable only by drkit's user and name that file as '" + key + "-file'");
            return;
        }
        values(value, where + "." + key).forEach(s -> into.add(key, s));
    }

    private Objectives objectives(Node node, String where) {
        if (node == null) {
            return null;
        }
        Map<String, Node> m = mapping(node, where);
        unknownKeys(m, Set.of("rpo", "rto"), where + ".");
        return new Objectives(duration(m.get("rpo"), where + ".rpo"), duration(m.get("rto"), where + ".rto"));
    }

    private Settings retention(Node node, String where) {
        Settings.Builder b = Settings.builder();
        Map<String, Node> m = mapping(node, where);
        for (Map.Entry<String, Node> e : m.entrySet()) {
            String value = scalar(e.getValue(), where + "." + e.getKey());
            if (value == null) {
                continue;
            }
            if (RETENTION_COUNTS.contains(e.getKey())) {
                if (!value.matches("\\d{1,6}")) {
                    problem(e.getValue().line, where + "." + e.getKey() + ": '" + value + "' is not a count");
                    continue;
                }
            } else if (e.getKey().equals("keep-within")) {
                duration(e.getValue(), where + ".keep-within");
            } else {
                problem(
                        e.getValue().line,
                        where + ": unknown rule '" + e.getKey() + "' (keep-last, keep-hourly, "
                                + "keep-daily, keep-weekly, keep-monthly, keep-yearly, keep-within)");
                continue;
            }
            b.set(e.getKey(), value);
        }
        return b.build();
    }

    private String cron(Node node, String where) {
        String expr = scalar(node, where);
        if (expr != null) {
            try {
                ExecutionTime times = ExecutionTime.forCron(CRON.parse(expr).validate());
                if (times.nextExecution(ZonedDateTime.now(ZoneOffset.UTC)).isEmpty()) {
                    problem(
                            node.line,
                            where + ": '" + expr + "' never comes (a day that month does not have?); "
                                    + "nothing would ever run");
                    return null;
                }
            } catch (IllegalArgumentException e) {
                problem(
                        node.line,
                        where + ": '" + expr + "' is not a cron schedule (minute hour day-of-month month "
                                + "day-of-week, UTC, e.g. \"0 2 * * *\"): " + e.getMessage());
                return null;
            }
        }
        return expr;
    }

    private Duration duration(Node node, String where) {
        String text = scalar(node, where);
        if (text == null) {
            return null;
        }
        if (monthsOrMinutes(node, where)) {
            return null;
        }
        try {
            return Settings.parseDuration(where, text);
        } catch (ConfigException e) {
            problem(node.line, e.getMessage());
            return null;
        }
    }

    /**
     * In a host's properties {@code 30m} reads as minutes (Spring Boot's own durations) but drkit,
     * like restic, reads it as months: an RPO of 30 months would never raise an alarm, so the tree
     * must say which it means.
     */
    private boolean monthsOrMinutes(Node node, String where) {
        if (prefix == null
                || !(node.value instanceof String text)
                || !BARE_M.matcher(text).find()) {
            return false;
        }
        problem(
                node.line,
                where + ": '" + text + "' would be months to drkit ('m' is a month, as in restic) but minutes to "
                        + "Spring; write 'min' for minutes or 'mo' for months");
        return true;
    }

    // ------------------------------------------------------ shapes and lines

    private void unknownKeys(Map<String, Node> m, Set<String> known, String prefix) {
        m.forEach((k, v) -> {
            if (!known.contains(k)) {
                problem(
                        v.line,
                        prefix + k + ": unknown key (known: "
                                + String.join(", ", known.stream().sorted().toList()) + ")");
            }
        });
    }

    private Map<String, Node> mapping(Node n, String where) {
        if (n == null || n.value == null) {
            return Map.of();
        }
        if (n.value instanceof Map<?, ?> m) {
            @SuppressWarnings("unchecked")
            Map<String, Node> typed = (Map<String, Node>) m;
            return typed;
        }
        problem(n.line, where + ": expected a mapping of keys to values");
        return Map.of();
    }

    private List<Node> list(Node n, String where) {
        if (n == null || n.value == null) {
            return List.of();
        }
        if (n.value instanceof List<?> l) {
            @SuppressWarnings("unchecked")
            List<Node> typed = (List<Node>) l;
            return typed;
        }
        problem(n.line, where + ": expected a list");
        return List.of();
    }

    private String scalar(Node n, String where) {
        if (n == null || n.value == null) {
            return null;
        }
        if (n.value instanceof String s) {
            return s;
        }
        problem(n.line, where + ": expected a single value");
        return null;
    }

    /** A scalar or a list of scalars. */
    private List<String> values(Node n, String where) {
        if (n != null && n.value instanceof List<?>) {
            List<String> out = new ArrayList<>();
            for (Node item : list(n, where)) {
                String s = scalar(item, where);
                if (s != null) {
                    out.add(s);
                }
            }
            return out;
        }
        String s = scalar(n, where);
        return s == null ? List.of() : List.of(s);
    }

    private void problem(int line, String what) {
        if (prefix == null) {
            problems.add(file + ":" + line + ": " + what);
        } else if (KEY_FIRST.matcher(what).lookingAt()) {
            problems.add(prefix + "." + what); // "targets.db.type: ..." names its key
        } else {
            problems.add(prefix + ": " + what);
        }
    }

    /** A tree from a host's configuration as Nodes (without lines: its problems name keys). */
    private Node node(Object value) {
        if (value instanceof Map<?, ?> m) {
            Map<String, Node> out = new LinkedHashMap<>();
            m.forEach((k, v) -> out.put(String.valueOf(k), node(v)));
            return new Node(out, 0);
        }
        if (value instanceof Collection<?> c) {
            return new Node(c.stream().map(this::node).toList(), 0);
        }
        return new Node(value == null ? null : value.toString(), 0);
    }

    /** A YAML value with the line it starts on: a String, a Map of Nodes, a List of Nodes, or null. */
    private record Node(Object value, int line) {}

    private Node parse(InputStream in) throws IOException {
        try (JsonParser p = new YAMLFactory().createParser(in)) {
            return p.nextToken() == null ? null : read(p);
        }
    }

    private Node read(JsonParser p) throws IOException {
        int line = p.currentTokenLocation().getLineNr();
        JsonToken t = p.currentToken();
        if (t == JsonToken.START_OBJECT) {
            Map<String, Node> m = new LinkedHashMap<>();
            while (p.nextToken() == JsonToken.FIELD_NAME) {
                String key = p.currentName();
                int keyLine = p.currentTokenLocation().getLineNr();
                p.nextToken();
                Node value = read(p);
                if (m.containsKey(key)) {
                    problem(keyLine, "'" + key + "' appears twice in the same mapping");
                }
                m.put(key, new Node(value.value, keyLine)); // problems with an entry point at its key
            }
            return new Node(m, line);
        }
        if (t == JsonToken.START_ARRAY) {
            List<Node> l = new ArrayList<>();
            while (p.nextToken() != JsonToken.END_ARRAY) {
                l.add(read(p));
            }
            return new Node(l, line);
        }
        return new Node(t == JsonToken.VALUE_NULL ? null : p.getText(), line);
    }
}
