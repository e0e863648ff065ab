package dev.drkit.postgres;

import dev.drkit.ConfigException;
import dev.drkit.spi.support.Sha256;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.FileTime;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;

/**
 * The local spool of an asynchronous {@code archive_command} ({@link WalPushBatch}): one
 * private directory (mode 0700) per cluster, outside its data directory, holding
 *
 * <ul>
 *   <li>{@code <wal-file>.ok}: the acknowledgement that the WAL file is durable in the
 *       repository, written (temporary name, fsync, rename, fsync of the directory) only after
 *       the repository confirmed it; it holds {@code 1} and the {@link #identity} of the file
 *       whose bytes were pushed, as GNU {@code stat -c '%d %i %s %.9Y %.9Z'} prints it (device,
 *       inode, size, modification and change times), taken before the file was read and found
 *       unchanged after the push. The shell's fast path of {@code archive_command} compares it
 *       with the segment's own {@code stat}, which costs one small process where a checksum
 *       would read 16 MiB: an acknowledgement of another cluster, or of another file under the
 *       same name (a data directory made anew or rolled back), does not match, and Java then
 *       pushes, or refuses other bytes under an archived name.
 *   <li>{@code <wal-file>.error}: why the last push of that file failed, until it is stored.
 *   <li>{@code <wal-file>.dropped}: when and why the file was dropped, not archived (see
 *       {@link WalBacklog}); kept until removed by hand, since recovery past it is impossible
 *       until a base backup taken after it.
 *   <li>{@code cluster}: the system identifier the acknowledgements belong to, and a hash of
 *       the repository's location when the caller gives it; when the spool meets another
 *       cluster or repository, every acknowledgement and error in it is removed.
 * </ul>
 *
 * <p>An acknowledgement or error is removed once PostgreSQL no longer marks its file
 * {@code .ready} in {@code pg_wal/archive_status} ({@link #cleanUp}), so the spool holds at most
 * what one batch pushed ahead of PostgreSQL. Thread-safe: every file is written whole under a
 * temporary name and renamed.
 */
public final class WalSpool {
    /** The suffix of an acknowledgement: {@code <wal-file>.ok}. */
    public static final String ACK_SUFFIX = ".ok";

    /** The suffix of a recorded failure: {@code <wal-file>.error}. */
    public static final String ERROR_SUFFIX = ".error";

    /** The suffix of the record of a file dropped, not archived: {@code <wal-file>.dropped}. */
    public static final String DROPPED_SUFFIX = ".dropped";

    private static final String CLUSTER = "cluster";
    /** Starts every acknowledgement, so that a blank line or another format never matches. */
    private static final String ACK_VERSION = "1 ";

    private static final String TMP_PREFIX = ".tmp-";
    private static final int MAX_ERROR_CHARS = 2000;
    private static final Set<PosixFilePermission> PRIVATE = PosixFilePermissions.fromString("rwx------");

    private final Path dir;
    private final Path dataDir;
    private final long systemId;
    private boolean forgotAnotherRepository;

    private WalSpool(Path dir, Path dataDir, long systemId) {
        this.dir = dir;
        this.dataDir = dataDir;
        this.systemId = systemId;
    }

    /**
     * Opens (creating it, mode 0700, when missing) the spool of the cluster in {@code dataDir}.
     * When the spool last served another cluster, its acknowledgements and errors are removed.
     *
     * @param dir the spool directory; not inside {@code dataDir} (a base backup would carry its
     *     acknowledgements into a restored cluster) and not a symbolic link
     * @param dataDir the cluster's data directory
     * @throws ConfigException when the spool is inside the data directory, is not a directory,
     *     or is open to other users
     */
    public static WalSpool open(Path dir, Path dataDir) throws IOException {
        return open(dir, dataDir, null);
    }

