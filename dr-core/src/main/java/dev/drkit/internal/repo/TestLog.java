package dev.drkit.internal.repo;

import com.fasterxml.jackson.core.JacksonException;
import dev.drkit.RecoveryTest;
import dev.drkit.spi.ObjectInfo;
import dev.drkit.spi.StorageBackend;
import dev.drkit.spi.support.Json;
import java.io.IOException;
import java.io.InputStream;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.Comparator;
import java.util.Optional;

/**
 * The record of recovery tests run outside verification (failover tests, full recoveries such as the drill):
 * one write-once object per run under {@code status/_plan/tests/}, named {@code
 * <time>-<test>-<passed|failed>.json} so that the newest run of each test is found from a listing alone.
 * ({@code _plan} cannot be a target name, so it never meets a target's records.)
 */
public final class TestLog {
    private static final String PREFIX = "status/_plan/tests/";
    private static final DateTimeFormatter TIME =
            DateTimeFormatter.ofPattern("yyyyMMdd'T'HHmmssSSS'Z'").withZone(ZoneOffset.UTC);

    private final StorageBackend storage;

    public TestLog(StorageBackend storage) {
        this.storage = storage;
    }

    /**
     * One run.
     *
     * @param test the test
     * @param passed whether it passed
     * @param at when it finished
     * @param seconds how long it took
     * @param note what was run, one line
     */
    public record Entry(RecoveryTest test, boolean passed, Instant at, double seconds, String note) {}

    /** Records a run; write-once. */
    public void record(Entry e) throws IOException {
        String name = TIME.format(e.at()) + "-" + e.test().key() + "-" + (e.passed() ? "passed" : "failed") + ".json";
        storage.createIfAbsent(PREFIX + name, Json.write(e));
    }

    /** The newest run of a test, read in full, if it ever ran. */
    public Optional<Entry> newest(RecoveryTest test) throws IOException {
        String middle = "-" + test.key() + "-";
        Optional<String> name = storage.list(PREFIX).stream()
                .map(ObjectInfo::key)
                .map(k -> k.substring(k.lastIndexOf('/') + 1))
                .filter(n -> n.endsWith(".json") && n.contains(middle))
                .max(Comparator.naturalOrder());
        if (name.isEmpty()) {
            return Optional.empty();
        }
        try (InputStream in = storage.open(PREFIX + name.get(), 0)) {
            Entry e = Json.read(in.readNBytes(Repository.MAX_SMALL), Entry.class);
            if (e.test() != test || e.at() == null) {
                throw new IOException("the recovery test record " + name.get() + " does not match its name; remove it");
            }
            return Optional.of(e);
        } catch (JacksonException e) {
            throw new IOException("the recovery test record " + name.get() + " is damaged; remove it", e);
        }
    }
}
