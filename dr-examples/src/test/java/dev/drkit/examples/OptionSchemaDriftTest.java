package dev.drkit.examples;

import static org.assertj.core.api.Assertions.assertThat;

import dev.drkit.spi.BackupTargetProvider;
import dev.drkit.spi.OptionSchema;
import dev.drkit.spi.RetentionPolicyProvider;
import dev.drkit.spi.StorageBackendProvider;
import dev.drkit.spi.VerifierProvider;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.ServiceLoader;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * The providers' option schemas match what their code reads: every key the library's main code
 * reads from a settings bag by a literal name is an option some built-in provider publishes, and
 * every built-in provider publishes a schema. Only this module sees every provider.
 */
class OptionSchemaDriftTest {
    private static final List<String> LIBRARY = List.of("dr-core", "dr-postgres", "dr-redis", "dr-s3", "dr-minio");

    /** Reads of a settings bag (named settings, s, o or options) by a literal key. */
    private static final Pattern READ = Pattern.compile(
            "\\b(?:settings|s|o|options)\\s*\\.\\s*(?:get|has|require|getAll|bool|integer|size|duration|path)"
                    + "\\(\\s*\"([a-z][a-z0-9-]*)\"");

    /**
     * Files whose settings are not a provider's: the kit's own configuration, the WAL streamer a host runs itself,
     * the failovers (their fromSettings keys are documented on the classes).
     */
    private static final Set<String> NOT_PROVIDER_OPTIONS = Set.of(
            "DrKitConfig.java",
            "Settings.java",
            "PostgresWalStreamer.java",
            "PostgresFailover.java",
            "RedisFailover.java");

    @Test
    void everyKeyTheLibraryReadsIsInSomeSchema() throws IOException {
        List<OptionSchema> schemas = new ArrayList<>();
        ServiceLoader.load(BackupTargetProvider.class).forEach(p -> {
            schemas.add(p.schema());
            schemas.add(p.restoreSchema());
        });
        ServiceLoader.load(StorageBackendProvider.class).forEach(p -> schemas.add(p.schema()));
        ServiceLoader.load(VerifierProvider.class).forEach(p -> schemas.add(p.schema()));
        ServiceLoader.load(RetentionPolicyProvider.class).forEach(p -> schemas.add(p.schema()));
        assertThat(schemas).as("built-in schemas").hasSizeGreaterThan(20).allMatch(OptionSchema::checked);

        Set<String> read = new TreeSet<>();
        Path root = root();
        for (String module : LIBRARY) {
            try (Stream<Path> files = Files.walk(root.resolve(module).resolve("src/main/java"))) {
                for (Path f : files.filter(p -> p.toString().endsWith(".java"))
                        .filter(p ->
                                !NOT_PROVIDER_OPTIONS.contains(p.getFileName().toString()))
                        .toList()) {
                    Matcher m = READ.matcher(Files.readString(f));
                    while (m.find()) {
                        read.add(m.group(1));
                    }
                }
            }
        }
        assertThat(read).as("keys read by literal name").contains("path", "url", "to-database", "part-size", "time");
        // a literal ending in '-' is the start of a key built by concatenation ("tablespace-" + oid):
        // a family of options, looked up with a suffix as any of its keys would be
        assertThat(read.stream()
                        .filter(k -> schemas.stream()
                                .noneMatch(s ->
                                        s.find(k.endsWith("-") ? k + "1" : k).isPresent())))
                .as("keys the code reads that no provider's schema publishes")
                .isEmpty();
    }

    private static Path root() {
        Path user = Path.of(System.getProperty("user.dir")).toAbsolutePath();
        return Files.isDirectory(user.resolve("dr-core")) ? user : user.getParent();
    }
}
