package dev.drkit.spring;

import dev.drkit.DrKit;

/**
 * A bean that adjusts the auto-configured kit before it is built: encryption and signing keys,
 * further targets configured in code, providers, a clock. Applied in bean order, after the
 * properties' targets and the application's listeners.
 *
 * <pre>{@code
 * @Bean
 * DrKitBuilderCustomizer encryption() {
 *     return builder -> builder.encryption(PgpEncryption.builder().recipients(Path.of("/etc/drkit/backup.asc")).build());
 * }
 * }</pre>
 */
@FunctionalInterface
public interface DrKitBuilderCustomizer {
    /** Adjusts the builder; called once, on the thread creating the kit. */
    void customize(DrKit.Builder builder);
}
