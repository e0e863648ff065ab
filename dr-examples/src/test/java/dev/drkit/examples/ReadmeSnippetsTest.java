package dev.drkit.examples;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.StringWriter;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.tools.JavaCompiler;
import javax.tools.JavaFileObject;
import javax.tools.SimpleJavaFileObject;
import javax.tools.ToolProvider;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.api.io.TempDir;

/**
 * Every Java snippet of the README compiles against the modules as built, with the imports it shows,
 * and those imports are public packages only: what a newcomer copies works and uses the API.
 */
class ReadmeSnippetsTest {

    private static final Pattern BLOCK = Pattern.compile("```java\\n(.*?)```", Pattern.DOTALL);

    @TempDir
    Path out;

    @TestFactory
    List<DynamicTest> everyJavaSnippetCompilesWithPublicImportsOnly() throws IOException {
        String readme = Files.readString(Path.of("..", "README.md"));
        Matcher m = BLOCK.matcher(readme);
        List<DynamicTest> tests = new ArrayList<>();
        while (m.find()) {
            String block = m.group(1);
            int line = (int) readme.substring(0, m.start()).lines().count() + 1;
            tests.add(DynamicTest.dynamicTest("README.md line " + line, () -> compiles(block, line)));
        }
        assertThat(tests).as("Java snippets found in the README").hasSizeGreaterThanOrEqualTo(4);
        return tests;
    }

    private void compiles(String block, int line) throws IOException {
        List<String> imports = new ArrayList<>();
        StringBuilder body = new StringBuilder();
        for (String l : block.split("\n", -1)) {
            if (l.startsWith("import ")) {
                imports.add(l);
            } else {
                body.append(l).append('\n');
            }
        }
        assertThat(imports)
                .as("a snippet shows the imports it needs")
                .isNotEmpty()
                .noneMatch(i -> i.contains("dev.drkit.internal") || i.contains("dev.drkit.spi.support"));
        String head = "package readme;\n" + String.join("\n", imports) + "\n";
        String logger = "static final org.slf4j.Logger log = org.slf4j.LoggerFactory.getLogger(\"readme\");\n";
        // a snippet is either statements (wrapped in a method) or members (wrapped in a class)
        String asStatements = head + "class Snippet {\n" + logger + "void run() throws Exception {\n" + body + "}\n}\n";
        String asMembers = head + "class Snippet {\n" + logger + body + "}\n";
        String first = compile(asStatements);
        if (first.isEmpty()) {
            return;
        }
        String second = compile(asMembers);
        assertThat(second)
                .as("README.md line %d compiles neither as statements (%s) nor as class members", line, first)
                .isEmpty();
    }

    private String compile(String source) throws IOException {
        JavaCompiler javac = ToolProvider.getSystemJavaCompiler();
        JavaFileObject file =
                new SimpleJavaFileObject(URI.create("string:///readme/Snippet.java"), JavaFileObject.Kind.SOURCE) {
                    @Override
                    public CharSequence getCharContent(boolean ignoreEncodingErrors) {
                        return source;
                    }
                };
        StringWriter errors = new StringWriter();
        Path dir = Files.createTempDirectory(out, "classes");
        boolean ok = javac.getTask(
                        errors,
                        null,
                        null,
                        List.of(
                                "-classpath",
                                System.getProperty("java.class.path"),
                                "-d",
                                dir.toString(),
                                "-proc:none",
                                "-encoding",
                                StandardCharsets.UTF_8.name()),
                        null,
                        List.of(file))
                .call();
        return ok ? "" : errors.toString();
    }
}
