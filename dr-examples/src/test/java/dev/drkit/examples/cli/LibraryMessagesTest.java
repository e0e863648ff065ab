package dev.drkit.examples.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The library speaks to hosts: no string in the main code of the library modules names a CLI
 * flag or a {@code drkit} command, and every settings key its messages name has a flag in
 * {@link MessageFlags}. This lives here because only the CLI module sees every other module.
 * Strings joined with {@code +} are read as one.
 */
class LibraryMessagesTest {
    private static final List<String> LIBRARY = List.of(
            "dr-core",
            "dr-scheduler",
            "dr-micrometer",
            "dr-incident",
            "dr-spring-boot-starter",
            "dr-crypto",
            "dr-postgres",
            "dr-postgres-launcher",
            "dr-redis",
            "dr-s3",
            "dr-minio",
            "dr-testkit");
    private static final Pattern FLAG = Pattern.compile("(?:^|[\\s('\"/])--(?:[a-z]|$)");
    private static final Pattern SETTING = Pattern.compile("setting '([a-z0-9]+(?:-[a-z0-9]+)*)'");

    /** Strings that are not messages: arguments of child processes and what other programs read. */
    private static final Map<String, String> NOT_MESSAGES = Map.ofEntries(
            Map.entry("--wait", "setsid argument (PgProcesses)"),
            Map.entry("--pdeathsig", "setpriv argument (PgProcesses)"),
            Map.entry("--", "end of setpriv's options (PgProcesses)"),
            Map.entry("--version", "asks pg_dump / redis-server for its version"),
            Map.entry("--sentinel", "redis-server argument: run as a sentinel (RedisServer)"),
            Map.entry("--list", "pg_restore argument (PostgresVerifiers)"),
            Map.entry("pg_restore --list failed (exit ", "names the pg_restore run that failed, not a drkit flag"),
            Map.entry("export one with 'gpg --export --armor KEY'", "how to get a key out of gpg, not a drkit flag"),
            Map.entry("export one with 'gpg --export-secret-keys --armor KEY'", "how to get a key out of gpg"),
            Map.entry("--pwfile=", "initdb argument"),
            Map.entry("--auth-local=trust", "initdb argument"),
            Map.entry("--auth-host=scram-sha-256", "initdb argument"),
            Map.entry("--locale=C", "initdb argument"),
            Map.entry("--no-sync", "initdb argument"),
            Map.entry("--data-checksums", "initdb argument"),
            Map.entry("--format=custom", "pg_dump argument"),
            Map.entry("--compress=0", "pg_dump argument"),
            Map.entry("--snapshot=", "pg_dump argument"),
            Map.entry("--no-password", "pg_dump / pg_dumpall / psql / pg_restore argument"),
            Map.entry("--globals-only", "pg_dumpall argument"),
            Map.entry("--no-psqlrc", "psql argument"),
            Map.entry("--quiet", "psql argument"),
            Map.entry("--exit-on-error", "pg_restore argument"),
            Map.entry("--clean", "pg_restore argument"),
            Map.entry("--if-exists", "pg_restore argument"),
            Map.entry("--table=", "pg_restore argument"),
            Map.entry("--dbname=dbname='", "pg_dump / pg_restore argument: a database named as a name (PgConnection)"),
            Map.entry("--schema=", "pg_restore argument"),
            Map.entry("--no-owner", "pg_restore argument"),
            Map.entry("--no-privileges", "pg_restore argument"),
            Map.entry("--jobs=", "pg_restore argument"),
            Map.entry("drkit restore in progress: ", "marker drkit writes into a database's comment"),
            Map.entry("# added by drkit restore of backup ", "comment drkit writes into postgresql.auto.conf"));

    private static final List<Literal> literals = new ArrayList<>();

    record Literal(Path file, int line, String text) {
        @Override
        public String toString() {
            return file + ":" + line + ": \"" + text + "\"";
        }
    }

    @BeforeAll
    static void readLibrary() throws IOException {
        Path user = Path.of(System.getProperty("user.dir")).toAbsolutePath();
        Path root = Files.isDirectory(user.resolve("dr-core")) ? user : user.getParent();
        for (String module : LIBRARY) {
            Path main = root.resolve(module).resolve("src/main/java");
            assertThat(main).as("library sources of " + module).isDirectory();
            try (Stream<Path> files = Files.walk(main)) {
                for (Path f : files.filter(p -> p.toString().endsWith(".java"))
                        .sorted()
                        .toList()) {
                    literals.addAll(strings(root.relativize(f), Files.readString(f)));
                }
            }
        }
        assertThat(literals).as("strings read from the library").hasSizeGreaterThan(1000);
    }

    @Test
    void noLibraryStringNamesACliFlag() {
        assertThat(literals.stream()
                        .filter(l -> FLAG.matcher(l.text()).find())
                        .filter(l -> !NOT_MESSAGES.containsKey(l.text()))
                        .map(Literal::toString))
                .as("library strings naming a command-line flag; name the settings key as setting 'KEY' "
                        + "or the API term (see MessageFlags)")
                .isEmpty();
    }

