package dev.drkit.postgres;

import dev.drkit.CorruptDataException;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;

/**
 * Reads the plain SQL script that {@code pg_restore -f -} writes, one step at a time: a statement
 * (its text up to and including the terminating semicolon, found outside quotes, dollar quotes and
 * comments), or the rows of a {@code COPY ... FROM stdin} up to the {@code \.} line. Memory stays
 * bounded: a statement may not exceed {@link #MAX_STATEMENT} bytes, and COPY rows are streamed.
 *
 * <p>The script is read as bytes: its syntax is ASCII, and in every server encoding PostgreSQL
 * allows, the bytes of a multibyte character are never ASCII, so quotes and semicolons are found
 * without decoding; the caller decodes statements and rows in the script's {@code client_encoding}.
 *
 * <p>The only psql meta-commands accepted are pg_dump's own {@code restrict} and {@code unrestrict} (with their backslash)
 * lines, which are skipped; any other backslash command refuses the script, since the script is
 * executed without psql.
 */
final class SqlScript {
    /** pg_dump writes data as COPY rows; statements are DDL, kilobytes long. */
    static final int MAX_STATEMENT = 64 << 20;

    private final InputStream in;
    private final String name;
    private int pushedBack = -2;
    /** Whether the next character read starts a line, and whether the last one read did. */
    private boolean atLineStart = true;

    private boolean lineStartOfLastRead = true;

    /** Whether the statement last read holds a ':' outside quotes and comments. */
    private boolean colon;

    SqlScript(InputStream in, String name) {
        this.in = in;
        this.name = name;
    }

    /** Bytes of a statement, bounded. */
    static final class Buffer extends ByteArrayOutputStream {
        byte[] bytes() {
            return buf;
        }

        String text() {
            return new String(buf, 0, count, StandardCharsets.ISO_8859_1);
        }
    }

    /**
     * The next statement's bytes, or null at the end of the script. Whitespace and comments between
     * statements are dropped.
     */
    byte[] nextStatement() throws IOException {
        Buffer sb = new Buffer();
        boolean content = false;
        colon = false;
        int c;
        while ((c = read()) >= 0) {
            if (!content) {
                if (Character.isWhitespace(c)) {
                    continue;
                }
                if (c == '\\' && lineStartOfLastRead) {
                    metaCommand();
                    continue;
                }
                if (c == '-' && peek() == '-') {
                    skipLine();
                    continue;
                }
                content = true;
            }
            append(sb, c);
            switch (c) {
                case ';' -> {
                    return sb.toByteArray();
                }
                case ':' -> colon = true;
                case '\'' -> quoted(sb, '\'');
                case '"' -> quoted(sb, '"');
                case '-' -> {
                    if (peek() == '-') {
                        lineComment(sb);
                    }
                }
                case '/' -> {
                    if (peek() == '*') {
                        blockComment(sb);
                    }
                }
                case '$' -> {
                    // after an identifier's character, '$' is part of it (x$a$ is one name), as the
                    // server's and psql's lexers read it, and starts no dollar quote
                    if (!afterIdentifierCharacter(sb)) {
                        dollarQuoted(sb);
                    }
                }
                default -> {}
            }
        }
        if (content && !sb.text().isBlank()) {
            throw new CorruptDataException(
                    name + " ends inside a statement: " + abbreviate(sb.text()) + "; the archive is truncated");
        }
        return null;
    }

    /**
     * Whether the statement last read holds a {@code :} outside quotes and comments, where psql
     * would put a variable's value into the script. Its dollar quotes are never more than psql's
     * (a tag psql takes may be refused here), so psql finds no colon outside quotes that this does not.
     */
    boolean colonOutsideQuotes() {
        return colon;
    }

    /** Receives COPY rows. */
    interface Rows {
        /** One row's bytes, with its terminating newline. */
        void row(byte[] bytes, int length) throws IOException;
    }

    /**
     * After a {@code COPY ... FROM stdin;} statement: hands its rows, each ending in a newline, to
     * {@code rows}, and consumes the terminating {@code \.} line.
     */
    void copyRows(Rows rows) throws IOException {
        Buffer line = new Buffer();
        int c;
        // the statement's own line ends after the semicolon
        while ((c = read()) >= 0 && c != '\n') {
            if (!Character.isWhitespace(c)) {
                throw new CorruptDataException(name + " has text after a COPY statement on the same line");
            }
        }
        while (true) {
            line.reset();
            while ((c = read()) >= 0 && c != '\n') {
                line.write(c);
                if (line.size() > MAX_STATEMENT) {
                    throw new CorruptDataException(name + " holds a COPY row longer than " + MAX_STATEMENT + " bytes");
                }
            }
            if (c < 0) {
                throw new CorruptDataException(name + " ends inside COPY data; the archive is truncated");
            }
            if (line.size() == 2 && line.bytes()[0] == '\\' && line.bytes()[1] == '.') {
                return;
            }
            line.write('\n');
            rows.row(line.bytes(), line.size());
        }
    }

