package dev.drkit.postgres;

import dev.drkit.ArtifactInfo;
import dev.drkit.ConfigException;
import dev.drkit.CorruptDataException;
import dev.drkit.DrException;
import dev.drkit.ObjectExistsException;
import dev.drkit.spi.FileArchive;
import dev.drkit.spi.support.BoundedInputStream;
import dev.drkit.spi.support.SideFiles;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * PostgreSQL's WAL in a repository: {@code wal/<system-id>/<timeline>/<file>} for segments,
 * partial segments, backup history and timeline history files. {@link #push} is what
 * {@code archive_command} runs (durable before it returns; the same file again is accepted,
 * other bytes under an archived name are refused), {@link #fetch} what {@code restore_command}
 * runs. The system identifier comes from the cluster's {@code global/pg_control}, so WAL of
 * two clusters never mixes, and a fetched segment whose header names another cluster is
 * refused.
 */
public final class WalArchive {
    /** The repository area holding WAL. */
    public static final String AREA = "wal";

    private static final Logger LOG = LoggerFactory.getLogger(WalArchive.class);

    private static final Pattern SEGMENT = Pattern.compile("[0-9A-F]{24}");
    private static final Pattern PARTIAL = Pattern.compile("[0-9A-F]{24}\\.partial");
    /**
     * What {@code wal-stream} received of a segment it never completed: a name of its own, since
     * a promoted standby's archiver stores the old timeline's last segment as {@code .partial}
     * in the same archive, with other bytes (the whole segment file).
     */
    static final String STREAMED_SUFFIX = ".stream";

    private static final Pattern BACKUP_HISTORY = Pattern.compile("[0-9A-F]{24}\\.[0-9A-F]{8}\\.backup");
    private static final Pattern TIMELINE_HISTORY = Pattern.compile("[0-9A-F]{8}\\.history");
    private static final int XLP_LONG_HEADER = 0x0002;

    /** {@link #following} for the latest timeline, as {@code recovery_target_timeline = 'latest'}. */
    public static final long LATEST = 0;

    private final FileArchive archive;
    /** The timeline the recovery fetched for follows; {@link #LATEST} for the newest. */
    private final long follow;
    /** Timeline history files read so far (the newest is looked for on every fetch). */
    private final Map<Long, Optional<String>> histories = new ConcurrentHashMap<>();

    public WalArchive(FileArchive archive) {
        this(archive, LATEST);
    }

    private WalArchive(FileArchive archive, long follow) {
        this.archive = archive;
        this.follow = follow;
    }

    /**
     * This archive, fetching for a recovery along {@code timeline} ({@code
     * recovery_target_timeline}; {@link #LATEST}, the default, for the newest timeline with a
     * history file). It decides what {@link #fetch} serves for the last segment of a timeline
     * that a later one branched off: a recovery that goes on along the later timeline gets that
     * timeline's WAL only up to the branch point, never the older timeline's WAL after it (WAL
     * the streamer received from a primary that went on writing after its standby was promoted).
     */
    public WalArchive following(long timeline) {
        return new WalArchive(archive, checkTimeline(timeline));
    }

    /** {@code timeline} when it is {@link #LATEST} or a timeline's number. */
    static long checkTimeline(long timeline) {
        if (timeline < 0 || timeline > 0xFFFF_FFFFL) {
            throw new ConfigException("a timeline is a number from 1 to 4294967295 (or latest), not " + timeline);
        }
        return timeline;
    }

    /**
     * The timeline to follow as setting {@code target-timeline} gives it: latest ({@link
     * #LATEST}), current (the backup's, {@code backupTimeline}) or a number.
     */
    public static long timelineToFollow(String setting, Object backupTimeline) {
        if (setting == null || setting.equals("latest")) {
            return LATEST;
        }
        if (setting.equals("current") && backupTimeline == null) {
            throw new ConfigException("setting 'target-timeline' is current, but the backup records no timeline; "
                    + "give the timeline's number");
        }
        String t = setting.equals("current") ? String.valueOf(backupTimeline) : setting.trim();
        // decimal without leading zeros: PostgreSQL reads 010 as octal
        if (t.matches("[1-9][0-9]{0,9}") && Long.parseLong(t) <= 0xFFFF_FFFFL) {
            return Long.parseLong(t);
        }
        throw new ConfigException(
                "setting 'target-timeline' takes latest, current or a timeline number (1 to 4294967295), not "
                        + setting);
    }

    /** Whether {@code name} is a file PostgreSQL archives. */
    public static boolean isWalFileName(String name) {
        return SEGMENT.matcher(name).matches()
                || PARTIAL.matcher(name).matches()
                || BACKUP_HISTORY.matcher(name).matches()
                || TIMELINE_HISTORY.matcher(name).matches();
    }

    /** The name under which {@code wal-stream} stores what it received of {@code segment}. */
    static String streamedName(String segment) {
        return segment + STREAMED_SUFFIX;
    }

    /** The timeline a WAL file name belongs to, as 8 hex digits. */
    static String timelineOf(String name) {
        return name.substring(0, 8);
    }

    /** The archive path of a WAL file of a cluster. */
    static String path(long systemId, String name) {
        return Long.toUnsignedString(systemId) + "/" + timelineOf(name) + "/" + name;
    }

    /** The system identifier in a data directory's {@code global/pg_control}. */
    public static long systemIdentifier(Path dataDir) throws IOException {
        try {
            return controlFileStart(dataDir, 8).getLong();
        } catch (NoSuchFileException e) {
            Path control = dataDir.resolve("global").resolve("pg_control");
            throw new ConfigException("no " + control + ": run the WAL commands in the cluster's data directory "
                    + "(PostgreSQL does for archive_command and restore_command) or give the data directory as "
                    + "WalArchive's dataDir");
        }
    }

    /**
     * The first {@code bytes} bytes of a data directory's {@code global/pg_control}, in the
     * server's (little-endian) byte order.
     *
     * @throws NoSuchFileException when there is no control file
     * @throws CorruptDataException when it is shorter than that
     */
    static ByteBuffer controlFileStart(Path dataDir, int bytes) throws IOException {
        Path control = dataDir.resolve("global").resolve("pg_control");
        try (FileChannel ch = FileChannel.open(control, StandardOpenOption.READ)) {
            ByteBuffer b = ByteBuffer.allocate(bytes).order(ByteOrder.LITTLE_ENDIAN);
            while (b.hasRemaining() && ch.read(b) >= 0) {
                // fill
            }
            if (b.hasRemaining()) {
                throw new CorruptDataException(control + " is too short to be a pg_control file");
            }
            return b.flip();
        }
    }

    /** The system identifier in a segment's first page header, or empty when the page has none. */
    static Optional<Long> segmentSystemId(byte[] firstPage, int length) {
        if (length < 40) {
            return Optional.empty();
        }
        if (!longHeader(firstPage, ByteOrder.LITTLE_ENDIAN)) {
            return Optional.empty();
        }
        return Optional.of(ByteBuffer.wrap(firstPage, 0, length)
                .order(ByteOrder.LITTLE_ENDIAN)
                .getLong(24));
    }

    /**
     * What is wrong with the first page header of a segment file (or its {@code .partial}) of
     * {@code size} bytes named {@code name}; null when it is as PostgreSQL writes one: a long
     * header giving a segment size (a power of two from 1 MiB to 1 GiB) that the file has (a
     * partial one at most), and the address of the segment the name gives. The timeline is not
     * compared: the first segment of a new timeline starts with pages copied from the old one.
     */
    static String segmentHeaderProblem(String name, byte[] firstPage, int length, long size) {
        if (length < 40) {
            return "it holds " + size + " bytes, too few for a WAL page header";
        }
        // PostgreSQL writes WAL in the machine's byte order: little-endian nearly everywhere
        String little = headerProblem(name, firstPage, length, size, ByteOrder.LITTLE_ENDIAN);
        if (little == null) {
            return null;
        }
        String big = headerProblem(name, firstPage, length, size, ByteOrder.BIG_ENDIAN);
        if (big == null) {
            return null;
        }
        // what is wrong in the byte order whose long-header flag is set, if either's is
        return longHeader(firstPage, ByteOrder.BIG_ENDIAN) && !longHeader(firstPage, ByteOrder.LITTLE_ENDIAN)
                ? big
                : little;
    }

    /** Whether the page's xlp_info, read in {@code order}, has the long-header flag. */
    private static boolean longHeader(byte[] page, ByteOrder order) {
        return (ByteBuffer.wrap(page).order(order).getShort(2) & XLP_LONG_HEADER) != 0;
    }

    private static String headerProblem(String name, byte[] firstPage, int length, long size, ByteOrder order) {
        ByteBuffer b = ByteBuffer.wrap(firstPage, 0, length).order(order);
        if (!longHeader(firstPage, order)) {
            return "its first page has no long header (every segment starts with one): it is damaged or not a WAL "
                    + "segment";
        }
        long segmentSize = b.getInt(32) & 0xFFFFFFFFL;
        if (Long.bitCount(segmentSize) != 1 || segmentSize < (1 << 20) || segmentSize > (1L << 30)) {
            return "its header gives an impossible segment size of " + segmentSize + " bytes";
        }
        boolean partial = name.endsWith(".partial");
        if (partial ? size > segmentSize : size != segmentSize) {
            return "it holds " + size + " bytes, but its header gives segments of " + segmentSize;
        }
        long pageTimeline = b.getInt(4) & 0xFFFFFFFFL;
        long nameTimeline = Long.parseLong(name.substring(0, 8), 16);
        if (pageTimeline > nameTimeline) {
            // a new timeline's first segment starts with pages of an older one, never of a newer
            return "its pages are of timeline " + pageTimeline + ", after the " + nameTimeline + " its name gives";
        }
        long log = Long.parseLong(name.substring(8, 16), 16);
        long seg = Long.parseLong(name.substring(16, 24), 16);
        long perLog = 0x1_0000_0000L / segmentSize;
        long address = b.getLong(8);
        if (seg >= perLog || address != (log * perLog + seg) * segmentSize) {
            return "its header gives the WAL address "
                    + Long.toHexString(address >>> 32).toUpperCase(Locale.ROOT) + "/"
                    + Long.toHexString(address & 0xFFFFFFFFL).toUpperCase(Locale.ROOT)
                    + ", which is not where the segment of that name starts";
        }
        return null;
    }

    /** The segment size in the first page header of a big-endian server's segment; -1 when it has none. */
    private static long segmentSizeBigEndian(byte[] firstPage, int length) {
        if (length < 40 || !longHeader(firstPage, ByteOrder.BIG_ENDIAN)) {
            return -1;
        }
        return ByteBuffer.wrap(firstPage, 0, length).order(ByteOrder.BIG_ENDIAN).getInt(32) & 0xFFFFFFFFL;
    }

    /** The segment size in a segment's first page header. */
    static Optional<Long> segmentSize(byte[] firstPage, int length) {
        if (length < 40 || !longHeader(firstPage, ByteOrder.LITTLE_ENDIAN)) {
            return Optional.empty();
        }
        return Optional.of(ByteBuffer.wrap(firstPage, 0, length)
                        .order(ByteOrder.LITTLE_ENDIAN)
                        .getInt(32)
                & 0xFFFFFFFFL);
    }

    /**
     * Archives one WAL file of the cluster in {@code dataDir}.
     *
     * @return what the archive did
     * @throws DrException when the file belongs to another cluster or another file of that name is archived
     */
    public FileArchive.PutResult push(Path file, Path dataDir) throws IOException {
        String name = file.getFileName().toString();
        if (!isWalFileName(name)) {
            throw new ConfigException(name + " is not a WAL file name (segment, .partial, .backup or .history)");
        }
        long systemId = systemIdentifier(dataDir);
        long size = -1;
        if (SEGMENT.matcher(name).matches() || PARTIAL.matcher(name).matches()) {
            byte[] page = new byte[64];
            int n;
            try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
                size = ch.size();
                ByteBuffer b = ByteBuffer.wrap(page);
                while (b.hasRemaining() && ch.read(b) >= 0) {
                    // fill
                }
                n = b.position();
            }
            Optional<Long> inSegment = segmentSystemId(page, n);
            if (inSegment.isPresent() && inSegment.get() != systemId) {
                throw new ConfigException(name + " belongs to the cluster with system identifier "
                        + Long.toUnsignedString(inSegment.get()) + ", not to the one in " + dataDir + " ("
                        + Long.toUnsignedString(systemId) + ")");
            }
            String damaged = segmentHeaderProblem(name, page, n, size);
            if (damaged != null) {
                throw new DrException(
                        DrException.ErrorCode.TARGET,
                        name + " is not archived: " + damaged + ". Nothing after it is archived until it is (pg_wal "
                                + "grows meanwhile): look at the file (pg_waldump " + name + ") and the disk, as a "
                                + "segment is written whole before it is marked ready; once the cause is fixed, take "
                                + "a new base backup");
            }
        }
        // a writer storing the same file at this moment (a base backup storing missing WAL, a
        // parallel push) holds the archive's claim on it: the put waits for it and compares
        try {
            return put(systemId, name, file);
        } catch (ObjectExistsException e) {
            if (!PARTIAL.matcher(name).matches() || !setAsideStreamed(systemId, name, size)) {
                throw e;
            }
            return put(systemId, name, file);
        }
    }

    private FileArchive.PutResult put(long systemId, String name, Path file) throws IOException {
        try (InputStream in = Files.newInputStream(file)) {
            return archive.put(path(systemId, name), in, stored -> sameBytes(stored, file));
        }
    }

    /**
     * Before this version {@code wal-stream} stored what it received of an incomplete segment
     * as {@code <segment>.partial}, the name under which a promoted standby's archiver stores
     * the old timeline's last segment file (whole, so longer). Such a stored copy is moved to
     * the streamer's own name, and the archiver's file can take its place; otherwise the
     * archiver would fail on it for good, and archive nothing after it.
     *
     * @return whether the stored {@code .partial} was the streamer's and is moved
     */
    private boolean setAsideStreamed(long systemId, String partial, long size) throws IOException {
        String stored = path(systemId, partial);
        Optional<ArtifactInfo> info = archive.info(stored);
        if (info.isEmpty() || info.get().rawSize() >= size) {
            return false;
        }
        String segment = partial.substring(0, partial.length() - ".partial".length());
        String streamed = path(systemId, streamedName(segment));
        Optional<ArtifactInfo> kept = archive.info(streamed);
        if (kept.isEmpty() || kept.get().rawSize() < info.get().rawSize()) {
            // the longer copy is kept under the streamer's name
            try (InputStream in = archive.open(stored).orElseThrow()) {
                if (kept.isPresent()) {
                    archive.delete(streamed);
                }
                archive.put(streamed, in, other -> false);
            } catch (ObjectExistsException raced) {
                // another push or the streamer stored a copy meanwhile: good only if not shorter
                Optional<ArtifactInfo> theirs = archive.info(streamed);
                if (theirs.isEmpty() || theirs.get().rawSize() < info.get().rawSize()) {
                    return false;
                }
            } catch (DrException e) {
                if (e.code() != DrException.ErrorCode.DECRYPTION) {
                    throw e;
                }
                throw new DrException(
                        DrException.ErrorCode.DECRYPTION,
                        partial + " is not archived: the repository holds what an earlier wal-stream received of "
                                + segment + " (" + info.get().rawSize() + " bytes) under that name, encrypted, and "
                                + "moving it to " + streamedName(segment) + " needs the secret key. Push this file "
                                + "once with the secret key (setting 'secret-key' or 'passphrase-file'); until then "
                                + "nothing after it is archived",
                        e);
            }
        }
        // only the copy measured above: another push may have stored the archiver's meanwhile
        Optional<ArtifactInfo> now = archive.info(stored);
        if (now.isPresent() && now.get().sha256().equals(info.get().sha256())) {
            archive.delete(stored);
        }
        LOG.info(
                "{} held what wal-stream received of {} ({} bytes); kept as {} so that the archiver's {} can be "
                        + "stored",
                partial,
                segment,
                info.get().rawSize(),
                streamedName(segment),
                partial);
        return true;
    }

    /** Whether the stored bytes (read to the end) equal the file's, compared in chunks. */
    static boolean sameBytes(InputStream stored, Path file) throws IOException {
        try (InputStream local = Files.newInputStream(file)) {
            byte[] a = new byte[1 << 16];
            byte[] b = new byte[1 << 16];
            boolean same = true;
            while (true) {
                int na = stored.readNBytes(a, 0, a.length);
                int nb = local.readNBytes(b, 0, b.length);
                if (na != nb || !Arrays.equals(a, 0, na, b, 0, nb)) {
                    same = false;
                    break;
                }
                if (na == 0) {
                    break;
                }
            }
            stored.transferTo(OutputStream.nullOutputStream()); // finish the stored checksums
            return same;
        }
    }

    /**
     * Restores one WAL file for the cluster in {@code dataDir} to {@code target} (written to a
     * temporary name, synced, then renamed).
     *
     * @return false when the archive does not hold it
     */
    public boolean fetch(String name, Path target, Path dataDir) throws IOException {
        return fetch(name, target, dataDir, true);
    }

    /** {@link #fetch}, serving a streamed {@code .partial} under its segment name only when {@code orPartial}. */
    boolean fetch(String name, Path target, Path dataDir, boolean orPartial) throws IOException {
        if (!isWalFileName(name)) {
            return false; // e.g. a .history of a timeline that never existed: PostgreSQL asks anyway
        }
        long systemId = systemIdentifier(dataDir);
        boolean segment = SEGMENT.matcher(name).matches();
        Optional<InputStream> stored = archive.open(path(systemId, name));
        // the streamer's last, incomplete segment, or the one a promoted standby archived (or an
        // earlier streamer stored) as .partial: served padded, so recovery replays what it holds
        Optional<Incomplete> incomplete =
                stored.isEmpty() && segment && orPartial ? incompleteCopy(systemId, name) : Optional.empty();
        if (incomplete.isPresent()) {
            if (incomplete.get().upTo() == 0) {
                return false; // none of it is WAL of the timeline the recovery follows
            }
            stored = archive.open(path(systemId, incomplete.get().name()));
        }
        if (stored.isEmpty()) {
            return false;
        }
        String served = incomplete.map(Incomplete::name).orElse(name);
        try (InputStream in = stored.get()) {
            byte[] first = new byte[64];
            int n = in.readNBytes(first, 0, first.length);
            Optional<Long> inSegment = segmentSystemId(first, n);
            if (segment && inSegment.isPresent() && inSegment.get() != systemId) {
                throw new ConfigException("archived " + name + " names system identifier "
                        + Long.toUnsignedString(inSegment.get()) + " but the cluster being recovered is "
                        + Long.toUnsignedString(systemId) + "; refusing to replay another cluster's WAL");
            }
            long size = segmentSize(first, n).orElse(segmentSizeBigEndian(first, n));
            if (segment) {
                // what push and the prefetch refuse is not served either: PostgreSQL takes a page
                // header that does not fit (another segment's bytes under this name, a copy cut
                // short) for the end of WAL, and recovery would end there without an error
                String problem = segmentHeaderProblem(name + ".partial", first, n, Math.max(size, 0));
                if (problem == null && inSegment.isEmpty() && !longHeader(first, ByteOrder.BIG_ENDIAN)) {
                    // (a big-endian server's segments are checked without it, as push stores them)
                    problem = "its header gives no system identifier";
                }
                if (problem != null) {
                    throw new CorruptDataException("archived " + served + " is not the WAL segment " + name + ": "
                            + problem + "; recovery stops here rather than end early. Restore from another "
                            + "repository that holds the segment, or choose a recovery target before it");
                }
            }
            long upTo;
            if (incomplete.isPresent()) {
                upTo = incomplete.get().upTo();
                if (upTo > 0 && size != incomplete.get().segmentSize()) {
                    throw new CorruptDataException("archived " + served + " gives a segment size of " + size
                            + " bytes in its page header, where the other copies of the segment give "
                            + incomplete.get().segmentSize() + "; it is damaged");
                }
            } else {
                // a whole segment, cut where the followed timeline left its timeline (its header
                // gives the size; PostgreSQL refuses a segment whose header gives another)
                Optional<WalSegment> seg = segment ? WalSegment.parse(name, size) : Optional.empty();
                upTo = seg.isPresent() ? followedCut(systemId, seg.get()) : -1;
                if (upTo == 0) {
                    return false; // none of it is WAL of the timeline the recovery follows
                }
            }
            // a whole segment holds exactly the size its header gives; an incomplete copy at most that
            long whole = segment && incomplete.isEmpty() ? size : -1;
            long atMost = segment && size >= 0 ? size : Long.MAX_VALUE;
            write(in, first, n, upTo, incomplete.isPresent() || upTo > 0, size, served, target, whole, atMost);
            return true;
        }
    }

    /**
     * Writes a served copy to {@code target} (a temporary name, synced, then renamed): the
     * {@code n} bytes already read into {@code first} and the rest of {@code in}, only the first
     * {@code upTo} bytes (all when -1; the rest is read, so its checksum is checked, and left as
     * zeros), padded with zeros to the segment size {@code size} (from its header; -1 when it
     * has none) when {@code pad}. The stored copy must hold exactly {@code whole} bytes (when not
     * -1) and at most {@code atMost}, else nothing is left at {@code target}.
     */
    private static void write(
            InputStream in,
            byte[] first,
            int n,
            long upTo,
            boolean pad,
            long size,
            String served,
            Path target,
            long whole,
            long atMost)
            throws IOException {
        // a fetch killed while it wrote left a whole segment beside the target, which PostgreSQL never removes
        SideFiles.removeAbandoned(target, "a WAL fetch");
        Path tmp = SideFiles.beside(target);
        // WAL is the cluster's data in plain text: owner-only, as PostgreSQL keeps its own segments
        try (FileChannel ch = FileChannel.open(
                tmp,
                Set.of(StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE),
                PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")))) {
            OutputStream out = Channels.newOutputStream(ch);
            long stored = n;
            if (upTo >= 0) {
                out.write(first, 0, (int) Math.min(n, upTo));
                stored += new BoundedInputStream(in, Math.max(0, upTo - n)).transferTo(out);
                stored += in.transferTo(OutputStream.nullOutputStream());
            } else {
                out.write(first, 0, n);
                stored += in.transferTo(out);
            }
            out.flush();
            if (whole >= 0 && stored != whole || stored > atMost) {
                throw new CorruptDataException("archived " + served + " holds " + stored + " bytes, but its header "
                        + "gives segments of " + size + "; it is damaged, and recovery stops here rather than end "
                        + "early. Restore from another repository that holds it, or choose a recovery target "
                        + "before it");
            }
            if (pad) {
                if (size < 0) {
                    throw new CorruptDataException("archived " + served + " has no segment header");
                }
                if (ch.size() < size) {
                    ch.write(ByteBuffer.allocate(1), size - 1); // zeros up to the segment size
                }
            }
            ch.force(true);
        } catch (IOException | RuntimeException e) {
            Files.deleteIfExists(tmp);
            throw e;
        }
        Files.move(tmp, target, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    }

    /** Whether a WAL file of the cluster is archived. */
    public boolean contains(long systemId, String name) throws IOException {
        return archive.info(path(systemId, name)).isPresent();
    }

    /**
     * The incomplete copy {@link #fetch} serves for a segment: its bytes up to {@code upTo} (all
     * when -1; nothing, so not found, when 0), then zeros to {@code segmentSize} (what the
     * copies' page headers said when the choice was made).
     */
    private record Incomplete(String name, long upTo, long segmentSize) {}

    /**
     * Which incomplete copy of {@code segment} {@link #fetch} serves: the one holding more WAL.
     * The streamer's {@code .stream} holds exactly what it received. A {@code .partial} shorter
     * than a segment is an earlier streamer's, and holds all its bytes; a whole one is the
     * segment file a promoted standby archived, whose WAL ends where the next timeline's history
     * file says this timeline ended (the whole file when no history file says). Equal: the
     * {@code .partial}, where the next timeline began. When the timeline being followed branched
     * off the segment's timeline before the segment's end, only the WAL before the branch point
     * is served (from the copy holding more of it): what the old timeline wrote after it is not
     * the followed timeline's history. A damaged record or history file fails the fetch, as any
     * damage does: recovery stops, rather than ending early at a point nobody chose.
     */
    private Optional<Incomplete> incompleteCopy(long systemId, String segment) throws IOException {
        String streamed = streamedName(segment);
        String partial = segment + ".partial";
        Optional<ArtifactInfo> s = archive.info(path(systemId, streamed));
        Optional<ArtifactInfo> p = archive.info(path(systemId, partial));
        if (s.isEmpty() && p.isEmpty()) {
            return Optional.empty();
        }
        long size = segmentSize(systemId, p.isPresent() ? partial : null, s.isPresent() ? streamed : null);
        WalSegment seg = WalSegment.parse(segment, size).orElse(null);
        long streamWal = s.map(ArtifactInfo::rawSize).orElse(-1L);
        long partialWal = p.map(ArtifactInfo::rawSize).orElse(-1L);
        long upTo = -1;
        if (seg != null) {
            if (p.isPresent() && partialWal == seg.segmentSize()) {
                // a whole segment file: its WAL ends where its own timeline ended (its promotion)
                OptionalLong end = timelineEndIn(systemId, seg);
                if (end.isPresent()) {
                    partialWal = end.getAsLong() - seg.startLsn();
                }
            }
            upTo = followedCut(systemId, seg);
            if (upTo >= 0) {
                streamWal = Math.min(streamWal, upTo);
                partialWal = Math.min(partialWal, upTo);
            }
        }
        String name = streamWal > partialWal ? streamed : partial;
        return Optional.of(new Incomplete(name, upTo, size));
    }

    /**
     * The segment size the page headers of the incomplete copies give (either may be null);
     * -1 when neither has one. Copies that disagree are damage.
     */
    private long segmentSize(long systemId, String partial, String streamed) throws IOException {
        long a = partial == null ? -1 : segmentSizeOf(systemId, partial);
        long b = streamed == null ? -1 : segmentSizeOf(systemId, streamed);
        if (a > 0 && b > 0 && a != b) {
            throw new CorruptDataException("the archived copies " + partial + " and " + streamed + " give segment "
                    + "sizes of " + a + " and " + b + " bytes in their page headers; one is damaged");
        }
        return a > 0 ? a : b;
    }

    /** The segment size in the page header of an archived copy; -1 when it has none. */
    private long segmentSizeOf(long systemId, String copy) throws IOException {
        Optional<InputStream> in = archive.open(path(systemId, copy));
        if (in.isEmpty()) {
            return -1;
        }
        try (InputStream i = in.get()) {
            byte[] first = i.readNBytes(64);
            return segmentSize(first, first.length).orElse(-1L);
        }
    }

    /**
     * How many bytes of {@code segment} belong to the followed timeline's history: -1 for all of
     * them, else the offset where the followed timeline (or one it descends from) branched off
     * the segment's timeline, 0 when that was at or before the segment's start. All of them when
     * the followed timeline is the segment's own, does not descend from it, or left it after
     * this segment.
     */
    private long followedCut(long systemId, WalSegment segment) throws IOException {
        long followed = follow;
        if (followed == LATEST) { // the newest timeline with a history file, as PostgreSQL finds it
            for (long next = segment.timeline() + 1;
                    next <= segment.timeline() + 64
                            && next <= 0xFFFF_FFFFL
                            && historyOf(systemId, next).isPresent();
                    next++) {
                followed = next;
            }
        }
        Optional<String> text = followed > segment.timeline() ? historyOf(systemId, followed) : Optional.empty();
        for (TimelineSwitch sw : timelineSwitches(text.orElse(""))) {
            if (sw.parent() == segment.timeline()) {
                long end = sw.at();
                if (Long.compareUnsigned(end, segment.startLsn() + segment.segmentSize()) >= 0) {
                    return -1;
                }
                return Long.compareUnsigned(end, segment.startLsn()) <= 0 ? 0 : end - segment.startLsn();
            }
        }
        return -1;
    }

    /** A timeline's history file as archived (read once per instance), or empty when it is not. */
    Optional<String> historyOf(long systemId, long timeline) throws IOException {
        Optional<String> known = histories.get(timeline);
        if (known != null) {
            return known;
        }
        Optional<InputStream> in = archive.open(path(systemId, history(timeline)));
        Optional<String> text = Optional.empty();
        if (in.isPresent()) {
            try (InputStream i = in.get()) {
                text = Optional.of(new String(i.readNBytes(1 << 20), StandardCharsets.UTF_8));
                i.transferTo(OutputStream.nullOutputStream()); // read to its end: its checksum is checked
            }
        }
        histories.put(timeline, text);
        return text;
    }

    /** The file name of a timeline's history file. */
    static String history(long timeline) {
        return String.format(Locale.ROOT, "%08X.history", timeline);
    }

    /**
     * Where the segment's timeline ended inside it, as the history file of a later timeline
     * that branched off it there says (every later timeline's is read, up to the first missing
     * one: two may have branched off the same timeline at different points).
     */
    private OptionalLong timelineEndIn(long systemId, WalSegment segment) throws IOException {
        long start = segment.startLsn();
        for (long next = segment.timeline() + 1; next <= segment.timeline() + 64 && next <= 0xFFFF_FFFFL; next++) {
            Optional<String> text = historyOf(systemId, next);
            if (text.isEmpty()) {
                break;
            }
            for (TimelineSwitch sw : timelineSwitches(text.get())) {
                long end = sw.at();
                if (sw.parent() == segment.timeline()
                        && Long.compareUnsigned(end, start) >= 0
                        && end - start < segment.segmentSize()) {
                    return OptionalLong.of(end);
                }
            }
        }
        return OptionalLong.empty();
    }

    /** A line of a timeline history file: timeline {@code parent} ended at WAL position {@code at}. */
    record TimelineSwitch(long parent, long at) {}

    private static final Pattern HISTORY_LINE =
            Pattern.compile("([0-9]{1,10})\\s+([0-9A-Fa-f]{1,8}/[0-9A-Fa-f]{1,8})(\\s.*)?");

    /** The well-formed lines of a timeline history file, in order (comments and anything else skipped). */
    static List<TimelineSwitch> timelineSwitches(String history) {
        List<TimelineSwitch> out = new ArrayList<>();
        for (String line : history.split("\n")) {
            Matcher m = HISTORY_LINE.matcher(line.trim());
            if (m.matches()) {
                out.add(new TimelineSwitch(Long.parseLong(m.group(1)), parseLsn(m.group(2))));
            }
        }
        return out;
    }

    /** Whether an incomplete copy of {@code segment} is archived, which {@link #fetch} serves for it. */
    boolean containsIncomplete(long systemId, String segment) throws IOException {
        return contains(systemId, streamedName(segment)) || contains(systemId, segment + ".partial");
    }

    /** The segment file name holding {@code lsn} on {@code timeline}. */
    public static String segmentName(int timeline, long lsn, long segmentSize) {
        long segNo = Long.divideUnsigned(lsn, segmentSize);
        long perId = Long.divideUnsigned(0x100000000L, segmentSize);
        return String.format(
                Locale.ROOT,
                "%08X%08X%08X",
                timeline,
                Long.divideUnsigned(segNo, perId),
                Long.remainderUnsigned(segNo, perId));
    }

    /** Parses an LSN as PostgreSQL prints it ({@code 0/3000028}). */
    public static long parseLsn(String text) {
        int slash = text.indexOf('/');
        if (slash < 0) {
            throw new ConfigException("not an LSN: " + text + " (expected e.g. 0/3000028)");
        }
        return (Long.parseUnsignedLong(text.substring(0, slash), 16) << 32)
                | Long.parseUnsignedLong(text.substring(slash + 1), 16);
    }
}
