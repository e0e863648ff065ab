package dev.drkit.postgres;

import dev.drkit.BackupManifest;
import dev.drkit.Settings;
import dev.drkit.VerificationResult;
import dev.drkit.VerifyLevel;
import dev.drkit.spi.FileArchive;
import dev.drkit.spi.OptionSchema;
import dev.drkit.spi.OptionSpec;
import dev.drkit.spi.VerificationContext;
import dev.drkit.spi.Verifier;
import dev.drkit.spi.support.TargetVerifierProvider;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Pattern;

/**
 * {@code pg-wal-continuity} (level checksum) for {@code postgres} base backups: lists the WAL
 * archive and checks that every segment a restore of the backup replays is there, from the
 * backup's start along the timeline a recovery follows by default (the newest one that branched
 * off the backup's, through every switch its history file records) up to the newest segment
 * archived. A segment missing between the backup's start and stop means the backup cannot be
 * restored at all; one missing after its stop means point-in-time recovery from it ends where
 * the gap begins, and nothing else reports that until a restore needs the WAL. Segments missing
 * among the newest {@value #IN_FLIGHT} are not counted: {@code wal-push} stores a burst of WAL
 * several segments at a time, and a later segment may land before an earlier one (they are
 * listed in the details; setting {@code wal-in-flight} changes how many). Reads file names only
 * (and the history files); no WAL is read.
 */
final class WalContinuity implements Verifier {
    static final String NAME = "pg-wal-continuity";
    /**
     * Missing segments this close to the newest one archived are taken to be on their way: the
     * most files one {@code wal-push} call stores ahead of the one PostgreSQL asks for.
     */
    static final int IN_FLIGHT = WalPushBatch.DEFAULT_QUEUE_SIZE;

    private static final Pattern SEGMENT = Pattern.compile("[0-9A-F]{24}");
    /** The most timeline history files read, newest first, looking for the newest branch of the backup's timeline. */
    private static final int MAX_HISTORIES = 64;

    static final OptionSpec IN_FLIGHT_OPTION = OptionSpec.builder("wal-in-flight", OptionSpec.Type.INT)
            .defaultValue(String.valueOf(IN_FLIGHT))
            .description("missing WAL segments this close to the newest archived are taken to be on their way")
            .build();

    /** Provides {@code pg-wal-continuity} at level checksum. */
    public static final class Provider extends TargetVerifierProvider {
        public Provider() {
            super(
                    NAME,
                    VerifyLevel.CHECKSUM,
                    PostgresPhysicalTargetProvider.TYPE,
                    OptionSchema.of(IN_FLIGHT_OPTION),
                    WalContinuity::new);
        }
    }

    private final int inFlight;

    WalContinuity(Settings settings) {
        this.inFlight = Math.max(0, settings.integer(IN_FLIGHT_OPTION.name(), IN_FLIGHT));
    }

    @Override
    public String name() {
        return NAME;
    }

    /** A stretch of one timeline's WAL that a recovery along the lineage reads, by segment number, ends included. */
    private record Stretch(long timeline, long first, long last) {}

