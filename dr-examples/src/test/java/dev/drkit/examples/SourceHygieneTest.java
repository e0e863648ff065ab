package dev.drkit.examples;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * Code names classes by their imports: no inline fully-qualified class names in the code of any
 * module (Javadoc and comments may use them, and a name two imports would clash on may too, marked
 * with a {@code // fully qualified:} comment on its line).
 */
class SourceHygieneTest {
    private static final Pattern FQN =
            Pattern.compile("(?<![\\w.\"])@?((?:java|javax|jakarta|dev|com|org|io|software|picocli|reactor|net|redis)"
                    + "(?:\\.[a-z][a-z0-9_]*)+)\\.([A-Z]\\w*)");
    private static final Pattern STRING = Pattern.compile("\"(?:\\\\.|[^\"\\\\])*\"");

    @Test
    void codeImportsTheClassesItNames() throws IOException {
        Path root = Path.of(System.getProperty("user.dir")).toAbsolutePath().getParent();
        List<String> found = new ArrayList<>();
        List<Path> modules;
        try (Stream<Path> dirs = Files.list(root)) {
            modules = dirs.filter(d -> d.getFileName().toString().startsWith("dr-"))
                    .sorted()
                    .toList();
        }
        int scanned = 0;
        for (Path module : modules) {
            for (String kind : List.of("main", "test")) {
                Path src = module.resolve("src").resolve(kind).resolve("java");
                if (!Files.isDirectory(src)) {
                    continue;
                }
                try (Stream<Path> files = Files.walk(src)) {
                    for (Path f :
                            files.filter(p -> p.toString().endsWith(".java")).toList()) {
                        scanned++;
                        scan(root, f, found);
                    }
                }
            }
        }
        assertThat(scanned).as("Java files scanned").isGreaterThan(300);
        assertThat(found)
                .as("inline fully-qualified class names: import the class instead")
                .isEmpty();
    }

    /** Error codes with an exception class of their own, which the code throws instead of a bare DrException. */
    private static final Pattern NAMED_CODE = Pattern.compile(
            "new DrException\\(\\s*(?:DrException\\.)?ErrorCode\\.(CONFIG_INVALID|PROVIDER_SELECTION|PROVIDER_BROKEN"
                    + "|BACKUP_NOT_FOUND|CHECKSUM_MISMATCH|CORRUPT_DATA|LOCKED|DESTINATION_NOT_EMPTY|UNSAFE_ARCHIVE"
                    + "|STORAGE|OBJECT_EXISTS|VERIFICATION_FAILED|REPOSITORY_NOT_FOUND)\\b");

    @Test
    void errorsWithANamedExceptionAreThrownAsIt() throws IOException {
        Path root = Path.of(System.getProperty("user.dir")).toAbsolutePath().getParent();
        List<String> found = new ArrayList<>();
        try (Stream<Path> files = Files.walk(root)) {
            for (Path f : files.filter(
                            p -> p.toString().endsWith(".java") && p.toString().contains("/src/main/java/"))
                    .toList()) {
                Matcher m = NAMED_CODE.matcher(Files.readString(f));
                while (m.find()) {
                    found.add(root.relativize(f) + ": ErrorCode." + m.group(1));
                }
            }
        }
        assertThat(found)
                .as("bare DrExceptions of a code that has its own exception class (ConfigException, "
                        + "CorruptDataException, ...): throw that class, so that hosts can catch it")
                .isEmpty();
    }

    private static void scan(Path root, Path file, List<String> found) throws IOException {
        List<String> lines = Files.readAllLines(file);
        boolean inComment = false;
        for (int i = 0; i < lines.size(); i++) {
            String line = lines.get(i);
            String s = line.strip();
            if (inComment) {
                if (s.contains("*/")) {
                    inComment = false;
                }
                continue;
            }
            if (s.startsWith("/*")) {
                inComment = !s.contains("*/");
                continue;
            }
            if (s.startsWith("*") || s.startsWith("//") || s.startsWith("import ") || s.startsWith("package ")) {
                continue;
            }
            if (line.contains("// fully qualified:")) {
                continue;
            }
            String code = STRING.matcher(line).replaceAll("\"\"");
            int comment = code.indexOf("//");
            if (comment >= 0) {
                code = code.substring(0, comment);
            }
            Matcher m = FQN.matcher(code);
            if (m.find()) {
                found.add(root.relativize(file) + ":" + (i + 1) + ": " + m.group());
            }
        }
    }
}
