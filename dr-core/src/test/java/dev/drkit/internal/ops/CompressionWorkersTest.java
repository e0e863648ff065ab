package dev.drkit.internal.ops;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/** Which targets compress on worker threads: all but those whose source competes for 2 cores or fewer. */
class CompressionWorkersTest {
    @Test
    void aSourceCompetingForTwoCoresGetsNoWorkersUnlessTheHostChose() {
        assertThat(BackupOperation.workers(2, false, true, 2)).isZero();
        assertThat(BackupOperation.workers(1, false, true, 1)).isZero();
        // a host's choice stands
        assertThat(BackupOperation.workers(2, true, true, 2)).isEqualTo(2);
        // a source read inside the JVM keeps them: compression overlaps its reading
        assertThat(BackupOperation.workers(2, false, false, 2)).isEqualTo(2);
        // with more cores, compression has cores of its own
        assertThat(BackupOperation.workers(4, false, true, 8)).isEqualTo(4);
    }
}
