package dev.drkit;

/** What a backup target can do; tools use these to offer only what works. */
public enum Capability {
    /** Self-contained full backups. */
    FULL,
    /** Backups that store only changes against a parent. */
    INCREMENTAL,
    /** Restore to a chosen moment between backups. */
    POINT_IN_TIME,
    /** Restore a chosen part (tables, keys, paths). */
    SELECTIVE_RESTORE,
    /** Restore into a running server. */
    ONLINE_RESTORE
}