    @Override
    public VerificationResult verify(VerificationContext context) throws IOException {
        VerificationResult.Timer timer = VerificationResult.start(name());
        BackupManifest m = context.manifest();
        Map<String, Object> meta = m.metadata();
        Object sys = meta.get("systemIdentifier");
        Object start = meta.get("walStart");
        Object stop = meta.get("walStop");
        Object sizeText = meta.get("walSegmentSize");
        if (sys == null || start == null || stop == null || sizeText == null) {
            return timer.unverified("the backup records no WAL positions (walStart, walStop, walSegmentSize)");
        }
        long segmentSize;
        try {
            segmentSize = Long.parseLong(sizeText.toString());
        } catch (NumberFormatException e) {
            segmentSize = -1;
        }
        if (segmentSize <= 0
                || Long.bitCount(segmentSize) != 1
                || segmentSize > 1L << 30
                || !sys.toString().matches("[0-9]{1,20}")
                || !validSegment(start.toString(), 0x1_0000_0000L / segmentSize)
                || !validSegment(stop.toString(), 0x1_0000_0000L / segmentSize)) {
            return timer.failed("the backup records WAL positions that are not PostgreSQL's (walStart " + start
                    + ", walStop " + stop + ", walSegmentSize " + sizeText + "); it is damaged");
        }
        long perLog = 0x1_0000_0000L / segmentSize;
        long timeline = Long.parseLong(start.toString().substring(0, 8), 16);
        long firstSegment = segmentNumber(start.toString(), perLog);
        long stopSegment = segmentNumber(stop.toString(), perLog);
        FileArchive archive = context.archive(WalArchive.AREA);
        String prefix = sys + "/";

        // what is archived: per timeline, the segment numbers (a .partial or .stream copy counts)
        Map<Long, Set<Long>> present = new HashMap<>();
        Set<Long> histories = new HashSet<>();
        for (String path : archive.list(prefix)) {
            String name = path.substring(path.lastIndexOf('/') + 1);
            if (name.length() == 16 && name.endsWith(".history")) {
                try {
                    histories.add(Long.parseLong(name.substring(0, 8), 16));
                } catch (NumberFormatException ignored) {
                    // not a history file's name
                }
                continue;
            }
            String segment = name.endsWith(".partial")
                    ? name.substring(0, name.length() - ".partial".length())
                    : name.endsWith(WalArchive.STREAMED_SUFFIX)
                            ? name.substring(0, name.length() - WalArchive.STREAMED_SUFFIX.length())
                            : name;
            if (validSegment(segment, perLog)) { // a name whose segment part is out of range is no WAL
                present.computeIfAbsent(Long.parseLong(segment.substring(0, 8), 16), t -> new HashSet<>())
                        .add(segmentNumber(segment, perLog));
            }
        }
        List<Stretch> lineage = lineage(archive, prefix, timeline, firstSegment, histories, segmentSize);

        // the segments a recovery along the lineage finds, in order; the gaps are the holes between
        // them (walked over what is archived, never over the numbers between: a forged name far out
        // costs one entry, not a loop to it)
        TreeSet<Long> found = new TreeSet<>();
        for (Stretch s : lineage) {
            for (long n : present.getOrDefault(s.timeline(), Set.of())) {
                if (n >= s.first() && n <= s.last() && n >= firstSegment) {
                    found.add(n);
                }
            }
        }
        long newest = found.isEmpty() ? -1 : found.last();
        List<long[]> gaps = new ArrayList<>(); // first and last segment number of each run missing
        long expected = firstSegment;
        for (long n : found) {
            if (n > expected) {
                gaps.add(new long[] {expected, n - 1});
            }
            expected = n + 1;
        }
        if (expected <= stopSegment) {
            gaps.add(new long[] {expected, stopSegment});
        }

        List<String> problems = new ArrayList<>();
        List<String> onTheirWay = new ArrayList<>();
        for (long[] gap : gaps) {
            String which = describe(lineage, gap, perLog);
            if (gap[0] <= stopSegment) {
                problems.add("WAL " + which + (plural(gap) ? " are" : " is")
                        + " missing from the archive; the backup needs that WAL to become consistent, so it cannot "
                        + "be restored. Take a new base backup, and check what removed the WAL (the archive of system "
                        + sys + " in area " + WalArchive.AREA + ")");
            } else if (newest - gap[1] > this.inFlight) {
                problems.add("WAL " + which + (plural(gap) ? " are" : " is")
                        + " missing from the archive: point-in-time recovery from this "
                        + "backup ends at " + lsn(gap[0] * segmentSize) + ", and WAL archived after the gap cannot "
                        + "be replayed from it. Take a new base backup so that recovery covers the time after the "
                        + "gap, and check what failed to archive or removed the WAL");
            } else {
                onTheirWay.add(which);
            }
        }
        Map<String, Object> details = new LinkedHashMap<>();
        details.put("walFirst", segmentName(timelineOf(lineage, firstSegment), firstSegment, perLog));
        details.put("walNewest", newest < 0 ? "none" : segmentName(timelineOf(lineage, newest), newest, perLog));
        List<String> timelines = new ArrayList<>();
        lineage.forEach(s -> timelines.add(String.valueOf(s.timeline())));
        details.put("timelines", String.join(" > ", timelines));
        details.put(
                "segmentsMissing", gaps.stream().mapToLong(g -> g[1] - g[0] + 1).sum());
        if (!onTheirWay.isEmpty()) {
            details.put("notYetArchived", String.join("; ", onTheirWay));
        }
        return timer.result(problems, details);
    }

