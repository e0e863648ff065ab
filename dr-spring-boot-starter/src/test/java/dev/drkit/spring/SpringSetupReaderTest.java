package dev.drkit.spring;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.springframework.boot.context.properties.source.ConfigurationPropertySources;
import org.springframework.core.env.MapPropertySource;
import org.springframework.core.env.StandardEnvironment;
import org.springframework.core.env.SystemEnvironmentPropertySource;

class SpringSetupReaderTest {
    private final StandardEnvironment environment = new StandardEnvironment();
    private final List<String> problems = new ArrayList<>();

    /** Added in order of falling precedence. */
    private void source(String name, Map<String, Object> properties) {
        environment.getPropertySources().addLast(new MapPropertySource(name, properties));
    }

    private void environmentVariables(Map<String, Object> variables) {
        environment
                .getPropertySources()
                .addFirst(new SystemEnvironmentPropertySource(
                        StandardEnvironment.SYSTEM_ENVIRONMENT_PROPERTY_SOURCE_NAME, variables));
    }

    @SuppressWarnings("unchecked")
    private Map<String, Object> target(String name) {
        Map<String, Object> tree = SpringSetupReader.tree(environment, problems);
        return (Map<String, Object>) ((Map<String, Object>) tree.get("targets")).get(name);
    }

    @Test
    void anEnvironmentVariableReplacesTheYamlsListWhole() {
        source(
                "yaml",
                Map.of(
                        "drkit.targets.db.type",
                        "files",
                        "drkit.targets.db.path[0]",
                        "/a",
                        "drkit.targets.db.path[1]",
                        "/b"));
        environmentVariables(Map.of("DRKIT_TARGETS_DB_PATH", "/override"));

        assertThat(target("db")).containsEntry("path", "/override").containsEntry("type", "files");
        assertThat(problems).isEmpty();

        ConfigurationPropertySources.attach(environment); // as in a running application
        assertThat(target("db")).containsEntry("path", "/override");
    }

    @Test
    void aListFromAHigherSourceIsNotMergedWithALowerOnesItems() {
        source("command-line", Map.of("drkit.targets.db.path[0]", "/only"));
        source("yaml", Map.of("drkit.targets.db.path[0]", "/a", "drkit.targets.db.path[1]", "/b"));

        assertThat(target("db")).containsEntry("path", List.of("/only"));
    }

    @Test
    void mappingsStillMergeKeyByKeyAcrossSources() {
        environmentVariables(Map.of("DRKIT_TARGETS_DB_URL", "jdbc:postgresql://prod/shop"));
        source(
                "yaml",
                Map.of(
                        "drkit.targets.db.type",
                        "postgres-logical",
                        "drkit.targets.db.url",
                        "jdbc:postgresql://dev/shop"));

        assertThat(target("db"))
                .containsEntry("type", "postgres-logical")
                .containsEntry("url", "jdbc:postgresql://prod/shop");
    }

    @Test
    void aPlaceholderThatDoesNotResolveIsAProblemThatDoesNotEchoTheRestOfTheValue() {
        source(
                "yaml",
                Map.of(
                        "drkit.repository", "${backups.dir}",
                        "drkit.targets.cache.type", "redis",
                        "drkit.targets.cache.uri", "redis://${redis.secret-part}@${redis.host}",
                        "redis.secret-part", "hunter2"));

        SpringSetupReader.tree(environment, problems);

        assertThat(problems)
                .containsExactlyInAnyOrder(
                        "drkit.repository: the placeholder '${backups.dir}' does not resolve; set the property "
                                + "'backups.dir' (or its environment variable), or give the value itself",
                        "drkit.targets.cache.uri: the placeholder '${redis.host}' does not resolve; set the property "
                                + "'redis.host' (or its environment variable), or give the value itself");
        assertThat(String.join("\n", problems)).doesNotContain("hunter2");
    }

    @Test
    void aTargetNameSpringWouldChangeIsAProblemAndABracketedNameIsKept() {
        source(
                "yaml",
                Map.of(
                        "drkit.targets.Orders.type", "files",
                        "drkit.targets.my_db.type", "files",
                        "drkit.targets.[Kept_Name].type", "files",
                        "drkit.targets.plain-name.type", "files"));

        Map<String, Object> tree = SpringSetupReader.tree(environment, problems);

        assertThat(problems)
                .containsExactlyInAnyOrder(
                        "drkit.targets.Orders: Spring reads this target's name as 'orders'; write the name in "
                                + "brackets to keep it as it is (drkit.targets.[Orders]), or use 'orders'",
                        "drkit.targets.my_db: Spring reads this target's name as 'mydb'; write the name in "
                                + "brackets to keep it as it is (drkit.targets.[my_db]), or use 'mydb'");
        assertThat(((Map<?, ?>) tree.get("targets")).keySet())
                .map(String::valueOf)
                .contains("Kept_Name", "plain-name");
    }

    @Test
    void environmentVariablesNameTargetsWithoutAProblem() {
        environmentVariables(Map.of("DRKIT_TARGETS_DB_TYPE", "files", "DRKIT_TARGETS_DB_PATH_0_", "/a"));

        assertThat(target("db")).containsEntry("type", "files").containsEntry("path", List.of("/a"));
        assertThat(problems).isEmpty();
    }

    @Test
    void anEnvironmentVariableSplitsAKeyWithADashIntoLevelsAsSpringDoes() {
        // the tree keeps Spring's levels; SetupFile joins them by the target type's schema
        environmentVariables(Map.of("DRKIT_TARGETS_DB_PASSWORD_FILE", "/run/secrets/pg"));

        assertThat(target("db")).containsEntry("password", Map.of("file", "/run/secrets/pg"));
    }

    @Test
    void camelCaseAndUnderscoredKeysReadAsTheirDashedNamesAsInSpringsRelaxedBinding() {
        source(
                "properties",
                Map.of(
                        "drkit.targets.db.type", "postgres-logical",
                        "drkit.targets.db.password_file", "/run/secrets/pg",
                        "drkit.targets.db.retention.keepHourly", "24",
                        "drkit.scheduler.shutdownGrace", "20s"));

        Map<String, Object> tree = SpringSetupReader.tree(environment, problems);

        assertThat(target("db"))
                .containsEntry("password-file", "/run/secrets/pg")
                .containsEntry("retention", Map.of("keep-hourly", "24"));
        assertThat(tree).containsEntry("scheduler", Map.of("shutdown-grace", "20s"));
        assertThat(problems).isEmpty();
    }
}
