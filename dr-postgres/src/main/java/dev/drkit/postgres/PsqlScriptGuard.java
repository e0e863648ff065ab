package dev.drkit.postgres;

import dev.drkit.UnsafeArchiveException;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Refuses a SQL script from the repository (the roles and tablespaces of
 * {@code pg_dumpall --globals-only}) that could hold a psql meta-command: psql runs a
 * backslash command such as {@code \!} (a shell command) wherever its lexer stands outside a
 * quoted string, and that lexer changes with settings the script itself can make, so a forged
 * {@code globals.sql} could run programs as drkit's user. Rather than follow the lexer, any
 * backslash refuses the script, except the restrict and unrestrict lines (a backslash, then
 * the word and a key) that newer pg_dumpall versions write themselves. What pg_dumpall writes
 * for roles and tablespaces holds no other backslash but in a role comment or a password, which
 * drkit then refuses too: restore without the globals and recreate such a role by hand.
 *
 * <p>Plain SQL needs no backslash to run programs ({@code COPY ... TO PROGRAM}, a function in an
 * untrusted language) or to change the server ({@code ALTER SYSTEM}, {@code DROP DATABASE}), and
 * the script runs as a superuser. So each statement must also be of a kind pg_dumpall writes for
 * roles and tablespaces: the three {@code SET}s it starts with, {@code CREATE}/{@code ALTER ROLE},
 * {@code CREATE}/{@code ALTER TABLESPACE}, {@code COMMENT} and {@code SECURITY LABEL} on a role or
 * tablespace, and {@code GRANT}/{@code REVOKE} of roles, or on a tablespace or a parameter. What
 * such statements can do is what restoring roles means (a forged script can make a superuser of
 * its own): restore roles only from a backup whose manifest a trusted key signed.
 */
final class PsqlScriptGuard {
    private static final Pattern RESTRICT = Pattern.compile("\\\\(un)?restrict [A-Za-z0-9]+");

    private PsqlScriptGuard() {}

