package dev.drkit.examples.cli;

import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.nio.charset.Charset;
import java.nio.charset.StandardCharsets;

/**
 * The CLI's stderr, and its stdout when that is a terminal, fit for a terminal: every control character but line feed and tab, and every
 * Unicode format character (bidirectional overrides, zero-width characters), becomes {@code ?}
 * on its way out. Log lines quote what a server answered, what a repository holds or a file
 * name in a backed-up tree; without this a hostile one could send escape sequences (set the
 * window title, rewrite the screen, forge a line with a carriage return) to whoever reads the
 * output. {@link GlobalOptions#safe} cleans the messages the CLI composes itself; this catches
 * every line the libraries log.
 *
 * <p>Bytes are read as UTF-8 when that is the output's charset (a sequence may span writes);
 * in another charset of one byte a character, each byte as it decodes (ISO-8859-1's C1
 * controls); in one of several bytes only the ASCII controls are replaced. A sequence that is not UTF-8 becomes {@code ?}
 * too. Not thread-safe on its own: {@link PrintStream} serialises its writes.
 */
final class TerminalSafeStream extends OutputStream {
    private static volatile PrintStream unfiltered;

    private final OutputStream out;
    private final boolean utf8;
    private final boolean[] highControls;
    private final byte[] pending = new byte[4];
    private int pendingLength;
    private int pendingNeed;

    TerminalSafeStream(OutputStream out, Charset charset) {
        this.out = out;
        this.utf8 = charset.equals(StandardCharsets.UTF_8);
        this.highControls = utf8 ? null : highControls(charset);
    }

    /**
     * The bytes from 0x80 a single-byte charset decodes to a control or format character, or to
     * nothing (ISO-8859-1's 0x80 to 0x9F are the C1 controls, 0x9B its one-byte CSI); none for a
     * charset of several bytes a character, whose bytes cannot be judged one by one.
     */
    private static boolean[] highControls(Charset charset) {
        boolean[] controls = new boolean[256];
        if (!charset.canEncode() || charset.newEncoder().maxBytesPerChar() > 1) {
            return controls;
        }
        for (int v = 0x80; v < 0x100; v++) {
            String s = new String(new byte[] {(byte) v}, charset);
            int c = s.codePointAt(0);
            controls[v] = s.length() != 1
                    || c == 0xFFFD
                    || Character.isISOControl(c)
                    || Character.getType(c) == Character.FORMAT;
        }
        return controls;
    }

    /**
     * Makes {@code System.err} a filtered stream over the one the JVM gave, which {@link
     * #progressWriter} still reaches. Called once, first thing in the CLI's {@code main}.
     */
    static void install() {
        PrintStream raw = System.err;
        Charset charset = Charset.defaultCharset();
        unfiltered = raw;
        System.setErr(new PrintStream(new TerminalSafeStream(raw, charset), true, charset));
        if (System.console() != null) {
            // stdout on a terminal too (status and verify lines quote a repository's text); piped
            // or redirected, it is data for a program and passes as it is
            System.setOut(new PrintStream(new TerminalSafeStream(System.out, charset), true, charset));
        }
        // picocli's colours are escape sequences too, which the filter would show as '?[1m'
        System.setProperty("picocli.ansi", "false");
    }

    /**
     * Where the progress line goes: stderr as the JVM gave it once {@link #install} ran (the
     * progress line rewrites itself with a carriage return and an erase-line escape, and holds
     * only words and numbers of the CLI's own), else {@code err}.
     */
    static PrintWriter progressWriter(PrintWriter err) {
        PrintStream raw = unfiltered;
        return raw == null ? err : new PrintWriter(raw, true);
    }

    @Override
    public void write(int b) throws IOException {
        write(new byte[] {(byte) b}, 0, 1);
    }

    @Override
    public void write(byte[] b, int off, int len) throws IOException {
        byte[] clean = new byte[len + pendingLength];
        int n = 0;
        for (int i = off; i < off + len; i++) {
            int v = b[i] & 0xFF;
            if (pendingNeed > 0) {
                if ((v & 0xC0) == 0x80) {
                    pending[pendingLength++] = (byte) v;
                    if (pendingLength == pendingNeed) {
                        n = emitPending(clean, n);
                    }
                    continue;
                }
                clean[n++] = '?'; // a sequence cut short
                pendingNeed = 0;
                pendingLength = 0;
            }
            if (v < 0x80) {
                clean[n++] = (byte) (allowed(v) ? v : '?');
            } else if (!utf8) {
                clean[n++] = (byte) (highControls[v] ? '?' : v);
            } else {
                int need = v >= 0xF0 && v <= 0xF4 ? 4 : v >= 0xE0 ? (v <= 0xEF ? 3 : 0) : v >= 0xC2 ? 2 : 0;
                if (need == 0) {
                    clean[n++] = '?'; // a continuation byte alone, or a lead byte UTF-8 never uses
                } else {
                    pending[0] = (byte) v;
                    pendingLength = 1;
                    pendingNeed = need;
                }
            }
        }
        out.write(clean, 0, n);
    }

    /** Emits the complete sequence in {@code pending}, or {@code ?} for what it must not show. */
    private int emitPending(byte[] clean, int n) {
        String s = new String(pending, 0, pendingLength, StandardCharsets.UTF_8);
        int c = s.codePointAt(0);
        boolean show = s.codePointCount(0, s.length()) == 1
                && c != 0xFFFD
                && !Character.isISOControl(c)
                && Character.getType(c) != Character.FORMAT;
        if (show) {
            System.arraycopy(pending, 0, clean, n, pendingLength);
            n += pendingLength;
        } else {
            clean[n++] = '?';
        }
        pendingNeed = 0;
        pendingLength = 0;
        return n;
    }

    private static boolean allowed(int ascii) {
        return ascii == '\n' || ascii == '\t' || (ascii >= 0x20 && ascii < 0x7F);
    }

    @Override
    public void flush() throws IOException {
        out.flush(); // a sequence not yet complete stays pending: half a character shows nothing
    }

    @Override
    public void close() throws IOException {
        if (pendingNeed > 0) {
            out.write('?');
            pendingNeed = 0;
            pendingLength = 0;
        }
        out.close();
    }
}