    /**
     * The stretches of WAL a recovery from {@code firstSegment} on {@code timeline} reads, when
     * it follows the newest timeline that branched off {@code timeline} (as
     * {@code recovery_target_timeline = 'latest'} does): each timeline of its history from the
     * backup's up to the segment where it ended (which the next one begins with).
     */
    private static List<Stretch> lineage(
            FileArchive archive, String prefix, long timeline, long firstSegment, Set<Long> histories, long segmentSize)
            throws IOException {
        long newestTimeline = timeline;
        List<WalArchive.TimelineSwitch> path = List.of();
        int read = 0;
        for (long t : new TreeSet<>(histories).descendingSet()) {
            if (t <= timeline || ++read > MAX_HISTORIES) {
                break; // a planted name cannot make it read without end
            }
            Optional<String> text =
                    read(archive, prefix + String.format(Locale.ROOT, "%08X/", t) + WalArchive.history(t));
            if (text.isEmpty()) {
                continue;
            }
            List<WalArchive.TimelineSwitch> switches = WalArchive.timelineSwitches(text.get());
            int from = -1;
            for (int i = 0; i < switches.size(); i++) {
                if (switches.get(i).parent() == timeline) {
                    from = i;
                    break;
                }
            }
            if (from >= 0) {
                newestTimeline = t;
                path = switches.subList(from, switches.size());
                break;
            }
        }
        List<Stretch> lineage = new ArrayList<>();
        long current = timeline;
        long begin = firstSegment;
        for (int i = 0; i < path.size(); i++) {
            long endSegment = Long.divideUnsigned(path.get(i).at(), segmentSize);
            lineage.add(new Stretch(current, begin, Math.max(begin, endSegment)));
            current = i + 1 < path.size() ? path.get(i + 1).parent() : newestTimeline;
            begin = Math.max(begin, endSegment);
        }
        lineage.add(new Stretch(current, begin, Long.MAX_VALUE));
        return lineage;
    }

    private static Optional<String> read(FileArchive archive, String path) throws IOException {
        Optional<InputStream> in = archive.open(path);
        if (in.isEmpty()) {
            return Optional.empty();
        }
        try (InputStream s = in.get()) {
            return Optional.of(new String(s.readNBytes(1 << 20), StandardCharsets.UTF_8));
        }
    }

    /** The timeline of the lineage a recovery reads segment {@code n} from: the newest whose stretch holds it. */
    private static long timelineOf(List<Stretch> lineage, long n) {
        long timeline = lineage.get(0).timeline();
        for (Stretch s : lineage) {
            if (n >= s.first() && n <= s.last()) {
                timeline = s.timeline();
            }
        }
        return timeline;
    }

    private static String describe(List<Stretch> lineage, long[] gap, long perLog) {
        String first = segmentName(timelineOf(lineage, gap[0]), gap[0], perLog);
        if (gap[0] == gap[1]) {
            return "segment " + first;
        }
        return "segments " + first + " to " + segmentName(timelineOf(lineage, gap[1]), gap[1], perLog) + " ("
                + (gap[1] - gap[0] + 1) + ")";
    }

    /** A segment file name whose number within its log file is below the segments per log file. */
    private static boolean validSegment(String name, long perLog) {
        return SEGMENT.matcher(name).matches() && Long.parseLong(name.substring(16, 24), 16) < perLog;
    }

    private static boolean plural(long[] gap) {
        return gap[1] != gap[0];
    }

    static long segmentNumber(String name, long perLog) {
        return Long.parseLong(name.substring(8, 16), 16) * perLog + Long.parseLong(name.substring(16, 24), 16);
    }

    static String segmentName(long timeline, long n, long perLog) {
        return String.format(Locale.ROOT, "%08X%08X%08X", timeline, n / perLog, n % perLog);
    }

    private static String lsn(long position) {
        return String.format(Locale.ROOT, "%X/%X", position >>> 32, position & 0xFFFF_FFFFL);
    }
}
