package dev.drkit.postgres;

import dev.drkit.UnsafeArchiveException;
import java.nio.charset.StandardCharsets;
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
