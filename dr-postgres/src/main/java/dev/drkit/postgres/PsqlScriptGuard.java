package dev.drkit.postgres;

import dev.drkit.UnsafeArchiveException;
import java.nio.charset.StandardCharsets;
import java.util.regex.Pattern;

/**
 * Refuses a SQL script from the repository (the roles and tablespaces of
 * {@code pg_dumpall --globals-only}) that holds a psql meta-command: psql runs a backslash
 * command such as {@code \!} (a shell command) wherever it stands outside a quoted string or
 * comment, so a forged {@code globals.sql} could run programs as drkit's user. The scan follows
 * psql's lexer conservatively: quoted strings (standard and {@code E''}), quoted identifiers,
 * dollar quotes and comments are skipped; any other backslash refuses the script, except the
 * restrict and unrestrict lines (a backslash, then the word) that newer pg_dumpall versions write.
 */
final class PsqlScriptGuard {
    private static final Pattern RESTRICT = Pattern.compile("\\\\(un)?restrict [A-Za-z0-9]+");

    private PsqlScriptGuard() {
    }

    /**
     * @param script the script's bytes
     * @param what the script, for the message
     * @throws UnsafeArchiveException naming the line of the first meta-command
     */
    static void check(byte[] script, String what) {
        String s = new String(script, StandardCharsets.UTF_8);
        int i = 0;
        int line = 1;
        int n = s.length();
        while (i < n) {
            char c = s.charAt(i);
            if (c == '\n') {
                line++;
                i++;
            } else if (c == '-' && i + 1 < n && s.charAt(i + 1) == '-') {
                while (i < n && s.charAt(i) != '\n') {
                    i++;
                }
            } else if (c == '/' && i + 1 < n && s.charAt(i + 1) == '*') {
                int depth = 1;
                i += 2;
                while (i < n && depth > 0) {
                    if (s.startsWith("/*", i)) {
                        depth++;
                        i += 2;
                    } else if (s.startsWith("*/", i)) {
                        depth--;
                        i += 2;
                    } else {
                        line += s.charAt(i) == '\n' ? 1 : 0;
                        i++;
                    }
                }
            } else if (c == '\'') {
                boolean escapes = i > 0 && (s.charAt(i - 1) == 'E' || s.charAt(i - 1) == 'e');
                i++;
                while (i < n && s.charAt(i) != '\'') {
                    line += s.charAt(i) == '\n' ? 1 : 0;
                    i += escapes && s.charAt(i) == '\\' ? 2 : 1;
                }
                i++; // '' inside a string reads as two adjacent strings, which is the same here
            } else if (c == '"') {
                i = s.indexOf('"', i + 1);
                i = i < 0 ? n : i + 1;
            } else if (c == '$' && dollarTag(s, i) != null) {
                String tag = dollarTag(s, i);
                int end = s.indexOf(tag, i + tag.length());
                int stop = end < 0 ? n : end + tag.length();
                line += (int) s.substring(i, stop).chars().filter(ch -> ch == '\n').count();
                i = stop;
            } else if (c == '\\') {
                int eol = s.indexOf('\n', i);
                String rest = s.substring(i, eol < 0 ? n : eol).strip();
                boolean lineStart = s.lastIndexOf('\n', i - 1) + 1 == i;
                if (!lineStart || !RESTRICT.matcher(rest).matches()) {
                    throw new UnsafeArchiveException(what + " holds a psql command at line " + line + " ("
                            + rest.substring(0, Math.min(rest.length(), 20)) + "...): pg_dumpall never writes one "
                            + "there, so the file was altered; it is not run. Restore without the globals, or "
                            + "from a backup whose manifest is signed by a trusted key");
                }
                i = eol < 0 ? n : eol;
            } else {
                i++;
            }
        }
    }

    /** The dollar-quote tag ({@code $$} or {@code $name$}) starting at {@code i}, or null. */
    private static String dollarTag(String s, int i) {
        if (i > 0 && (Character.isLetterOrDigit(s.charAt(i - 1)) || s.charAt(i - 1) == '_')) {
            return null; // part of an identifier or a positional parameter
        }
        int j = i + 1;
        while (j < s.length() && (Character.isLetterOrDigit(s.charAt(j)) || s.charAt(j) == '_')) {
            j++;
        }
        if (j < s.length() && s.charAt(j) == '$' && (j == i + 1 || !Character.isDigit(s.charAt(i + 1)))) {
            return s.substring(i, j + 1);
        }
        return null;
    }
}
