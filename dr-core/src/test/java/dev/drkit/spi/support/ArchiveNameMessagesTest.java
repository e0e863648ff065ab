package dev.drkit.spi.support;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;

import org.junit.jupiter.api.Test;

/** Names from a hostile archive reach messages without their control characters (terminal escapes, forged log lines). */
class ArchiveNameMessagesTest {
    @Test
    void anAbsoluteNameIsPrintedWithoutItsControlCharacters() {
        Throwable t = catchThrowable(() -> TarEntryReader.safeName("/etc/x\u001b]0;owned\u0007\nINFO forged line"));
        assertThat(t.getMessage()).doesNotContain("\u001b").doesNotContain("\n");
    }

    @Test
    void aDotDotNameIsPrintedWithoutItsControlCharacters() {
        Throwable t = catchThrowable(() -> TarEntryReader.safeName("a/../\u001b[2Jb\nINFO forged line"));
        assertThat(t.getMessage()).doesNotContain("\u001b").doesNotContain("\n");
    }
}
