package dev.drkit.incident;

import dev.drkit.ConfigException;
import dev.drkit.spi.support.Json;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.FileAttribute;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The incident manager's memory across restarts: the open incidents (so that a restart does not
 * page again), the resolved ones whose resolution notice some channel has not taken yet (so that
 * a page is closed in the end), and the failed backups in a row per target. A small JSON file, replaced
 * atomically (written beside it, flushed, renamed over it) with mode 0600, since incident
 * details are operational information.
 */
final class IncidentState {
    private static final int VERSION = 1;
    private static final int MAX_BYTES = 4 * 1024 * 1024;
    private static final Logger LOG = LoggerFactory.getLogger(IncidentState.class);
    private static final DateTimeFormatter ASIDE_TIME =
            DateTimeFormatter.ofPattern("yyyyMMdd'T'HHmmss'Z'").withZone(ZoneOffset.UTC);

    /** The file's document. */
    record Doc(int version, List<Incident> open, Map<String, Integer> failedInARow, List<Incident> resolving) {
        Doc {
            open = open == null ? List.of() : List.copyOf(open);
            failedInARow = failedInARow == null ? Map.of() : Map.copyOf(failedInARow);
            resolving = resolving == null ? List.of() : List.copyOf(resolving); // files of earlier versions
        }
    }

    private IncidentState() {}

    /**
     * The state in {@code file}; empty when it does not exist.
     *
     * @throws ConfigException when it cannot be read or is not a state file of this version
     */
    static Doc load(Path file) {
        byte[] bytes;
        try (InputStream in = Files.newInputStream(file, LinkOption.NOFOLLOW_LINKS)) {
            bytes = in.readNBytes(MAX_BYTES + 1);
        } catch (NoSuchFileException e) {
            return new Doc(VERSION, List.of(), Map.of(), List.of());
        } catch (IOException e) {
            throw new ConfigException("cannot read the incident state file " + file + " (" + e.getMessage()
                    + "); check that this user may read it");
        }
        if (bytes.length > MAX_BYTES) {
            throw damaged(file, "it is larger than 4 MiB");
        }
        Doc doc;
        try {
            doc = Json.read(bytes, Doc.class);
        } catch (IOException | RuntimeException e) {
            throw damaged(file, "it is not the JSON drkit writes there");
        }
        if (doc == null || doc.version() != VERSION) {
            throw damaged(file, "its version is not " + VERSION);
        }
        for (Map.Entry<String, Integer> e : doc.failedInARow().entrySet()) {
            if (e.getKey() == null || e.getValue() == null || e.getValue() < 0) {
                throw damaged(file, "a failure count is missing or negative");
            }
        }
        for (Incident i : doc.open()) {
            // the id goes into mail headers and every notice, the target into subjects: drkit writes
            // neither with a control character, and one would let the file add headers (a Bcc)
            if (i == null || !printable(i.id()) || !printable(i.target())) {
                throw damaged(file, "an open incident's id or target is missing or holds a control character");
            }
        }
        for (Incident i : doc.resolving()) {
            if (i == null || !printable(i.id()) || !printable(i.target()) || i.endedAt() == null) {
                throw damaged(file, "a resolved incident's id, target or end is missing or holds a control character");
            }
        }
        return doc;
    }

    private static boolean printable(String s) {
        if (s == null || s.isEmpty()) {
            return false;
        }
        for (int i = 0; i < s.length(); i++) {
            if (Character.isISOControl(s.charAt(i))) {
                return false;
            }
        }
        return true;
    }

    private static ConfigException damaged(Path file, String why) {
        return new Damaged("the incident state file " + file + " cannot be used: " + why
                + "; move it aside to start without open incidents (they are then declared again when "
                + "their condition still holds)");
    }

    /** A state file that was read but is not one drkit wrote (as opposed to one that cannot be read). */
    static final class Damaged extends ConfigException {
        private static final long serialVersionUID = 1L;

        Damaged(String problem) {
            super(problem);
        }
    }

    /** A state file another manager holds. */
    static final class InUse extends ConfigException {
        private static final long serialVersionUID = 1L;

        InUse(String problem) {
            super(problem);
        }
    }

    /**
     * Moves a damaged state file aside ({@code NAME.damaged-TIME}, kept for a look), so that the
     * daemon starts without it rather than not at all: notices must never stop backups. The
     * incidents it held are declared again while their condition holds, and resolutions it
     * held are lost. Returns where it went, or null when the file is sound or absent.
     *
     * @throws ConfigException when the file cannot be read, or cannot be moved
     */
    static Path setAsideIfDamaged(Path file, Instant now) {
        try {
            load(file);
            return null;
        } catch (Damaged e) {
            Path aside = file.resolveSibling(file.getFileName() + ".damaged-" + ASIDE_TIME.format(now));
            try {
                Files.move(file, aside, StandardCopyOption.ATOMIC_MOVE);
            } catch (IOException moveFailed) {
                throw new ConfigException(
                        e.getMessage() + " (it could not be moved aside: " + moveFailed.getMessage() + ")");
            }
            LOG.warn("{}; moved it to {} and started without it", e.getMessage(), aside);
            return aside;
        }
    }

