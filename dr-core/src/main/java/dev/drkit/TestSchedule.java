package dev.drkit;

import java.time.Duration;
import java.util.Collections;
import java.util.EnumMap;
import java.util.Map;
import java.util.Objects;

/**
 * How often each {@link RecoveryTest} is due. Immutable and thread-safe.
 *
 * @param frequencies the interval per test; tests missing from it use their {@link
 *     RecoveryTest#planFrequency() plan frequency}
 */
public record TestSchedule(Map<RecoveryTest, Duration> frequencies) {
    public TestSchedule {
        EnumMap<RecoveryTest, Duration> all = new EnumMap<>(RecoveryTest.class);
        for (RecoveryTest t : RecoveryTest.values()) {
            Duration d = frequencies == null ? null : frequencies.get(t);
            if (d != null && (d.isNegative() || d.isZero())) {
                throw new ConfigException("the frequency of the " + t.title() + " must be positive, not " + d);
            }
            all.put(t, d == null ? t.planFrequency() : d);
        }
        frequencies = Collections.unmodifiableMap(all);
    }

    /** The classic plan's schedule: integrity daily, database restore weekly, failover monthly, full recovery quarterly. */
    public static TestSchedule plan() {
        return new TestSchedule(Map.of());
    }

    /** This schedule with one test's frequency changed. */
    public TestSchedule with(RecoveryTest test, Duration every) {
        Objects.requireNonNull(test, "test");
        Objects.requireNonNull(every, "every");
        EnumMap<RecoveryTest, Duration> copy = new EnumMap<>(frequencies);
        copy.put(test, every);
        return new TestSchedule(copy);
    }

    /** How often the test is due. */
    public Duration every(RecoveryTest test) {
        return frequencies.get(test);
    }
}