    @Test
    void noLibraryStringNamesADrkitCommand() {
        Set<String> commands = DrkitCli.commandLine().getSubcommands().keySet();
        assertThat(commands).contains("list", "restore", "wal-push");
        Pattern command = Pattern.compile("\\bdrkit (?:"
                + String.join("|", commands.stream().map(Pattern::quote).toList()) + ")\\b");
        assertThat(literals.stream()
                        .filter(l -> command.matcher(l.text()).find())
                        .filter(l -> !NOT_MESSAGES.containsKey(l.text()))
                        .map(Literal::toString))
                .as("library strings naming a drkit command; name the API call (see MessageFlags)")
                .isEmpty();
    }

    @Test
    void everySettingsKeyTheLibraryNamesHasACliFlag() {
        Set<String> keys = new TreeSet<>();
        for (Literal l : literals) {
            Matcher m = SETTING.matcher(l.text());
            while (m.find()) {
                keys.add(m.group(1));
            }
        }
        assertThat(keys).as("keys named as setting 'KEY'").contains("to", "secret-key", "repository");
        assertThat(keys.stream().filter(k -> MessageFlags.flag(k).isEmpty()))
                .as("settings keys library messages name but MessageFlags has no flag for")
                .isEmpty();
    }

    @Test
    void everyAllowedStringIsStillThere() {
        Set<String> seen = new LinkedHashSet<>();
        literals.forEach(l -> seen.add(l.text()));
        assertThat(NOT_MESSAGES.keySet().stream().filter(s -> !seen.contains(s)))
                .as("allow-list entries no library string matches any more; remove them")
                .isEmpty();
    }

    /**
     * The string literals of a Java source, comments skipped; literals joined by {@code +} (with
     * only whitespace or comments between) come back as one. Text blocks are read as written.
     */
    static List<Literal> strings(Path file, String src) {
        List<Literal> out = new ArrayList<>();
        StringBuilder current = null;
        int startLine = 0;
        int line = 1;
        int i = 0;
        int n = src.length();
        while (i < n) {
            char c = src.charAt(i);
            if (c == '\n') {
                line++;
                i++;
            } else if (src.startsWith("//", i)) {
                while (i < n && src.charAt(i) != '\n') {
                    i++;
                }
            } else if (src.startsWith("/*", i)) {
                int end = src.indexOf("*/", i + 2);
                end = end < 0 ? n : end + 2;
                line += count(src, i, end);
                i = end;
            } else if (c == '\'') {
                i = skipChar(src, i);
            } else if (c == '"') {
                boolean block = src.startsWith("\"\"\"", i);
                int start = block ? i + 3 : i + 1;
                int end = block ? src.indexOf("\"\"\"", start) : closingQuote(src, start);
                if (current == null) {
                    current = new StringBuilder();
                    startLine = line;
                }
                current.append(unescape(src.substring(start, end)));
                line += count(src, i, end);
                i = end + (block ? 3 : 1);
                if (!continuesWithLiteral(src, i)) {
                    out.add(new Literal(file, startLine, current.toString()));
                    current = null;
                }
            } else {
                i++;
            }
        }
        return out;
    }

    private static boolean continuesWithLiteral(String src, int i) {
        int j = skipBlank(src, i);
        if (j >= src.length() || src.charAt(j) != '+') {
            return false;
        }
        j = skipBlank(src, j + 1);
        return j < src.length() && src.charAt(j) == '"';
    }

    private static int skipBlank(String src, int i) {
        while (i < src.length()) {
            if (Character.isWhitespace(src.charAt(i))) {
                i++;
            } else if (src.startsWith("//", i)) {
                int end = src.indexOf('\n', i);
                i = end < 0 ? src.length() : end;
            } else if (src.startsWith("/*", i)) {
                int end = src.indexOf("*/", i + 2);
                i = end < 0 ? src.length() : end + 2;
            } else {
                break;
            }
        }
        return i;
    }

    private static int closingQuote(String src, int i) {
        while (src.charAt(i) != '"') {
            i += src.charAt(i) == '\\' ? 2 : 1;
        }
        return i;
    }

    private static int skipChar(String src, int i) {
        int j = i + 1;
        while (src.charAt(j) != '\'') {
            j += src.charAt(j) == '\\' ? 2 : 1;
        }
        return j + 1;
    }

    private static int count(String src, int from, int to) {
        int lines = 0;
        for (int k = from; k < to; k++) {
            if (src.charAt(k) == '\n') {
                lines++;
            }
        }
        return lines;
    }

    private static String unescape(String s) {
        return s.replace("\\\"", "\"")
                .replace("\\'", "'")
                .replace("\\n", "\n")
                .replace("\\t", "\t")
                .replace("\\\\", "\\");
    }
}