    /** Whether a statement is a {@code COPY ... FROM stdin}. */
    static boolean isCopyFromStdin(byte[] statement) {
        String s = new String(statement, StandardCharsets.ISO_8859_1).strip();
        return s.regionMatches(true, 0, "COPY ", 0, 5) && s.toLowerCase().endsWith("from stdin;");
    }

    private void metaCommand() throws IOException {
        StringBuilder sb = new StringBuilder("\\");
        int c;
        while ((c = read()) >= 0 && c != '\n') {
            if (sb.length() < 200) {
                sb.append((char) c);
            }
        }
        String cmd = sb.toString().strip();
        if (!cmd.matches("\\\\(un)?restrict [A-Za-z0-9]+")) {
            throw new CorruptDataException(name + " holds the psql command '" + abbreviate(cmd)
                    + "', which a pg_restore script never does; the archive was altered");
        }
    }

    private void quoted(Buffer sb, char quote) throws IOException {
        int c;
        while ((c = read()) >= 0) {
            append(sb, c);
            if (c == quote) {
                if (peek() == quote) {
                    append(sb, read());
                } else {
                    return;
                }
            }
        }
    }

    /** A {@code --} comment, which ends at a carriage return as at a line feed, as psql and the server read it. */
    private void lineComment(Buffer sb) throws IOException {
        int c;
        while ((c = read()) >= 0) {
            append(sb, c);
            if (c == '\n' || c == '\r') {
                return;
            }
        }
    }

    private void blockComment(Buffer sb) throws IOException {
        append(sb, read()); // '*'
        int depth = 1;
        int prev = 0;
        int c;
        while (depth > 0 && (c = read()) >= 0) {
            append(sb, c);
            if (prev == '/' && c == '*') {
                depth++;
                c = 0;
            } else if (prev == '*' && c == '/') {
                depth--;
                c = 0;
            }
            prev = c;
        }
    }

    /** {@code $tag$ ... $tag$} (tag possibly empty); a lone {@code $} (as in {@code $1}) is not a quote. */
    /** Whether the byte before the '$' just appended to {@code sb} can continue an identifier. */
    private static boolean afterIdentifierCharacter(Buffer sb) {
        if (sb.size() < 2) {
            return false;
        }
        int b = sb.bytes()[sb.size() - 2] & 0xff;
        return b >= 0x80
                || b == '_'
                || b == '$'
                || b >= 'a' && b <= 'z'
                || b >= 'A' && b <= 'Z'
                || b >= '0' && b <= '9';
    }

    private void dollarQuoted(Buffer sb) throws IOException {
        StringBuilder tag = new StringBuilder("$"); // ASCII
        int c;
        while (true) {
            c = peek();
            if (c == '$') {
                append(sb, read());
                tag.append('$');
                break;
            }
            if (c >= 0 && (Character.isLetterOrDigit(c) || c == '_') && tag.length() < 64) {
                // a digit right after '$' is a parameter, not a tag
                if (tag.length() == 1 && Character.isDigit(c)) {
                    return;
                }
                append(sb, read());
                tag.append((char) c);
                continue;
            }
            return;
        }
        String end = tag.toString();
        int matched = 0;
        while ((c = read()) >= 0) {
            append(sb, c);
            if (c == end.charAt(matched)) {
                matched++;
                if (matched == end.length()) {
                    return;
                }
            } else {
                matched = c == '$' ? 1 : 0;
            }
        }
    }

    private void append(Buffer sb, int c) {
        if (sb.size() >= MAX_STATEMENT) {
            throw new CorruptDataException(name + " holds a statement longer than " + MAX_STATEMENT
                    + " bytes, which pg_restore never writes: " + abbreviate(sb.text()));
        }
        sb.write(c);
    }

    private void skipLine() throws IOException {
        int c;
        while ((c = read()) >= 0 && c != '\n' && c != '\r') {
            // comment text, to the end of the line as lineComment reads it
        }
    }

    private int peek() throws IOException {
        if (pushedBack == -2) {
            pushedBack = in.read();
        }
        return pushedBack;
    }

    private int read() throws IOException {
        int c;
        if (pushedBack != -2) {
            c = pushedBack;
            pushedBack = -2;
        } else {
            c = in.read();
        }
        lineStartOfLastRead = atLineStart;
        atLineStart = c == '\n';
        return c;
    }

    private static String abbreviate(String s) {
        String one = s.strip().replaceAll("\\s+", " ");
        return one.length() > 80 ? one.substring(0, 80) + "..." : one;
    }
}
