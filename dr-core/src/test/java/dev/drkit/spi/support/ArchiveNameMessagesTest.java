package dev.drkit.spi.support;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;

import dev.drkit.DrException;
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

    @Test
    void aNameTheJvmCannotWriteAsAFileNameIsRefusedWithWhatToDo() {
        // a lone surrogate: no charset spells it, so Path.of would fail with a bare exception
        Throwable t = catchThrowable(() -> TarEntryReader.safeName("data/a\uD800b.txt"));
        assertThat(t).isInstanceOf(DrException.class);
        assertThat(t.getMessage())
                .contains("'data/a")
                .contains("cannot be written as a file name here")
                .doesNotContain("Exception");
    }
}
