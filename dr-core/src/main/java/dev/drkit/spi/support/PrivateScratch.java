package dev.drkit.spi.support;

import dev.drkit.ConfigException;
import dev.drkit.DrException;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.FileAttribute;
import java.nio.file.attribute.PosixFileAttributes;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A private place for the temporary files of this process that may hold secrets or
 * plaintext (database dump spools, tool output): {@code <java.io.tmpdir>/drkit-<uid>/}, a
 * directory of this user with mode 0700, and in it one directory per process,
 * {@code run-<pid>-<start>} ({@link #processStart()}). The parent's owner and mode are checked and anything else is
 * refused, since the temporary directory is shared with other users. Directories are created
 * with mode 0700 and files with 0600, never changed afterwards.
 *
 * <p>A process killed with SIGKILL cannot clean up, so the first use in a process removes
 * the run directories of processes that are gone (a pid that no longer exists, or exists but
 * started at another time), and logs what it removed. Thread-safe.
 */
public final class PrivateScratch {
    private static final Logger LOG = LoggerFactory.getLogger(PrivateScratch.class);
    private static final Set<PosixFilePermission> OWNER_ONLY_DIR = PosixFilePermissions.fromString("rwx------");
    private static final FileAttribute<Set<PosixFilePermission>> DIR =
            PosixFilePermissions.asFileAttribute(OWNER_ONLY_DIR);
    private static final FileAttribute<Set<PosixFilePermission>> FILE =
            PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------"));
    /** A run directory: the process and its start, as {@link #processStart()} gives it (or, before, in epoch ms). */
    private static final Pattern RUN = Pattern.compile("run-(\\d+)-(\\d+|b[0-9a-f]{8}t\\d+)");

    private static final Pattern BOOT_START = Pattern.compile("b([0-9a-f]{8})t(\\d+)");
    // start times read from /proc at different moments can differ by a clock tick
    private static final long START_TOLERANCE_MILLIS = 2000;
    private static final Path BOOT_ID = Path.of("/proc/sys/kernel/random/boot_id");
    private static String boot;

    private static PrivateScratch current;
    private static final Map<Path, PrivateScratch> UNDER = new HashMap<>();

    private final Path parent;
    private final Path run;

    private PrivateScratch(Path parent, Path run) {
        this.parent = parent;
        this.run = run;
    }

    /**
     * This process's scratch area, created on first use after removing what dead processes left.
     *
     * @throws DrException (ConfigException) when the per-user directory exists with another
     *         owner or mode, or cannot be created
     */
    public static synchronized PrivateScratch current() {
        if (current == null) {
            current = open(Path.of(System.getProperty("java.io.tmpdir")), currentUid(), ProcessHandle.current());
            Path dir = current.run;
            Runtime.getRuntime().addShutdownHook(new Thread(() -> deleteQuietly(dir), "drkit-scratch-cleanup"));
        }
        return current;
    }

    /**
     * The scratch area under {@code tmpdir} for user {@code uid} and process {@code self}:
     * checks or creates {@code drkit-<uid>}, removes run directories of dead processes and
     * creates this process's own.
     */
    static PrivateScratch open(Path tmpdir, long uid, ProcessHandle self) {
        return open(tmpdir, uid, self, "java.io.tmpdir");
    }

    /**
     * A scratch area like {@link #current()}, but under {@code dir} instead of
     * {@code java.io.tmpdir}, for temporary data too large for it (e.g. a rebuilt database
     * cluster); the same checks and clean-up, {@code setting} names where {@code dir} comes from
     * in messages. Removed at exit, like the current one.
     */
    public static synchronized PrivateScratch under(Path dir, String setting) {
        PrivateScratch s = UNDER.get(dir.toAbsolutePath().normalize());
        if (s == null) {
            s = open(dir, currentUid(), ProcessHandle.current(), setting);
            UNDER.put(dir.toAbsolutePath().normalize(), s);
            Path run = s.run;
            Runtime.getRuntime().addShutdownHook(new Thread(() -> deleteQuietly(run), "drkit-scratch-cleanup"));
        }
        return s;
    }

    private static PrivateScratch open(Path tmpdir, long uid, ProcessHandle self, String setting) {
        Path parent = tmpdir.toAbsolutePath().resolve("drkit-" + uid);
        try {
            try {
                Files.createDirectory(parent, DIR);
            } catch (FileAlreadyExistsException exists) {
                // checked below like one we did not create
            }
            checkPrivate(parent, uid, setting);
            removeDeadRuns(parent);
            Path run = parent.resolve("run-" + self.pid() + "-" + start(self));
            try {
                Files.createDirectory(run, DIR);
            } catch (FileAlreadyExistsException exists) {
                checkPrivate(run, uid, setting);
            }
            return new PrivateScratch(parent, run);
        } catch (IOException e) {
            throw new ConfigException(
                    "cannot create the private temporary directory " + parent + ": " + e.getMessage() + "; check "
                            + setting,
                    e);
        }
    }

    /** The per-user directory that holds every process's run directory. */
    public Path parent() {
        return parent;
    }

    /** This process's run directory. */
    public Path directory() {
        return run;
    }

    /** A new empty file (mode 0600) in this process's run directory; the caller removes it. */
    public Path createFile(String prefix, String suffix) throws IOException {
        return Files.createTempFile(run, prefix, suffix, FILE);
    }

    /** A new empty directory (mode 0700) in this process's run directory; the caller removes it. */
    public Path createDirectory(String prefix) throws IOException {
        return Files.createTempDirectory(run, prefix, DIR);
    }

    private static void checkPrivate(Path dir, long uid, String setting) throws IOException {
        PosixFileAttributes a = Files.readAttributes(dir, PosixFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
        Object owner = Files.getAttribute(dir, "unix:uid", LinkOption.NOFOLLOW_LINKS);
        if (!a.isDirectory() || a.isSymbolicLink()) {
            throw new ConfigException(dir + " is not a directory; remove it (drkit keeps its private temporary "
                    + "files there) or set " + setting + " to another place");
        }
        if (((Number) owner).longValue() != uid || !a.permissions().equals(OWNER_ONLY_DIR)) {
            throw new ConfigException(dir + " belongs to uid " + owner + " with mode "
                    + PosixFilePermissions.toString(a.permissions()) + ", not to uid " + uid + " with mode rwx------; "
                    + "drkit refuses to keep private temporary files there: remove it or set " + setting + " to "
                    + "another place");
        }
    }

    /** Removes the run directories whose process is gone; returns what was removed. */
    static List<Path> removeDeadRuns(Path parent) throws IOException {
        List<Path> removed = new ArrayList<>();
        try (DirectoryStream<Path> entries = Files.newDirectoryStream(parent)) {
            for (Path p : entries) {
                Matcher m = RUN.matcher(p.getFileName().toString());
                if (m.matches() && !alive(Long.parseLong(m.group(1)), m.group(2))) {
                    try {
                        FileTrees.delete(p);
                        removed.add(p);
                        LOG.info(
                                "removed {}, the temporary files of process {} that ended without cleaning up",
                                p,
                                m.group(1));
                    } catch (DrException e) {
                        LOG.warn("could not remove {} left by process {}: {}", p, m.group(1), e.getMessage());
                    }
                }
            }
        }
        return removed;
    }

    /**
     * When this process started, as a token that tells it from any other process of this host
     * whatever the clock does: {@code b<boot>t<ticks>}, the first 8 hex digits of this boot's
     * id and the clock ticks since boot at which the process started ({@code /proc}); where
     * those cannot be read, the start in epoch milliseconds (0 when unknown). A start in epoch
     * milliseconds moves with every step of the system clock (the kernel derives it from the
     * boot time, which a step moves), so that a process compared after a step of more than a
     * second or two would be taken for another.
     */
    public static String processStart() {
        return start(ProcessHandle.current());
    }

    private static String start(ProcessHandle p) {
        String b = bootId();
        OptionalLong ticks = OrphanGuard.startTicks(p.pid());
        if (b != null && ticks.isPresent()) {
            return "b" + b + "t" + ticks.getAsLong();
        }
        return Long.toString(startMillis(p).orElse(0L));
    }

    /**
     * Whether process {@code pid} of this host runs and is the one whose start
     * {@link #processStart()} gave as {@code start} (a start in epoch milliseconds is compared
     * as {@link #alive(long, long)} does). A process of another boot is gone.
     */
    public static boolean alive(long pid, String start) {
        Matcher m = BOOT_START.matcher(start);
        if (!m.matches()) {
            try {
                return alive(pid, Long.parseLong(start));
            } catch (NumberFormatException e) {
                return ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false); // nothing to compare
            }
        }
        if (!m.group(1).equals(bootId())) {
            return false;
        }
        if (ProcessHandle.of(pid).filter(ProcessHandle::isAlive).isEmpty()) {
            return false;
        }
        OptionalLong ticks = OrphanGuard.startTicks(pid);
        // a pid reused by a newer process does not keep the old run's files
        return ticks.isEmpty() || Long.toString(ticks.getAsLong()).equals(m.group(2));
    }

    /**
     * Whether {@code start} (as {@link #processStart()} gives it) names a process of this boot of
     * this host, so that {@link #alive(long, String)} can tell whether it still runs; false for
     * another host's or boot's, and for a start in epoch milliseconds, which tells neither.
     */
    public static boolean ofThisBoot(String start) {
        Matcher m = BOOT_START.matcher(start);
        return m.matches() && m.group(1).equals(bootId());
    }

    /**
     * Whether the process {@code pid} of {@code host}, started at {@code start} (as
     * {@link #processStart()} gives it; null in records written before it was kept), is provably
     * gone without trusting any clock: a process of this host and boot that no longer runs. False
     * whenever that cannot be told (another host, another boot, no start recorded).
     */
    public static boolean goneHere(String host, long pid, String start) {
        return Hosts.name().equals(host)
                && start != null
                && !start.isEmpty()
                && ofThisBoot(start)
                && !alive(pid, start);
    }

    /**
     * Whether the holder of a lock or claim, the process {@code pid} of {@code host}, is gone,
     * told as well as this host can. Where the holder recorded {@code processStart} (as
     * {@link #processStart()} gives it), only as {@link #goneHere} tells, without trusting any
     * clock: a holder of another boot (this host rebooted, or another machine has its name) is not
     * gone, its lease or age tells. Where it did not (records written before it was kept), the
     * process is gone when {@code pid} no longer runs, or runs but started at another time than
     * {@code pidStartedAt} (a reused pid; a step of the system clock can make it look so). False
     * for another host's process.
     *
     * @param pidStartedAt when the holder's process started, as {@link ProcessHandle.Info#startInstant()}
     *     gave it; null when unknown
     * @param processStart the holder's start as {@link #processStart()} gave it; null or empty when
     *     not recorded
     */
    public static boolean holderGoneHere(String host, long pid, Instant pidStartedAt, String processStart) {
        if (!Hosts.name().equals(host)) {
            return false;
        }
        if (processStart != null && !processStart.isEmpty()) {
            return goneHere(host, pid, processStart);
        }
        Optional<ProcessHandle> process = ProcessHandle.of(pid);
        if (process.isEmpty() || !process.get().isAlive()) {
            return true;
        }
        Optional<Instant> started = process.get().info().startInstant();
        return pidStartedAt != null && started.isPresent() && !started.get().equals(pidStartedAt);
    }

    /** The first 8 hex digits of this boot's id, or null where the system does not tell. */
    private static synchronized String bootId() {
        if (boot == null) {
            try {
                String id = Files.readString(BOOT_ID, StandardCharsets.US_ASCII)
                        .trim()
                        .replace("-", "")
                        .toLowerCase(Locale.ROOT);
                if (id.matches("[0-9a-f]{8,}")) {
                    boot = id.substring(0, 8);
                }
            } catch (IOException | RuntimeException e) {
                return null;
            }
        }
        return boot;
    }

    /**
     * Whether process {@code pid} of this host runs and is the one that started at
     * {@code startMillis} (epoch milliseconds, as {@link #startMillis()} gave it; 0 when unknown).
     * Prefer {@link #alive(long, String)} with {@link #processStart()}: a step of the system clock
     * of more than two seconds makes a running process look like another.
     */
    public static boolean alive(long pid, long startMillis) {
        Optional<ProcessHandle> p = ProcessHandle.of(pid).filter(ProcessHandle::isAlive);
        if (p.isEmpty()) {
            return false;
        }
        Optional<Long> start = startMillis(p.get());
        // a pid reused by a newer process does not keep the old run's files
        return startMillis == 0 || start.isEmpty() || Math.abs(start.get() - startMillis) <= START_TOLERANCE_MILLIS;
    }

    /** When this process started, in epoch milliseconds, or 0 when the system does not tell. */
    public static long startMillis() {
        return startMillis(ProcessHandle.current()).orElse(0L);
    }

    private static Optional<Long> startMillis(ProcessHandle p) {
        return p.info().startInstant().map(Instant::toEpochMilli);
    }

    static long currentUid() {
        try {
            return ((Number) Files.getAttribute(Path.of("/proc/self"), "unix:uid")).longValue();
        } catch (IOException | UnsupportedOperationException | IllegalArgumentException e) {
            // no /proc: the owner of a file this process creates is this user
            try {
                Path probe = Files.createTempFile("drkit-uid-", ".probe", FILE);
                try {
                    return ((Number) Files.getAttribute(probe, "unix:uid")).longValue();
                } finally {
                    Files.deleteIfExists(probe);
                }
            } catch (IOException | UnsupportedOperationException again) {
                throw new ConfigException(
                        "cannot tell this process's user id for its private " + "temporary directory: "
                                + again.getMessage(),
                        again);
            }
        }
    }

    private static void deleteQuietly(Path dir) {
        try {
            FileTrees.delete(dir);
        } catch (RuntimeException e) {
            // the next process's start removes it
        }
    }
}