    /**
     * @param script the script's bytes
     * @param what the script, for the message
     * @throws UnsafeArchiveException naming the line of the first backslash
     */
    static void check(byte[] script, String what) {
        checkNul(script, what);
        checkBackslashes(script, what);
        SqlScript sql = new SqlScript(new ByteArrayInputStream(script), what);
        try {
            for (byte[] statement; (statement = sql.nextStatement()) != null; ) {
                String text = new String(statement, StandardCharsets.UTF_8);
                if (sql.colonOutsideQuotes()) {
                    // :NAME, :'NAME' and :"NAME" are psql variables, whose values psql reads as script:
                    // LAST_ERROR_MESSAGE brings back the text of a value the script gave the server
                    throw new UnsafeArchiveException(what + " holds a ':' outside quotes (" + abbreviate(text)
                            + "), where psql would put a variable's value into the script; pg_dumpall writes "
                            + "none there, so it is not run. Restore without the globals, or from a backup whose "
                            + "manifest is signed by a trusted key");
                }
                if (!allowed(words(text)) && !serverEncoding(text)) {
                    throw new UnsafeArchiveException(what + " holds a statement of a kind pg_dumpall does not "
                            + "write for roles and tablespaces (" + abbreviate(text) + "), so it is not run. "
                            + "Restore without the globals, or from a backup whose manifest is signed by a "
                            + "trusted key");
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e); // read from memory: never
        }
    }

    /**
     * The {@code SET client_encoding} pg_dumpall starts with, naming the cluster's encoding: one a
     * server can have (in all of them no byte of a character is an ASCII one), never a client-only
     * one (SJIS, BIG5, GBK, UHC, GB18030, JOHAB), in which psql would read a quote inside a
     * character and split the script otherwise than this guard.
     */
    private static final Pattern SET_ENCODING =
            Pattern.compile("(?i)\\s*SET\\s+client_encoding\\s*(?:=|TO)\\s*'([A-Za-z0-9_]{1,40})'\\s*;\\s*");

    private static final Set<String> SERVER_ENCODINGS = Set.of(
            "SQLASCII",
            "UTF8",
            "UNICODE",
            "EUCJP",
            "EUCCN",
            "EUCKR",
            "EUCTW",
            "EUCJIS2004",
            "LATIN1",
            "LATIN2",
            "LATIN3",
            "LATIN4",
            "LATIN5",
            "LATIN6",
            "LATIN7",
            "LATIN8",
            "LATIN9",
            "LATIN10",
            "ISO88595",
            "ISO88596",
            "ISO88597",
            "ISO88598",
            "WIN866",
            "WIN874",
            "WIN1250",
            "WIN1251",
            "WIN1252",
            "WIN1253",
            "WIN1254",
            "WIN1255",
            "WIN1256",
            "WIN1257",
            "WIN1258",
            "KOI8R",
            "KOI8U",
            "MULEINTERNAL");

    /** Whether a statement is a {@code SET client_encoding} to an encoding a server can have. */
    static boolean serverEncoding(String statement) {
        Matcher m = SET_ENCODING.matcher(statement);
        return m.matches()
                && SERVER_ENCODINGS.contains(m.group(1).replace("_", "").toUpperCase(Locale.ROOT));
    }

    /** The settings pg_dumpall's script starts with. */
    private static final Set<String> SETTINGS =
            Set.of("DEFAULT_TRANSACTION_READ_ONLY", "CLIENT_ENCODING", "STANDARD_CONFORMING_STRINGS");

    /** Whether a statement, as its words outside quotes and comments, is one pg_dumpall writes for globals. */
    static boolean allowed(List<String> w) {
        if (w.isEmpty()) {
            return false;
        }
        String first = w.get(0);
        String second = w.size() > 1 ? w.get(1) : "";
        String third = w.size() > 2 ? w.get(2) : "";
        return switch (first) {
            case "SET" ->
                SETTINGS.contains(second)
                        && w.size() >= 3
                        && (third.equals("=") || third.equals("TO"))
                        && !second.equals("CLIENT_ENCODING");
            case "CREATE", "ALTER" -> second.equals("ROLE") || second.equals("TABLESPACE");
            case "COMMENT" -> second.equals("ON") && (third.equals("ROLE") || third.equals("TABLESPACE"));
            case "SECURITY" -> second.equals("LABEL") && labelsRoleOrTablespace(w);
            case "GRANT", "REVOKE" -> grantsRolesTablespacesOrParameters(w);
            default -> false;
        };
    }

    private static boolean labelsRoleOrTablespace(List<String> w) {
        int on = w.indexOf("ON");
        return on > 0
                && on + 1 < w.size()
                && (w.get(on + 1).equals("ROLE") || w.get(on + 1).equals("TABLESPACE"));
    }

    /** A role GRANT names no object ({@code GRANT a TO b}); the others name a tablespace or a parameter. */
    private static boolean grantsRolesTablespacesOrParameters(List<String> w) {
        int on = w.indexOf("ON");
        if (on < 0) {
            return true;
        }
        String kind = on + 1 < w.size() ? w.get(on + 1) : "";
        return kind.equals("TABLESPACE") || kind.equals("PARAMETER");
    }

    /**
     * The words of a statement outside quoted strings, quoted identifiers, dollar quotes and
     * comments, upper-cased; each punctuation character is a word of its own.
     */
    static List<String> words(String sql) {
        List<String> out = new ArrayList<>();
        int i = 0;
        int n = sql.length();
        while (i < n) {
            char c = sql.charAt(i);
            if (Character.isWhitespace(c)) {
                i++;
            } else if (c == '\'' || c == '"') {
                int j = i + 1;
                while (j < n) {
                    if (sql.charAt(j) == c) {
                        if (j + 1 < n && sql.charAt(j + 1) == c) {
                            j += 2; // a doubled quote stands for itself
                            continue;
                        }
                        break;
                    }
                    j++;
                }
                out.add(c == '"' ? "\"\"" : "''");
                i = j + 1;
            } else if (c == '-' && i + 1 < n && sql.charAt(i + 1) == '-') {
                // psql and the server end the comment at a carriage return as at a line feed
                int eol = i;
                while (eol < n && sql.charAt(eol) != '\n' && sql.charAt(eol) != '\r') {
                    eol++;
                }
                i = eol + 1;
            } else if (c == '/' && i + 1 < n && sql.charAt(i + 1) == '*') {
                int depth = 0;
                int j = i;
                do {
                    if (sql.startsWith("/*", j)) {
                        depth++;
                        j += 2;
                    } else if (sql.startsWith("*/", j)) {
                        depth--;
                        j += 2;
                    } else {
                        j++;
                    }
                } while (depth > 0 && j < n);
                i = j;
            } else if (c == '$') {
                int close = sql.indexOf('$', i + 1);
                String tag = close < 0 ? "$" : sql.substring(i, close + 1);
                int end = close < 0 ? -1 : sql.indexOf(tag, close + 1);
                out.add("$$");
                i = end < 0 ? n : end + tag.length();
            } else if (Character.isLetterOrDigit(c) || c == '_') {
                int j = i;
                while (j < n
                        && (Character.isLetterOrDigit(sql.charAt(j)) || sql.charAt(j) == '_' || sql.charAt(j) == '$')) {
                    j++;
                }
                out.add(sql.substring(i, j).toUpperCase(Locale.ROOT));
                i = j;
            } else {
                out.add(String.valueOf(c));
                i++;
            }
        }
        return out;
    }

    private static String abbreviate(String statement) {
        String oneLine = statement.strip().replaceAll("\\s+", " ");
        String shown = oneLine.length() > 60 ? oneLine.substring(0, 60) + "..." : oneLine;
        StringBuilder b = new StringBuilder();
        shown.codePoints().forEach(c -> b.appendCodePoint(Character.isISOControl(c) ? '?' : c));
        return "'" + b + "'";
    }

    /**
     * psql reads a line as a C string: it drops what follows a NUL to the end of the line, quotes
     * with it, and so reads the rest of the script otherwise than this guard. PostgreSQL text holds
     * no NUL, so pg_dumpall writes none.
     */
    private static void checkNul(byte[] script, String what) {
        int line = 1;
        for (byte b : script) {
            if (b == 0) {
                throw new UnsafeArchiveException(what + " holds a NUL byte at line " + line + ", after which psql "
                        + "would drop the rest of the line; pg_dumpall writes none, so it is not run. Restore "
                        + "without the globals, or from a backup whose manifest is signed by a trusted key");
            }
            if (b == '\n') {
                line++;
            }
        }
    }

    private static void checkBackslashes(byte[] script, String what) {
        String[] lines = new String(script, StandardCharsets.UTF_8).split("\n", -1);
        for (int i = 0; i < lines.length; i++) {
            String line = lines[i];
            if (line.indexOf('\\') >= 0
                    && !RESTRICT.matcher(line.stripTrailing()).matches()) {
                throw new UnsafeArchiveException(what + " holds a backslash at line " + (i + 1) + ", where psql "
                        + "could take it for a command (such as a shell escape); pg_dumpall writes none there, so "
                        + "it is not run. Restore without the globals, or from a backup whose manifest is signed by "
                        + "a trusted key");
            }
        }
    }
}
