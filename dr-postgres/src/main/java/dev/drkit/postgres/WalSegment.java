package dev.drkit.postgres;

import java.util.Locale;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * A WAL segment's place: its timeline and its number counted from the start of WAL, for a
 * segment size. PostgreSQL names it {@code TTTTTTTTLLLLLLLLSSSSSSSS} (8 hex digits each for the
 * timeline, the "log" and the segment within it), a log holding 4 GiB of WAL, so the segment
 * field rolls over to the next log at {@code 4 GiB / segmentSize}.
 */
record WalSegment(long timeline, long number, long segmentSize) {
    private static final Pattern NAME = Pattern.compile("[0-9A-F]{24}");
    private static final long LOG_BYTES = 0x100000000L;

    WalSegment {
        if (!validSize(segmentSize)) {
            throw new IllegalArgumentException("not a WAL segment size: " + segmentSize);
        }
    }

    /** Whether {@code size} is a segment size PostgreSQL allows: a power of two from 1 MiB to 1 GiB. */
    static boolean validSize(long size) {
        return size >= (1L << 20) && size <= (1L << 30) && Long.bitCount(size) == 1;
    }

    /** Whether {@code name} has the form of a segment's name (not a .partial, .history or .backup file). */
    static boolean isSegmentName(String name) {
        return NAME.matcher(name).matches();
    }

    /** The segment named {@code name}, or empty when it is no segment name for this segment size. */
    static Optional<WalSegment> parse(String name, long segmentSize) {
        if (!isSegmentName(name) || !validSize(segmentSize)) {
            return Optional.empty();
        }
        long timeline = Long.parseLong(name.substring(0, 8), 16);
        long log = Long.parseLong(name.substring(8, 16), 16);
        long seg = Long.parseLong(name.substring(16, 24), 16);
        long perLog = LOG_BYTES / segmentSize;
        if (timeline == 0 || seg >= perLog) {
            return Optional.empty();
        }
        return Optional.of(new WalSegment(timeline, log * perLog + seg, segmentSize));
    }

    /** The file name PostgreSQL gives this segment. */
    String name() {
        long perLog = LOG_BYTES / segmentSize;
        return String.format(Locale.ROOT, "%08X%08X%08X", timeline, number / perLog, number % perLog);
    }

    /** The segment after this one on the same timeline. */
    WalSegment next() {
        return new WalSegment(timeline, number + 1, segmentSize);
    }

    /** The WAL position this segment starts at (its first page's address). */
    long startLsn() {
        return number * segmentSize;
    }
}
