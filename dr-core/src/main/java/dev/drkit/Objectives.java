package dev.drkit;

import java.time.Duration;

/**
 * A target's recovery objectives.
 *
 * @param rpo the most data the plan may lose: the newest usable backup may be at most this old;
 *        null when the plan sets none
 * @param rto the longest a restore may take (measured by restore tests); null when none
 */
public record Objectives(Duration rpo, Duration rto) {}
