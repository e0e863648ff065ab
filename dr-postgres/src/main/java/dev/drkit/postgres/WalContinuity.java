package dev.drkit.postgres;

import dev.drkit.BackupManifest;
import dev.drkit.CorruptDataException;
import dev.drkit.Settings;
import dev.drkit.VerificationResult;
import dev.drkit.VerifyLevel;
import dev.drkit.spi.FileArchive;
import dev.drkit.spi.OptionSchema;
import dev.drkit.spi.OptionSpec;
import dev.drkit.spi.VerificationContext;
import dev.drkit.spi.Verifier;
import dev.drkit.spi.support.TarEntryReader;
import dev.drkit.spi.support.TargetVerifierProvider;
import java.io.IOException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ConcurrentSkipListMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code pg-wal-continuity} (level checksum) for {@code postgres} base backups: lists the WAL
 * archive and checks that every segment a restore of the backup replays is there, from the
 * backup's start along the timeline a recovery follows by default up to the newest segment
 * archived. That timeline is found as PostgreSQL finds it for {@code recovery_target_timeline =
 * 'latest'}: the history files of the timelines after the backup's, one number at a time up to
 * the first one missing; the newest must descend from the backup's timeline, branched off it
 * after the backup's start, or a restore fails, which is reported by name. Along it, each
 * timeline's WAL is read up to the segment where the next one branched off, which is read from
 * the next one (its copy holds the records after the switch); an incomplete copy ({@code
 * .partial}, {@code .stream}) counts only as the very newest segment, since recovery ends inside
 * it. A segment missing between the backup's start and stop means the backup cannot be restored
 * at all; one missing after its stop means point-in-time recovery from it ends where the gap
 * begins, and nothing else reports that until a restore needs the WAL. When a later base backup
 * of the same system starts after the gap, on the timeline a recovery follows, the time after the
 * gap is recovered from that one: the backup passes, and where its recovery ends is in the
 * details ({@code pointInTimeRecoveryEndsAt}) and logged, since the time in the gap is lost;
 * otherwise every backup before a gap would fail until retention removed it. Segments missing among
 * the newest {@value #IN_FLIGHT} are not counted: {@code wal-push} stores a burst of WAL several
 * segments at a time, and a later segment may land before an earlier one (they are listed in the
 * details; setting {@code wal-in-flight} changes how many). Reads file names and history files,
 * and the records of the WAL from the backup's start to its stop (damaged, or unsigned where keys
 * are trusted, they fail it: a restore would refuse them) and on to where the next base backup
 * starts (such a record after the stop counts as missing: recovery ends there); no WAL is read.
 */
final class WalContinuity implements Verifier {
    private static final Logger LOG = LoggerFactory.getLogger(WalContinuity.class);
    static final String NAME = "pg-wal-continuity";
    /**
     * Missing segments this close to the newest one archived are taken to be on their way: the
     * most files one {@code wal-push} call stores ahead of the one PostgreSQL asks for, by default.
     */
    static final int IN_FLIGHT = WalPushBatch.DEFAULT_QUEUE_SIZE;

    /** The most timelines after the backup's looked for, as drkit's own WAL fetch does. */
    private static final int MAX_TIMELINES = 64;
    /** The most gaps described one by one; the rest are counted. */
    private static final int MAX_GAPS_NAMED = 10;
    /** Records of the backup's own WAL read at once. */
    private static final int RECORD_READERS = 8;

    static final OptionSpec IN_FLIGHT_OPTION = OptionSpec.builder("wal-in-flight", OptionSpec.Type.INT)
            .defaultValue(String.valueOf(IN_FLIGHT))
            .description("missing WAL segments this close to the newest archived are taken to be on their way")
            .build();

    /** The form of a system identifier in the metadata: a number without leading zeros. */
    private static final String SYSTEM_ID = "[1-9][0-9]{0,19}";