    /**
     * {@link #open(Path, Path)}, also recording which repository the acknowledgements are for:
     * when the spool last served another repository, its acknowledgements and errors are
     * removed, and {@link #forgotAnotherRepository()} says so. (The shell's test in
     * {@code archive_command} cannot tell repositories apart: give each repository its own
     * spool.)
     *
     * @param repository what names the repository (its location); only a hash of it is stored;
     *     null to leave it unrecorded
     */
    public static WalSpool open(Path dir, Path dataDir, String repository) throws IOException {
        Path spool = dir.toAbsolutePath().normalize();
        Path data = dataDir.toAbsolutePath().normalize();
        long systemId = WalArchive.systemIdentifier(data);
        Path pgWal = data.resolve("pg_wal");
        if (spool.startsWith(data)
                || spool.startsWith(data.toRealPath())
                || (Files.exists(pgWal) && spool.startsWith(pgWal.toRealPath()))) {
            throw new ConfigException(
                    "the WAL spool " + spool + " (WalPushBatch's spool) is inside the data directory " + data
                            + " or its pg_wal (its acknowledgements would be copied by base backups and mistaken for a restored "
                            + "cluster's); give a spool directory outside it, e.g. /var/lib/drkit/spool");
        }
        if (!Files.exists(spool, LinkOption.NOFOLLOW_LINKS)) {
            Files.createDirectories(spool.getParent());
            try {
                Files.createDirectory(spool, PosixFilePermissions.asFileAttribute(PRIVATE));
            } catch (FileAlreadyExistsException e) {
                // another archive_command created it first: checked below like any existing spool
            }
            Files.setPosixFilePermissions(spool, PRIVATE); // the umask may have narrowed the mode
        }
        if (!Files.isDirectory(spool, LinkOption.NOFOLLOW_LINKS)) {
            throw new ConfigException(
                    "the WAL spool " + spool + " (WalPushBatch's spool) is not a directory (or is a symbolic link); "
                            + "give a directory that only the cluster's owner can read, mode 0700");
        }
        Path real = spool.toRealPath();
        if (real.startsWith(data.toRealPath()) || (Files.exists(pgWal) && real.startsWith(pgWal.toRealPath()))) {
            throw new ConfigException("the WAL spool " + spool + " (WalPushBatch's spool) is inside the data directory "
                    + data + " or its pg_wal; give a spool directory outside both");
        }
        Set<PosixFilePermission> mode = Files.getPosixFilePermissions(spool, LinkOption.NOFOLLOW_LINKS);
        if (!PRIVATE.containsAll(mode)) {
            throw new ConfigException("the WAL spool " + spool + " (WalPushBatch's spool) is open to other users (mode "
                    + PosixFilePermissions.toString(mode) + "); make it private: chmod 700 " + spool);
        }
        WalSpool s = new WalSpool(spool, data, systemId);
        s.claim(repository == null ? null : repositoryTag(repository));
        return s;
    }

    /** The spool directory. */
    public Path directory() {
        return dir;
    }

    /** The system identifier of the cluster this spool serves. */
    public long systemIdentifier() {
        return systemId;
    }

    /**
     * Whether opening the spool found it last used for the same cluster but another repository
     * and removed its acknowledgements: segments PostgreSQL archived through the shell's test
     * since the repository changed may then be missing from the repository used now.
     */
    public boolean forgotAnotherRepository() {
        return forgotAnotherRepository;
    }

    private static String repositoryTag(String repository) {
        byte[] location = repository.getBytes(StandardCharsets.UTF_8);
        return Sha256.hex(location, 0, location.length).substring(0, 16);
    }

    /**
     * Removes the acknowledgements of another cluster, or of another repository when {@code
     * repository} is given, and records this cluster (and repository) as the spool's owner.
     */
    private void claim(String repository) throws IOException {
        String id = Long.toUnsignedString(systemId);
        Optional<String> recorded = read(dir.resolve(CLUSTER));
        String[] was = recorded.map(r -> r.strip().split(" ")).orElse(new String[0]);
        boolean sameCluster = was.length > 0 && was[0].equals(id);
        String wasRepository = was.length > 1 ? was[1] : null;
        forgotAnotherRepository =
                sameCluster && repository != null && wasRepository != null && !wasRepository.equals(repository);
        if (recorded.isPresent() && (!sameCluster || forgotAnotherRepository)) {
            for (Path p : entries()) {
                String n = p.getFileName().toString();
                if (n.endsWith(ACK_SUFFIX) || n.endsWith(ERROR_SUFFIX)) {
                    Files.deleteIfExists(p);
                }
            }
            syncDirectory();
        }
        String keep = repository != null ? repository : sameCluster ? wasRepository : null;
        String owner = id + (keep == null ? "" : " " + keep);
        if (!recorded.map(String::strip).equals(Optional.of(owner))) {
            write(CLUSTER, owner + "\n");
        }
    }

