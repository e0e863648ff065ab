package dev.drkit.spring;

import dev.drkit.DrKit;
import java.util.ArrayList;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.boot.autoconfigure.AutoConfiguration;
import org.springframework.boot.autoconfigure.condition.ConditionalOnBean;
import org.springframework.boot.autoconfigure.condition.ConditionalOnMissingBean;
import org.springframework.boot.autoconfigure.condition.ConditionalOnProperty;
import org.springframework.context.annotation.Bean;
import org.springframework.core.env.Environment;

/**
 * When the application defines its own {@code DrKit} bean, the {@code drkit.*} properties
 * configure nothing: says so once at start-up, so that a target or schedule set there is not
 * believed to be backed up.
 */
@AutoConfiguration(after = DrkitAutoConfiguration.class)
@ConditionalOnProperty(name = "drkit.enabled", matchIfMissing = true)
@ConditionalOnBean(DrKit.class)
@ConditionalOnMissingBean(DrkitSetup.class)
class DrkitBackOffAutoConfiguration {
    private static final Logger LOG = LoggerFactory.getLogger(DrkitBackOffAutoConfiguration.class);

    @Bean
    UnusedProperties drkitUnusedProperties(Environment environment) {
        Map<String, Object> tree = SpringSetupReader.tree(environment, new ArrayList<>());
        Set<String> keys = new TreeSet<>(tree.keySet());
        keys.remove("enabled");
        UnusedProperties unused = new UnusedProperties(keys);
        unused.message().ifPresent(LOG::info);
        return unused;
    }

    /** The {@code drkit.*} keys that the application's own kit leaves unused. */
    record UnusedProperties(Set<String> keys) {
        Optional<String> message() {
            if (keys.isEmpty()) {
                return Optional.empty();
            }
            return Optional.of("drkit: the application defines its own DrKit bean, so the properties "
                    + keys.stream().map(k -> SpringSetupReader.PREFIX + "." + k).toList()
                    + " are not used (no kit, targets or schedules are built from them); configure that kit in code, "
                    + "or remove the bean to use the properties");
        }
    }
}