    /**
     * The WAL positions a base backup records in its metadata ({@code systemIdentifier},
     * {@code walStart}, {@code walStop}, {@code walSegmentSize}, {@code startLsn}, {@code
     * stopLsn}), parsed: the timeline and segment its WAL starts in, and the last segment it needs
     * to become consistent (the one holding the byte before its stop: a stop on a segment's first
     * byte names that segment, which the backup does not need and may wait long for). The LSN
     * of the start is -1 when none is recorded.
     */
    private record Positions(
            long systemId, long segmentSize, long timeline, long firstSegment, long stopSegment, long startLsn) {
        /** Empty when the metadata records none of them, or one that is not PostgreSQL's. */
        static Optional<Positions> of(Map<String, Object> meta) {
            Object sys = meta.get("systemIdentifier");
            Object start = meta.get("walStart");
            Object stop = meta.get("walStop");
            Object size = meta.get("walSegmentSize");
            if (sys == null
                    || start == null
                    || stop == null
                    || size == null
                    || !sys.toString().matches(SYSTEM_ID)) {
                return Optional.empty();
            }
            long segmentSize = parse(size.toString());
            Optional<WalSegment> first = WalSegment.parse(start.toString(), segmentSize);
            Optional<WalSegment> last = WalSegment.parse(stop.toString(), segmentSize);
            long systemId;
            try {
                systemId = Long.parseUnsignedLong(sys.toString());
            } catch (NumberFormatException e) {
                return Optional.empty();
            }
            if (first.isEmpty() || last.isEmpty()) {
                return Optional.empty();
            }
            long firstSegment = first.get().number();
            long stopLsn = lsnOrMinus(meta.get("stopLsn"));
            long stopSegment = stopLsn > 0
                    ? Math.max(firstSegment, Long.divideUnsigned(stopLsn - 1, segmentSize))
                    : last.get().number();
            return Optional.of(new Positions(
                    systemId,
                    segmentSize,
                    first.get().timeline(),
                    firstSegment,
                    stopSegment,
                    lsnOrMinus(meta.get("startLsn"))));
        }
    }

    /**
     * A file of the WAL archive by its name: the segment it holds, and whether it is an
     * incomplete copy ({@code .partial}, {@code .stream}) of it.
     */
    private record Listed(String name, WalSegment segment, boolean incomplete) {
        /** Empty for a file that holds no segment of this size (a history file, a name out of range). */
        static Optional<Listed> of(String path, long segmentSize) {
            String name = path.substring(path.lastIndexOf('/') + 1);
            boolean incomplete = name.endsWith(".partial") || name.endsWith(WalArchive.STREAMED_SUFFIX);
            return WalSegment.parse(incomplete ? name.substring(0, name.lastIndexOf('.')) : name, segmentSize)
                    .map(seg -> new Listed(name, seg, incomplete));
        }
    }

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

    /** The stretches a recovery reads, or why it cannot follow the newest timeline from this backup. */
    private record Lineage(List<Stretch> stretches, String problem) {}

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
        Optional<Positions> parsed = Positions.of(meta);
        if (parsed.isEmpty()) {
            long size = parse(sizeText.toString());
            boolean inForm = sys.toString().matches(SYSTEM_ID)
                    && WalSegment.parse(start.toString(), size).isPresent()
                    && WalSegment.parse(stop.toString(), size).isPresent();
            return timer.failed(
                    inForm // then only the number is out of range
                            ? "the backup records a system identifier that is none (" + shown(sys) + "); it is damaged"
                            : "the backup records WAL positions that are not PostgreSQL's (walStart " + shown(start)
                                    + ", walStop " + shown(stop) + ", walSegmentSize " + shown(sizeText)
                                    + ", systemIdentifier " + shown(sys) + "); it is damaged");
        }
        Positions at = parsed.get();
        long systemId = at.systemId();
        long segmentSize = at.segmentSize();
        long firstSegment = at.firstSegment();
        long stopSegment = at.stopSegment();
        Archived archived = archived(context.archive(WalArchive.AREA), at);
        Lineage lineage = archived.lineage();
        Map<String, Object> details = new LinkedHashMap<>();
        List<String> timelines = new ArrayList<>();
        lineage.stretches().forEach(st -> timelines.add(String.valueOf(st.timeline())));
        details.put("timelines", String.join(" > ", timelines));
        if (lineage.problem() != null) {
            return timer.result(List.of(lineage.problem()), details);
        }
        TreeSet<Long> found = archived.found();
        long newest = found.isEmpty() ? firstSegment - 1 : found.last();
        boolean endsIncomplete = archived.endsIncomplete();
        List<Start> laterStarts = newest > stopSegment ? laterStarts(context, m, at) : List.of();
        List<String> problems = new ArrayList<>();
        boolean ownWalWhole =
                found.subSet(firstSegment, true, stopSegment, true).size() == stopSegment - firstSegment + 1;
        if (ownWalWhole) {
            List<String> names = new ArrayList<>();
            for (long n : found.subSet(firstSegment, true, stopSegment, true)) {
                names.add(archived.fileName(n, segmentSize));
            }
            problems.addAll(ownRecordProblems(context.archive(WalArchive.AREA), systemId, names));
            details.put("walRecordsRead", names.size());
        }
        // read on only where the backup can be restored at all
        AfterStop afterStop = ownWalWhole && problems.isEmpty()
                ? afterStop(context.archive(WalArchive.AREA), archived, at, laterStarts)
                : AfterStop.none();
        // as if missing: a restore refuses such a record when it reaches it, and recovery ends there
        found.removeAll(afterStop.distrusted().keySet());
        details.put("walRecordsAfterStopRead", afterStop.read());
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
        if (!afterStop.distrusted().isEmpty() && afterStop.distrusted().lastKey() >= expected) {
            // the newest segments archived cannot be used: recovery ends after the last that can
            gaps.add(new long[] {Math.max(expected, stopSegment + 1), newest});
        }