    /**
     * Whether {@code name} is acknowledged as durable in the repository for the file now at
     * {@code file}: the acknowledgement holds the {@link #identity} the file had when its bytes
     * were pushed, so one of another cluster, or of another file under the same name (a data
     * directory rolled back or made anew), does not count, here or in the shell's test.
     */
    public boolean isAcknowledged(String name, Path file) throws IOException {
        requireWalName(name);
        Optional<String> ack = read(dir.resolve(name + ACK_SUFFIX));
        String now = identity(file);
        return ack.isPresent() && now != null && ack.get().strip().equals(ACK_VERSION + now);
    }

    /**
     * Records, durably, that {@code name} is durable in the repository, when the file at
     * {@code file} is still the one whose bytes were pushed: {@code before} is its {@link
     * #identity} taken before it was read. A file replaced or changed meanwhile is not
     * acknowledged (PostgreSQL's call for it then pushes it again).
     *
     * @return whether the acknowledgement was written
     */
    public boolean acknowledge(String name, Path file, String before) throws IOException {
        requireWalName(name);
        String after = identity(file);
        Files.deleteIfExists(dir.resolve(name + ERROR_SUFFIX));
        if (before == null || !before.equals(after)) {
            return false;
        }
        write(name + ACK_SUFFIX, ACK_VERSION + after + "\n");
        return true;
    }

    /**
     * What GNU {@code stat -c '%d %i %s %.9Y %.9Z' file} prints in the C locale: the device and
     * inode numbers, the size, and the modification and change times in seconds with nine
     * decimals. The change time cannot be set by tools that copy times (it moves with every
     * write, rename or change of mode), so a file made again under the same name, even one
     * given the old inode number and modification time, has another identity. Null when the
     * file is gone, is not a regular file, or the file system gives no inode numbers (then
     * nothing is acknowledged).
     */
    public static String identity(Path file) throws IOException {
        Map<String, Object> a;
        try {
            a = Files.readAttributes(
                    file, "unix:dev,ino,size,lastModifiedTime,ctime,isRegularFile", LinkOption.NOFOLLOW_LINKS);
        } catch (NoSuchFileException e) {
            return null;
        } catch (UnsupportedOperationException | IllegalArgumentException e) {
            return null;
        }
        if (!Boolean.TRUE.equals(a.get("isRegularFile"))) {
            return null;
        }
        Instant modified = ((FileTime) a.get("lastModifiedTime")).toInstant();
        Instant changed = ((FileTime) a.get("ctime")).toInstant();
        if (modified.getEpochSecond() < 0 || changed.getEpochSecond() < 0) {
            return null; // stat prints these another way; an acknowledgement that never matches is of no use
        }
        return Long.toUnsignedString((Long) a.get("dev")) + " " + Long.toUnsignedString((Long) a.get("ino")) + " "
                + a.get("size") + " " + seconds(modified) + " " + seconds(changed);
    }

    private static String seconds(Instant t) {
        return t.getEpochSecond() + "." + String.format("%09d", t.getNano());
    }

    /** Records why pushing {@code name} failed, replacing an earlier record. */
    public void recordFailure(String name, String message) throws IOException {
        requireWalName(name);
        write(name + ERROR_SUFFIX, oneLine(message) + "\n");
    }

    /**
     * Records that {@code name} was dropped, not archived, at {@code at} and why; the record stays
     * until removed by hand ({@link #cleanUp} leaves it).
     */
    public void recordDropped(String name, Instant at, String message) throws IOException {
        requireWalName(name);
        write(name + DROPPED_SUFFIX, "at " + at + ": " + oneLine(message) + "\n");
    }

    private static String oneLine(String message) {
        String text = message == null ? "failed" : message.replace('\n', ' ');
        return text.length() > MAX_ERROR_CHARS ? text.substring(0, MAX_ERROR_CHARS) + "..." : text;
    }

    /** The recorded failures, oldest file name first. */
    public List<Failure> failures() throws IOException {
        return failuresIn(dir);
    }

    /**
     * The failures recorded in a spool, oldest file name first, read without the cluster (for a
     * status report); none when there is no spool there. A failure stays recorded until its file
     * is stored or PostgreSQL no longer asks for it.
     */
    public static List<Failure> failuresIn(Path spoolDir) throws IOException {
        return recordsIn(spoolDir, ERROR_SUFFIX);
    }

