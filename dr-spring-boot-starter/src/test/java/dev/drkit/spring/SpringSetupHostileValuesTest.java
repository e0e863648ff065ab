package dev.drkit.spring;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatCode;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.springframework.core.env.MapPropertySource;
import org.springframework.core.env.StandardEnvironment;

/** drkit.* properties a host gets wrong: each a problem that names its key, never a Java exception. */
class SpringSetupHostileValuesTest {
    private final StandardEnvironment environment = new StandardEnvironment();
    private final List<String> problems = new ArrayList<>();

    @Test
    void anIndexTooLargeForAnIntIsAProblemNotANumberFormatException() {
        // path[99999999999]: Integer.parseInt failed in the middle of reading the tree, and the
        // application's start failed with "For input string" instead of drkit's problem list
        environment
                .getPropertySources()
                .addLast(new MapPropertySource(
                        "yaml",
                        Map.of(
                                "drkit.targets.db.type", "files",
                                "drkit.targets.db.path[99999999999]", "/a")));
        assertThatCode(() -> SpringSetupReader.tree(environment, problems)).doesNotThrowAnyException();
        assertThat(problems).anySatisfy(p -> assertThat(p).contains("drkit.targets.db.path"));
    }
}