        String coveredGap = null;
        List<String> onTheirWay = new ArrayList<>();
        long missing = 0;
        int unnamed = 0;
        for (long[] gap : gaps) {
            missing += gap[1] - gap[0] + 1;
            String which = describe(lineage.stretches(), gap, segmentSize);
            String why = afterStop.reason(gap);
            String gone = why == null
                    ? (plural(gap) ? " are" : " is") + " missing from the archive"
                    : (afterStop.all(gap) ? "" : (plural(gap) ? " are" : " is") + " missing from the archive or")
                            + " cannot be used (" + why + ")";
            String problem = null;
            if (gap[0] <= stopSegment) {
                problem =
                        "WAL " + which + (plural(gap) ? " are" : " is") + " missing from the archive; the backup needs "
                                + "that WAL to become consistent, so it cannot be restored. Take a new base backup, and check "
                                + "what removed the WAL (the archive of system " + systemId + " in area "
                                + WalArchive.AREA + ")";
            } else if (newest - gap[1] > inFlight || why != null) { // a record that is there is not on its way
                Start after = coveringStart(laterStarts, lineage.stretches(), found, gap[1]);
                if (after != null) {
                    // a later base backup starts past the gap: recovery to the time after it starts
                    // there, and this backup is whole for the time before; the first such gap says
                    // where recovery from this backup ends
                    if (coveredGap == null) {
                        coveredGap = PageVerification.lsn(gap[0] * segmentSize) + " (WAL " + which
                                + (why == null ? " missing" : " missing or not to be used") + "; backup "
                                + after.id() + " covers the time after it)";
                        LOG.warn(
                                "{}/{}: WAL {}{}: point-in-time recovery from this backup ends at {}; the later "
                                        + "backup {} starts after the gap, so the time between cannot be recovered",
                                m.target(),
                                m.id(),
                                which,
                                gone,
                                PageVerification.lsn(gap[0] * segmentSize),
                                after.id());
                    }
                    continue;
                }
                problem = "WAL " + which + gone + ": point-in-time recovery from this backup ends at "
                        + PageVerification.lsn(gap[0] * segmentSize)
                        + ", and WAL archived after the gap cannot be replayed from it. Take a new base backup so "
                        + "that recovery covers the time after the gap (no base backup of this system starts after "
                        + "it), and check what failed to archive or removed the WAL"
                        + (why == null ? "" : ", or wrote that record")
                        + " (a gap among the newest " + inFlight + " segments is taken to be on its way: "
                        + "setting wal-in-flight)";
            } else {
                onTheirWay.add(which);
            }
            if (problem != null) {
                if (problems.size() < MAX_GAPS_NAMED) {
                    problems.add(problem);
                } else {
                    unnamed++;
                }
            }
        }
        if (unnamed > 0) {
            problems.add(
                    unnamed + " more gaps in the WAL archive after these (" + missing + " segments missing in all)");
        }
        details.put("walFirst", name(lineage.stretches(), firstSegment, segmentSize));
        // the newest a recovery can use: an incomplete copy only if that one can be used
        endsIncomplete = endsIncomplete && !afterStop.distrusted().containsKey(newest);
        newest = found.isEmpty() ? firstSegment - 1 : found.last();
        details.put(
                "walNewest",
                newest < firstSegment
                        ? "none"
                        : name(lineage.stretches(), newest, segmentSize) + (endsIncomplete ? " (incomplete)" : ""));
        details.put("segmentsMissing", missing);
        if (coveredGap != null) {
            details.put("pointInTimeRecoveryEndsAt", coveredGap);
        }
        if (!onTheirWay.isEmpty()) {
            details.put(
                    "notYetArchived",
                    String.join("; ", onTheirWay.subList(0, Math.min(MAX_GAPS_NAMED, onTheirWay.size()))));
        }
        return timer.result(problems, details);
    }

    /** The problems of the records of the backup's own WAL ({@code names}): one each, up to a count. */
    private static List<String> ownRecordProblems(FileArchive archive, long systemId, List<String> names)
            throws IOException {
        List<String> untrusted =
                new ArrayList<>(untrustedRecords(archive, systemId, names).values());
        List<String> problems = new ArrayList<>();
        for (String why : untrusted.subList(0, Math.min(MAX_GAPS_NAMED, untrusted.size()))) {
            problems.add(why + "; the backup needs that WAL to become consistent, so it cannot be restored. Take a "
                    + "new base backup, and find out what wrote that record (the archive of system " + systemId
                    + " in area " + WalArchive.AREA + ")");
        }
        if (untrusted.size() > MAX_GAPS_NAMED) {
            problems.add((untrusted.size() - MAX_GAPS_NAMED) + " more records of the backup's own WAL that cannot "
                    + "be trusted");
        }
        return problems;
    }

    /**
     * What the records of the WAL after a backup's stop say: the segments whose record cannot be
     * believed, by number, with why, and how many records were read.
     */
    private record AfterStop(TreeMap<Long, String> distrusted, int read) {
        /** Nothing read. */
        static AfterStop none() {
            return new AfterStop(new TreeMap<>(), 0);
        }

        /** Why the first segment of {@code gap} that was archived cannot be believed, or null. */
        String reason(long[] gap) {
            Map.Entry<Long, String> first = distrusted.ceilingEntry(gap[0]);
            return first == null || first.getKey() > gap[1] ? null : first.getValue();
        }

        /** Whether every segment of {@code gap} was archived but cannot be believed. */
        boolean all(long[] gap) {
            return distrusted.subMap(gap[0], true, gap[1], true).size() == gap[1] - gap[0] + 1;
        }
    }

    /**
     * Reads the records of the WAL archived after the backup's stop, up to where the next base
     * backup on the lineage starts (that backup's own verification reads on from there, so each
     * record is read by one backup's check, not by all older ones), and says which cannot be
     * believed. Point-in-time recovery from the backup replays them: one planted under the name of
     * a lost segment would bridge the gap by name while a restore refuses it there.
     */
    private static AfterStop afterStop(FileArchive archive, Archived archived, Positions at, List<Start> laterStarts)
            throws IOException {
        TreeSet<Long> found = archived.found();
        List<Stretch> stretches = archived.lineage().stretches();
        long until = found.isEmpty() ? at.stopSegment() : found.last();
        // only a later backup whose own WAL is archived reads on from its start (its check reads
        // its records; one missing some cannot be restored, and its check reads none)
        Start next = coveringStart(laterStarts, stretches, found, at.stopSegment());
        if (next != null) {
            until = Math.min(until, next.segment() - 1);
        }
        if (until <= at.stopSegment()) {
            return AfterStop.none();
        }
        Map<String, Long> numbers = new LinkedHashMap<>();
        for (long n : found.subSet(at.stopSegment() + 1, true, until, true)) {
            numbers.put(archived.fileName(n, at.segmentSize()), n);
        }
        TreeMap<Long, String> distrusted = new TreeMap<>();
        untrustedRecords(archive, at.systemId(), new ArrayList<>(numbers.keySet()))
                .forEach((name, why) -> distrusted.put(numbers.get(name), why));
        return new AfterStop(distrusted, numbers.size());
    }

    /**
     * Reads the records of archived WAL ({@code names}) a few at a time, and says which cannot be
     * believed, by name: damaged, gone, or, where keys are trusted, not signed by one of them. A
     * name alone is no proof: anyone who can write the repository can add a record under a missing
     * segment's name, and a restore would then fail where this check passed.
     */
    private static Map<String, String> untrustedRecords(FileArchive archive, long systemId, List<String> names)
            throws IOException {
        ConcurrentLinkedQueue<String> todo = new ConcurrentLinkedQueue<>(names);
        Map<String, String> untrusted = new ConcurrentSkipListMap<>();
        List<ParallelIo.IoTask> readers = new ArrayList<>();
        for (int i = 0; i < Math.min(RECORD_READERS, names.size()); i++) {
            readers.add(() -> {
                for (String name; (name = todo.poll()) != null; ) {
                    try {
                        if (archive.info(WalArchive.path(systemId, name)).isEmpty()) {
                            untrusted.put(
                                    name, "WAL segment " + name + " was removed from the archive while it was read");
                        }
                    } catch (CorruptDataException e) {
                        untrusted.put(
                                name, "the record of WAL segment " + name + " cannot be trusted: " + e.getMessage());
                    } catch (IOException | RuntimeException e) {
                        todo.clear(); // the storage failed: the other readers stop too
                        throw e;
                    }
                }
            });
        }
        if (!readers.isEmpty()) {
            ParallelIo.runAll("drkit-pg-wal-records", readers, "reading the records of the backup's WAL");
        }
        return untrusted;
    }

    /**
     * What a recovery along the lineage finds archived: the segments by number, in order (an
     * incomplete copy only as the newest), and the file name of that incomplete copy, or null.
     */
    private record Archived(Lineage lineage, TreeSet<Long> found, String incompleteName) {
        boolean endsIncomplete() {
            return incompleteName != null;
        }

        /** The file name segment {@code n} is archived under: the incomplete copy's for the newest, if it is one. */
        String fileName(long n, long segmentSize) {
            return endsIncomplete() && n == found.last() ? incompleteName : name(lineage.stretches(), n, segmentSize);
        }
    }

    /** Lists the archive of the backup's system once and finds what a recovery from its start reads. */
    private static Archived archived(FileArchive archive, Positions at) throws IOException {
        long segmentSize = at.segmentSize();
        long firstSegment = at.firstSegment();
        // what is archived: per timeline, the complete segments and the incomplete copies
        Map<Long, TreeSet<Long>> complete = new HashMap<>();
        Map<String, String> incomplete = new HashMap<>(); // segment name to the copy's file name
        for (String path : archive.list(Long.toUnsignedString(at.systemId()) + "/")) {
            Optional<Listed> listed = Listed.of(path, segmentSize);
            if (listed.isPresent() && listed.get().incomplete()) {
                incomplete.putIfAbsent(
                        listed.get().segment().name(), listed.get().name());
            } else if (listed.isPresent()) {
                complete.computeIfAbsent(listed.get().segment().timeline(), t -> new TreeSet<>())
                        .add(listed.get().segment().number());
            }
        }
        Lineage lineage = lineage(new WalArchive(archive), at);
        // the segments a recovery along the lineage finds, in order; the gaps are the holes between
        // them (walked over what is archived, never over the numbers between: a forged name far out
        // costs one entry, not a loop to it)
        TreeSet<Long> found = new TreeSet<>();
        for (Stretch st : lineage.stretches()) {
            found.addAll(
                    complete.getOrDefault(st.timeline(), new TreeSet<>()).subSet(st.first(), true, st.last(), true));
        }
        long newest = found.isEmpty() ? firstSegment - 1 : found.last();
        // an incomplete copy right after the newest complete segment ends the WAL there: recovery ends inside it
        Stretch tail = stretchOf(lineage.stretches(), newest + 1);
        String incompleteName =
                tail == null ? null : incomplete.get(new WalSegment(tail.timeline(), newest + 1, segmentSize).name());
        if (incompleteName != null) {
            found.add(newest + 1);
        }
        return new Archived(lineage, found, incompleteName);
    }

    /**
     * Why a recovery of the backup {@code meta} describes that follows the newest timeline in the
     * archive ({@code recovery_target_timeline = 'latest'}) fails, if it does: the newest
     * timeline does not descend from the backup's, or left it before the backup started. Empty
     * when it can work, or the backup records no WAL positions.
     */
    static Optional<String> latestTimelineProblem(FileArchive archive, Map<String, Object> meta) throws IOException {
        Optional<Positions> at = Positions.of(meta);
        if (at.isEmpty()) {
            return Optional.empty();
        }
        return Optional.ofNullable(lineage(new WalArchive(archive), at.get()).problem());
    }

    /**
     * How far a restore of {@code m} can reach through the WAL archive: when the WAL from its start
     * is archived without a gap up to past its stop, the time the last segment of that run (or the
     * incomplete copy that ends it) was stored ({@link FileArchive#storedAt}: in a repository
     * filled by a copy, when it was stored in the one copied from). That is when the segment was
     * archived from the server unless archiving lagged. Empty when the backup records no WAL
     * positions, its WAL has a gap before its stop, or no default recovery can follow the newest
     * timeline from it (its verification says why). The run is read by name (status asks every
     * minute; the verification, which status counts, reads every record of it); the last
     * segment's record is read too, so that where keys are trusted an unsigned one ends nothing. The archive is listed one log file at a time from the backup's start.
     */
    static Optional<Instant> recoveryPoint(BackupManifest m, FileArchive archive) throws IOException {
        Optional<Positions> parsed = Positions.of(m.metadata());
        if (parsed.isEmpty()) {
            return Optional.empty();
        }
        Positions at = parsed.get();
        long systemId = at.systemId();
        long segmentSize = at.segmentSize();
        Lineage lineage = lineage(new WalArchive(archive), at);
        if (lineage.problem() != null) {
            return Optional.empty();
        }
        // the run from the start without a gap, read one log file (4 GiB of WAL) at a time: status
        // asks every minute, and the archive of a long retention holds months of segments
        long perLog = 0x1_0000_0000L / segmentSize;
        long end = at.firstSegment() - 1; // the last segment of the run
        List<String> incompleteEnd = List.of(); // the incomplete copies that end it, if any do
        Map<Long, Listing> listings = new HashMap<>();
        runs:
        for (Stretch st : lineage.stretches()) {
            Listing listing = listings.computeIfAbsent(
                    st.timeline(), t -> new Listing(archive, systemId, t, perLog, segmentSize));
            while (end < st.last()) {
                long log = (end + 1) / perLog;
                listing.read(log);
                while (end < st.last() && listing.complete.contains(end + 1)) {
                    end++;
                }
                if (end < st.last() && (listing.whole || (end + 1) / perLog == log)) {
                    // a gap ends the run; an incomplete copy in it counts only as the newest WAL read, as
                    // for the verification (recovery ends inside it)
                    if (listing.complete.higher(end + 1) == null) {
                        incompleteEnd = listing.incomplete.getOrDefault(end + 1, List.of());
                    }
                    break runs;
                }
            }
        }
        if (end < at.stopSegment()) {
            return Optional.empty();
        }
        if (!incompleteEnd.isEmpty()) {
            // a .partial and a .stream of one segment: the one stored last holds the newest WAL
            Optional<Instant> newest = Optional.empty();
            for (String copy : incompleteEnd) {
                Optional<Instant> stored = archive.storedAt(WalArchive.path(systemId, copy));
                if (stored.isPresent() && (newest.isEmpty() || stored.get().isAfter(newest.get()))) {
                    newest = stored;
                }
            }
            return newest;
        }
        return archive.storedAt(WalArchive.path(systemId, name(lineage.stretches(), end, segmentSize)));
    }

    /**
     * The segments of one timeline archived, read a log file at a time as the run asks for them;
     * after {@value #LOG_LISTINGS} log files the timeline's whole directory is read once instead (a
     * file system storage reads the directory for each listing, whatever the prefix).
     */
    private static final class Listing {
        private final FileArchive archive;
        private final String directory;
        private final long timeline;
        private final long perLog;
        private final long segmentSize;
        private int reads;
        boolean whole;
        final TreeSet<Long> complete = new TreeSet<>();
        final Map<Long, List<String>> incomplete = new HashMap<>();

        Listing(FileArchive archive, long systemId, long timeline, long perLog, long segmentSize) {
            this.archive = archive;
            this.timeline = timeline;
            this.perLog = perLog;
            this.segmentSize = segmentSize;
            this.directory = Long.toUnsignedString(systemId) + "/"
                    + new WalSegment(timeline, 0, segmentSize).name().substring(0, 8) + "/";
        }

        void read(long log) throws IOException {
            if (whole) {
                return;
            }
            if (++reads > LOG_LISTINGS) {
                whole = true;
                complete.clear();
                incomplete.clear();
                add(archive.list(directory));
            } else {
                add(archive.list(directory
                        + new WalSegment(timeline, log * perLog, segmentSize)
                                .name()
                                .substring(0, 16)));
            }
        }

        private void add(List<String> paths) {
            for (String path : paths) {
                Optional<Listed> listed = Listed.of(path, segmentSize);
                if (listed.isEmpty() || listed.get().segment().timeline() != timeline) {
                    continue;
                }
                if (listed.get().incomplete()) {
                    incomplete
                            .computeIfAbsent(listed.get().segment().number(), n -> new ArrayList<>())
                            .add(listed.get().name());
                } else {
                    complete.add(listed.get().segment().number());
                }
            }
        }
    }

    /** Log files listed one by one before a timeline's whole directory is. */
    private static final int LOG_LISTINGS = 4;

    /**
     * Where a base backup of the same system starts: the segment its WAL begins in, on its
     * timeline, and the last segment it needs to become consistent.
     */
    private record Start(String id, long timeline, long segment, long stop) {}

    /**
     * Where the other backups of the target, of the same system and segment size, start; those
     * whose positions do not parse are left out (their own verification reports them).
     */
    private static List<Start> laterStarts(VerificationContext context, BackupManifest verified, Positions of)
            throws IOException {
        List<Start> out = new ArrayList<>();
        for (BackupManifest b : context.backupsOfTarget()) {
            if (b.id().equals(verified.id())) {
                continue;
            }
            Positions.of(b.metadata())
                    .filter(p -> p.systemId() == of.systemId() && p.segmentSize() == of.segmentSize())
                    .ifPresent(p -> out.add(new Start(b.id(), p.timeline(), p.firstSegment(), p.stopSegment())));
        }
        return out;
    }

    /**
     * The earliest of {@code starts} after segment {@code gapEnd} on the lineage a recovery from
     * the verified backup follows (a base backup on another branch covers nothing of it), whose
     * own WAL up to its stop is among {@code found} (one that cannot be restored covers nothing),
     * or null.
     */
    private static Start coveringStart(List<Start> starts, List<Stretch> stretches, TreeSet<Long> found, long gapEnd) {
        Start best = null;
        for (Start s : starts) {
            Stretch on = stretchOf(stretches, s.segment());
            if (s.segment() > gapEnd
                    && on != null
                    && on.timeline() == s.timeline()
                    && s.stop() >= s.segment()
                    && s.stop() - s.segment() < 1_000_000 // a forged stop far out: no walk to it
                    && found.subSet(s.segment(), true, s.stop(), true).size() == s.stop() - s.segment() + 1
                    && (best == null || s.segment() < best.segment())) {
                best = s;
            }
        }
        return best;
    }

    /**
     * The stretches of WAL a recovery from the backup's first segment, on its timeline, reads along
     * the newest timeline, found as PostgreSQL finds it: each timeline of its history from the
     * backup's up to the segment before the one where the next branched off, the newest from
     * there on. A history file PostgreSQL would refuse (timelines not increasing, or not below
     * its own), a newest timeline that does not descend from the backup's, or one that left it
     * before the backup started, makes a {@link Lineage#problem}.
     */
    private static Lineage lineage(WalArchive wal, Positions at) throws IOException {
        long systemId = at.systemId();
        long timeline = at.timeline();
        long firstSegment = at.firstSegment();
        long startLsn = at.startLsn();
        long segmentSize = at.segmentSize();
        long newest = timeline;
        for (long next = timeline + 1;
                next <= timeline + MAX_TIMELINES
                        && next <= 0xFFFF_FFFFL
                        && wal.historyOf(systemId, next).isPresent();
                next++) {
            newest = next;
        }
        List<Stretch> stretches = new ArrayList<>();
        if (newest == timeline) {
            stretches.add(new Stretch(timeline, firstSegment, Long.MAX_VALUE));
            return new Lineage(stretches, null);
        }
        String file = WalArchive.history(newest);
        List<WalArchive.TimelineSwitch> switches =
                WalArchive.timelineSwitches(wal.historyOf(systemId, newest).orElse(""));
        long previous = 0;
        int from = -1;
        for (int i = 0; i < switches.size(); i++) {
            long parent = switches.get(i).parent();
            if (parent <= previous || parent >= newest) {
                stretches.add(new Stretch(timeline, firstSegment, Long.MAX_VALUE));
                return new Lineage(
                        stretches,
                        "the timeline history file " + file + " in the WAL archive is damaged "
                                + "(its timelines do not increase up to " + newest
                                + "): a recovery that follows the newest "
                                + "timeline fails; restore with setting 'target-timeline' current, and check the file");
            }
            previous = parent;
            if (parent == timeline && from < 0) {
                from = i;
            }
        }
        String why = null;
        if (from < 0) {
            why = "timeline " + newest + ", the newest in the WAL archive, does not descend from the backup's timeline "
                    + timeline;
        } else if (startLsn >= 0 && Long.compareUnsigned(switches.get(from).at(), startLsn) < 0) {
            why = "timeline " + newest + ", the newest in the WAL archive, left the backup's timeline " + timeline
                    + " at " + PageVerification.lsn(switches.get(from).at()) + ", before the backup started ("
                    + PageVerification.lsn(startLsn) + ")";
        }
        if (why != null) {
            stretches.add(new Stretch(timeline, firstSegment, Long.MAX_VALUE));
            return new Lineage(
                    stretches,
                    why + ": a restore that follows the newest timeline (the default) fails. "
                            + "Restore this backup with setting 'target-timeline' current (or the number of a timeline that "
                            + "descends from it), or restore a backup of timeline " + newest);
        }
        long current = timeline;
        long begin = firstSegment;
        for (int i = from; i < switches.size(); i++) {
            long branch = Long.divideUnsigned(switches.get(i).at(), segmentSize); // read from the next timeline
            if (branch > begin) {
                stretches.add(new Stretch(current, begin, branch - 1));
                begin = branch;
            }
            current = i + 1 < switches.size() ? switches.get(i + 1).parent() : newest;
        }
        stretches.add(new Stretch(current, begin, Long.MAX_VALUE));
        return new Lineage(stretches, null);
    }

    private static Stretch stretchOf(List<Stretch> stretches, long n) {
        for (Stretch s : stretches) {
            if (n >= s.first() && n <= s.last()) {
                return s;
            }
        }
        return null;
    }

    /** The timeline of the lineage a recovery reads segment {@code n} from. */
    private static long timelineOf(List<Stretch> stretches, long n) {
        Stretch s = stretchOf(stretches, n);
        return s == null ? stretches.get(0).timeline() : s.timeline();
    }

    /** The file name of segment {@code n} on the timeline of the lineage a recovery reads it from. */
    private static String name(List<Stretch> stretches, long n, long segmentSize) {
        return new WalSegment(timelineOf(stretches, n), n, segmentSize).name();
    }

    private static String describe(List<Stretch> stretches, long[] gap, long segmentSize) {
        String first = name(stretches, gap[0], segmentSize);
        if (gap[0] == gap[1]) {
            return "segment " + first;
        }
        return "segments " + first + " to " + name(stretches, gap[1], segmentSize) + " (" + (gap[1] - gap[0] + 1) + ")";
    }

    /** A metadata value as it can go into a message: printable, at most 40 characters. */
    private static String shown(Object value) {
        String text = TarEntryReader.printable(String.valueOf(value));
        return text.length() > 40 ? text.substring(0, 40) + "..." : text;
    }

    private static boolean plural(long[] gap) {
        return gap[1] != gap[0];
    }

    private static long parse(String number) {
        try {
            return Long.parseLong(number);
        } catch (NumberFormatException e) {
            return -1;
        }
    }

    /** An LSN the metadata records ({@code 0/3000028}), or -1 when there is none that parses. */
    private static long lsnOrMinus(Object text) {
        if (text == null || !text.toString().matches("[0-9A-Fa-f]{1,8}/[0-9A-Fa-f]{1,8}")) {
            return -1;
        }
        return WalArchive.parseLsn(text.toString());
    }
}
