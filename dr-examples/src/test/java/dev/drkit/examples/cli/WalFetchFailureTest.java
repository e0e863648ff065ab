package dev.drkit.examples.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.AccessDeniedException;
import org.junit.jupiter.api.Test;

/**
 * A wal-fetch that could not write its target said only the path ("failed:
 * /srv/x.drkit-...") when the file system refused it, since such an exception's message is
 * its path alone; wal-push said why.
 */
class WalFetchFailureTest {
    @Test
    void aFileSystemRefusalSaysWhy() {
        assertThat(WalCommands.fetchFailure(
                        "000000010000000000000001", new AccessDeniedException("/srv/pg/x.drkit-1-2")))
                .isEqualTo("drkit: wal-fetch 000000010000000000000001 failed: /srv/pg/x.drkit-1-2: permission denied");
        assertThat(WalCommands.fetchFailure("00000002.history", new IllegalStateException("the repository is gone")))
                .isEqualTo("drkit: wal-fetch 00000002.history failed: the repository is gone");
    }
}
