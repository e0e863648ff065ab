package dev.drkit.spi.support;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/** Names and keys in messages: nothing of theirs starts a line, an escape or reorders the text. */
class TarEntryReaderPrintableTest {
    @Test
    void controlFormatAndLineSeparatorsAreShownAsQuestionMarks() {
        assertThat(TarEntryReader.printable("a\nb\u001b[31mc\u202ed")).isEqualTo("a?b?[31mc?d");
        // Unicode's own line and paragraph separators break a line in editors, JSON and log viewers
        assertThat(TarEntryReader.printable("key\u2028FATAL: forged\u2029x")).isEqualTo("key?FATAL: forged?x");
        assertThat(TarEntryReader.printable("clé:日本")).isEqualTo("clé:日本");
    }
}