    /**
     * Takes the lock that keeps a state file to one manager at a time ({@code .NAME.lock} beside
     * it, mode 0600, kept): two managers on one file would each page for the same incidents, and
     * the last to write would drop the other's. The operating system releases it when the
     * process ends, however it ends.
     *
     * <p>A file system that takes no locks (NFS mounted without them, some FUSE file systems)
     * does not stop the manager: it runs without the lock, with a warning, since notices must
     * never stop backups and a second manager on one file is what the lock only guards against.
     * Within this process a second manager is still refused.
     *
     * @throws ConfigException when another manager, in this process or another, holds it
     */
    static FileChannel lock(Path file) {
        return lock(file, FileChannel::tryLock);
    }

    /** How {@link #lock(Path)} tries the lock; a test's may fail as a file system without locks does. */
    interface Locker {
        /** The lock, or null when another process holds it. */
        FileLock tryLock(FileChannel channel) throws IOException;
    }

    static FileChannel lock(Path file, Locker locker) {
        Path lockFile = file.toAbsolutePath().resolveSibling("." + file.getFileName() + ".lock");
        synchronized (HELD) {
            FileChannel ch;
            try {
                Files.createDirectories(lockFile.getParent());
                // a second channel on a file this process locks must not even be opened: closing
                // it would drop the process's lock (POSIX record locks), and another process's
                // manager could then take the file while the first still runs
                if (HELD.containsKey(fileKey(lockFile))) {
                    throw inUse(file);
                }
                ch = FileChannel.open(
                        lockFile,
                        Set.of(StandardOpenOption.CREATE, StandardOpenOption.WRITE, LinkOption.NOFOLLOW_LINKS),
                        privateFile());
            } catch (IOException e) {
                throw new ConfigException("the incident state file " + file + " cannot be locked (" + e.getMessage()
                        + "); check that its directory is writable");
            }
            boolean held = false;
            try {
                try {
                    held = locker.tryLock(ch) != null;
                } catch (OverlappingFileLockException e) {
                    held = false;
                } catch (IOException e) {
                    if (e instanceof ClosedChannelException) {
                        throw e; // interrupted: not a file system without locks
                    }
                    LOG.warn(
                            "the incident state file {} cannot be locked ({}): its file system takes no locks, so "
                                    + "nothing keeps a second incident manager (another daemon of the same setup) "
                                    + "off it; this one runs without the lock. Put state-file on a local file "
                                    + "system",
                            file,
                            e.getMessage());
                    held = true; // kept open: this process still refuses a second manager of its own
                }
                if (!held) {
                    throw inUse(file);
                }
                Object key = fileKey(lockFile);
                if (key != null) {
                    HELD.put(key, ch);
                }
                return ch;
            } catch (IOException e) {
                held = false;
                throw new ConfigException("the incident state file " + file + " cannot be locked (" + e.getMessage()
                        + "); check that its directory is writable");
            } finally {
                if (!held) {
                    try {
                        ch.close();
                    } catch (IOException ignored) {
                        // the lock was not taken: nothing to release
                    }
                }
            }
        }
    }

    /** Releases a lock {@link #lock} took. */
    static void unlock(FileChannel lock) throws IOException {
        synchronized (HELD) {
            HELD.values().removeIf(ch -> ch == lock);
            lock.close();
        }
    }

    /** The lock files this process holds, by device and inode, with their channels. */
    private static final Map<Object, FileChannel> HELD = new HashMap<>();

    private static InUse inUse(Path file) {
        return new InUse("the incident state file " + file + " is in use by another incident "
                + "manager (another daemon of the same setup, or a host service, on this host); give each its own "
                + "state-file");
    }

    /** The file's device and inode, or null when it does not exist or the platform has none. */
    private static Object fileKey(Path file) throws IOException {
        try {
            return Files.readAttributes(file, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS)
                    .fileKey();
        } catch (NoSuchFileException e) {
            return null;
        }
    }

    /** Mode 0600 where the file system has modes. */
    private static FileAttribute<?>[] privateFile() {
        boolean posix = FileSystems.getDefault().supportedFileAttributeViews().contains("posix");
        return posix
                ? new FileAttribute<?>[] {
                    PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------"))
                }
                : new FileAttribute<?>[0];
    }

    /** Replaces the file's content atomically with {@code open}, {@code failedInARow} and {@code resolving}, mode 0600. */
    static void save(Path file, List<Incident> open, Map<String, Integer> failedInARow, List<Incident> resolving)
            throws IOException {
        byte[] bytes = Json.write(
                new Doc(VERSION, new ArrayList<>(open), new LinkedHashMap<>(failedInARow), new ArrayList<>(resolving)));
        Path dir = file.toAbsolutePath().getParent();
        Files.createDirectories(dir);
        Path tmp = Files.createTempFile(dir, "." + file.getFileName() + ".", ".tmp", privateFile());
        try {
            try (FileChannel ch =
                    FileChannel.open(tmp, StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING)) {
                ByteBuffer buf = ByteBuffer.wrap(bytes);
                while (buf.hasRemaining()) {
                    ch.write(buf);
                }
                ch.force(true);
            }
            try {
                Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            } catch (AtomicMoveNotSupportedException e) {
                Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING);
            }
        } finally {
            Files.deleteIfExists(tmp);
        }
    }
}
