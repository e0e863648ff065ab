package dev.drkit;

import java.time.Duration;
import java.util.Arrays;
import java.util.Locale;
import java.util.stream.Collectors;

/**
 * The tests a DR plan's recovery testing schedule lists, each with the plan's default frequency.
 *
 * <p>{@link #BACKUP_INTEGRITY} and {@link #DATABASE_RESTORE} are executed by verification ({@link
 * DrKit#verify}) and found in its records; {@link #FAILOVER} and {@link #FULL_RECOVERY} are exercises run
 * outside a backup (a failover test, the DR drill, a manual recovery) and recorded with {@link
 * DrKit#recordTest}.
 */
public enum RecoveryTest {
    /** Any verification of a backup (checksum level or deeper): daily. */
    BACKUP_INTEGRITY("backup integrity", Duration.ofDays(1)),
    /** A restore test (verification at {@link VerifyLevel#RESTORE}) of a PostgreSQL or Redis target: weekly. */
    DATABASE_RESTORE("database restore", Duration.ofDays(7)),
    /** A failover test (a failover, or its dry run, recorded with {@link DrKit#recordTest}): monthly. */
    FAILOVER("failover test", Duration.ofDays(30)),
    /** A recovery of every system, such as the DR drill (recorded with {@link DrKit#recordTest}): quarterly. */
    FULL_RECOVERY("full system recovery", Duration.ofDays(91));

    private final String title;
    private final Duration planFrequency;

    RecoveryTest(String title, Duration planFrequency) {
        this.title = title;
        this.planFrequency = planFrequency;
    }

    /** The name people read, e.g. {@code database restore}. */
    public String title() {
        return title;
    }

    /** The settings key form, e.g. {@code database-restore}. */
    public String key() {
        return name().toLowerCase(Locale.ROOT).replace('_', '-');
    }

    /** How often the classic DR plan runs it. */
    public Duration planFrequency() {
        return planFrequency;
    }

    /**
     * Parses a {@link #key()} ({@code failover}, {@code full-recovery}, ...), case-insensitively.
     *
     * @throws ConfigException naming the known keys when there is no such test
     */
    public static RecoveryTest parse(String key) {
        for (RecoveryTest t : values()) {
            if (t.key().equalsIgnoreCase(key == null ? "" : key.trim())) {
                return t;
            }
        }
        throw new ConfigException("unknown recovery test '" + key + "'; use one of "
                + Arrays.stream(values()).map(RecoveryTest::key).collect(Collectors.joining(", ")));
    }
}
