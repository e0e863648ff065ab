package dev.drkit.examples.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.Charset;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

class TerminalSafeStreamTest {
    private static String through(boolean utf8, byte[]... writes) throws IOException {
        ByteArrayOutputStream sink = new ByteArrayOutputStream();
        TerminalSafeStream s =
                new TerminalSafeStream(sink, utf8 ? StandardCharsets.UTF_8 : StandardCharsets.ISO_8859_1);
        for (byte[] w : writes) {
            s.write(w, 0, w.length);
        }
        s.flush();
        return sink.toString(StandardCharsets.UTF_8);
    }

    /** {@code text} written whole in {@code charset}, as it reaches the terminal. */
    private static String through(Charset charset, String text) throws IOException {
        byte[] bytes = text.getBytes(charset);
        ByteArrayOutputStream sink = new ByteArrayOutputStream();
        new TerminalSafeStream(sink, charset).write(bytes, 0, bytes.length);
        return sink.toString(charset);
    }

    private static byte[] utf8(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    @Test
    void textLineFeedsAndTabsPass() throws IOException {
        String text = "[WARN] skipping /srv/été/日本/\uD83D\uDE00.conf:\tnot a file\n";
        assertThat(through(true, utf8(text))).isEqualTo(text);
    }

    @Test
    void escapesCarriageReturnsAndOtherControlsBecomeQuestionMarks() throws IOException {
        assertThat(through(true, utf8("a\u001b]2;title\u0007b\rc\u0000d\u007fe\bf\n")))
                .isEqualTo("a?]2;title?b?c?d?e?f\n");
    }

    @Test
    void eightBitControlsAndFormatCharactersBecomeQuestionMarks() throws IOException {
        // U+009B is the one-character CSI; U+202E overrides the direction of what follows
        assertThat(through(true, utf8("a\u009b31mb\u202ec\u200bd\n"))).isEqualTo("a?31mb?c?d\n");
    }

    @Test
    void aCharacterSplitAcrossWritesIsJudgedWhole() throws IOException {
        byte[] csi = utf8("\u009b");
        byte[] e = utf8("é");
        assertThat(through(true, new byte[] {'a', csi[0]}, new byte[] {csi[1], 'b', e[0]}, new byte[] {e[1], '\n'}))
                .isEqualTo("a?bé\n");
    }

    @Test
    void bytesThatAreNoUtf8BecomeQuestionMarks() throws IOException {
        // a lone continuation byte, an overlong NUL, an encoded surrogate, a sequence cut short
        assertThat(through(true, new byte[] {'a', (byte) 0x9b, 'b', (byte) 0xC0, (byte) 0x80, 'c'}))
                .isEqualTo("a?b??c");
        assertThat(through(
                        true, new byte[] {(byte) 0xED, (byte) 0xA0, (byte) 0x80, 'd', (byte) 0xE2, (byte) 0x80, 'e'}))
                .isEqualTo("?d?e");
    }

    @Test
    void anotherCharsetHasOnlyItsAsciiControlsReplaced() throws IOException {
        assertThat(through(StandardCharsets.ISO_8859_1, "caf\u00e9\u001b[2J\n")).isEqualTo("caf\u00e9?[2J\n");
    }

    @Test
    void eightBitControlsOfASingleByteCharsetBecomeQuestionMarksAndItsLettersPass() throws IOException {
        // in ISO-8859-1 the byte 0x9B is the one-byte CSI, which a terminal in that charset obeys
        assertThat(through(StandardCharsets.ISO_8859_1, "a\u009b31mb\u0085c\u00e9\n"))
                .isEqualTo("a?31mb?c\u00e9\n");
        // in windows-1252 the bytes 0x80 to 0x9F are letters and signs
        assertThat(through(Charset.forName("windows-1252"), "\u20ac \u2019\u0153\n"))
                .isEqualTo("\u20ac \u2019\u0153\n");
    }

    @Test
    void withoutInstallTheProgressLineGoesWhereItWasAsked() {
        PrintWriter err = new PrintWriter(new StringWriter());
        assertThat(TerminalSafeStream.progressWriter(err)).isSameAs(err);
    }
}