    /**
     * The WAL files dropped, not archived, as recorded in a spool, oldest file name first, each
     * with when and why; none when there is no spool there.
     */
    public static List<Failure> droppedIn(Path spoolDir) throws IOException {
        return recordsIn(spoolDir, DROPPED_SUFFIX);
    }

    private static List<Failure> recordsIn(Path spoolDir, String suffix) throws IOException {
        List<Failure> out = new ArrayList<>();
        if (!Files.isDirectory(spoolDir, LinkOption.NOFOLLOW_LINKS)) {
            return out;
        }
        for (Path p : entries(spoolDir)) {
            String n = p.getFileName().toString();
            if (n.endsWith(suffix)) {
                String name = n.substring(0, n.length() - suffix.length());
                if (WalArchive.isWalFileName(name)) {
                    read(p).ifPresent(text -> out.add(new Failure(name, text.strip())));
                }
            }
        }
        out.sort((a, b) -> a.name().compareTo(b.name()));
        return out;
    }

    /**
     * Removes acknowledgements and errors of files PostgreSQL no longer marks {@code .ready}
     * (archived and marked {@code .done}, or removed from {@code pg_wal}), and temporary files
     * an interrupted write left.
     *
     * @return how many files were removed
     */
    public int cleanUp() throws IOException {
        Path status = dataDir.resolve("pg_wal").resolve("archive_status");
        int removed = 0;
        for (Path p : entries()) {
            String n = p.getFileName().toString();
            String name = n.endsWith(ACK_SUFFIX)
                    ? n.substring(0, n.length() - ACK_SUFFIX.length())
                    : n.endsWith(ERROR_SUFFIX) ? n.substring(0, n.length() - ERROR_SUFFIX.length()) : null;
            boolean stale = n.startsWith(TMP_PREFIX)
                    || (name != null && !Files.exists(status.resolve(name + ".ready"), LinkOption.NOFOLLOW_LINKS));
            if (stale && Files.deleteIfExists(p)) {
                removed++;
            }
        }
        if (removed > 0) {
            syncDirectory();
        }
        return removed;
    }

    /** A push that failed: the WAL file's name and why. */
    public record Failure(String name, String message) {}

    private List<Path> entries() throws IOException {
        return entries(dir);
    }

    private static List<Path> entries(Path dir) throws IOException {
        List<Path> out = new ArrayList<>();
        try (DirectoryStream<Path> s = Files.newDirectoryStream(dir)) {
            s.forEach(out::add);
        }
        return out;
    }

    private static Optional<String> read(Path p) throws IOException {
        try {
            if (!Files.isRegularFile(p, LinkOption.NOFOLLOW_LINKS)) {
                return Optional.empty();
            }
            byte[] b;
            try (var in = Files.newInputStream(p, LinkOption.NOFOLLOW_LINKS)) {
                b = in.readNBytes(4096);
            }
            return Optional.of(new String(b, StandardCharsets.UTF_8));
        } catch (NoSuchFileException e) {
            return Optional.empty(); // removed by a concurrent clean-up
        }
    }

    /** Writes {@code name} whole: temporary file, fsync, rename, fsync of the directory. */
    private void write(String name, String text) throws IOException {
        Path tmp = dir.resolve(TMP_PREFIX + name + "-" + UUID.randomUUID());
        try (FileChannel ch = FileChannel.open(
                tmp,
                Set.of(StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE),
                PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")))) {
            ByteBuffer b = ByteBuffer.wrap(text.getBytes(StandardCharsets.UTF_8));
            while (b.hasRemaining()) {
                ch.write(b);
            }
            ch.force(true);
        } catch (IOException | RuntimeException e) {
            Files.deleteIfExists(tmp);
            throw e;
        }
        Files.move(tmp, dir.resolve(name), StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        syncDirectory();
    }

    private void syncDirectory() throws IOException {
        try (FileChannel ch = FileChannel.open(dir, StandardOpenOption.READ)) {
            ch.force(true);
        }
    }

    private static void requireWalName(String name) {
        if (!WalArchive.isWalFileName(name)) {
            throw new ConfigException(name + " is not a WAL file name (segment, .partial, .backup or .history)");
        }
    }

    @Override
    public String toString() {
        return "WalSpool[" + dir + "]";
    }
}
