package dev.drkit.examples.spring;

import dev.drkit.postgres.EmbeddedPostgres;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.SQLException;
import java.util.Map;
import org.springframework.beans.factory.support.DefaultSingletonBeanRegistry;
import org.springframework.context.ApplicationContextInitializer;
import org.springframework.context.ConfigurableApplicationContext;
import org.springframework.core.env.MapPropertySource;

/**
 * Starts the shop's own PostgreSQL server (embedded binaries, under {@code shop.data-dir},
 * default {@code target/shop}) before the application context, and hands its address to the
 * application as ordinary {@code spring.datasource.*} properties, as a real deployment's
 * configuration would. Stops it after everything else when the application stops.
 */
public final class ShopDatabase implements ApplicationContextInitializer<ConfigurableApplicationContext> {
    static final String DATABASE = "shop";

    @Override
    public void initialize(ConfigurableApplicationContext context) {
        Path dir = Path.of(context.getEnvironment().getProperty("shop.data-dir", "target/shop"));
        EmbeddedPostgres server;
        try {
            server = EmbeddedPostgres.create(EmbeddedPostgres.bundledBinaries(), dir.resolve("pg"), Map.of());
            try (Connection c = server.connect("postgres")) {
                c.createStatement().execute("CREATE DATABASE " + DATABASE);
            }
        } catch (IOException e) {
            throw new UncheckedIOException("starting the shop's database in " + dir, e);
        } catch (SQLException e) {
            throw new IllegalStateException("creating the shop's database: " + e.getMessage(), e);
        }
        context.getEnvironment()
                .getPropertySources()
                .addFirst(new MapPropertySource(
                        "shop-database",
                        Map.of(
                                "spring.datasource.url", server.jdbcUrl(DATABASE),
                                "spring.datasource.username", EmbeddedPostgres.SUPERUSER,
                                "spring.datasource.password", server.password())));
        // registered before every other bean, so destroyed after them all: the server outlives the
        // scheduler's last backup and the connection pool
        ((DefaultSingletonBeanRegistry) context.getBeanFactory())
                .registerDisposableBean("shopDatabaseServer", server::close);
    }
}
