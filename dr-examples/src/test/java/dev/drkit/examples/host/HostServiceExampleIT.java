package dev.drkit.examples.host;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.google.inject.Guice;
import com.google.inject.Injector;
import dev.drkit.DrEvent;
import dev.drkit.DrKit;
import dev.drkit.ProviderException;
import dev.drkit.RestoreRequest;
import dev.drkit.Settings;
import dev.drkit.TargetSpec;
import dev.drkit.testkit.PostgresServer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The host-service example: drkit wired by a jakarta.inject container, backups triggered from the service's code. */
class HostServiceExampleIT {
    @TempDir
    Path work;

    @Test
    void theServiceBacksUpAndVerifiesBeforeItMigrates() throws Exception {
        try (PostgresServer pg = PostgresServer.start()) {
            pg.createDatabase("corporate_intel");
            pg.execute(
                    "corporate_intel",
                    "CREATE TABLE companies (id int PRIMARY KEY, name text);"
                            + "INSERT INTO companies SELECT i, 'Company ' || i FROM generate_series(1, 500) i");
            Path config = Files.createDirectories(work.resolve("config"));
            Files.writeString(config.resolve("service.properties"), "db.pool=10\n");
            ServiceSettings settings = new ServiceSettings(
                    work.resolve("repo"),
                    pg.jdbcUrl("corporate_intel"),
                    PostgresServer.SUPERUSER,
                    pg.passwordFile(work),
                    config);

            Injector injector = Guice.createInjector(new DrModule(settings));
            MigrationGuard guard = injector.getInstance(MigrationGuard.class);
            try (DrKit kit = injector.getInstance(DrKit.class)) {
                assertThat(injector.getInstance(DrKit.class))
                        .as("one kit per service")
                        .isSameAs(kit);

                List<String> ids = guard.migrate(
                        "ALTER TABLE companies ADD COLUMN lei text", "UPDATE companies SET lei = 'LEI' || id");

                assertThat(kit.list(MigrationGuard.DATABASE_TARGET))
                        .extracting(m -> m.id())
                        .containsExactly(ids.get(0));
                assertThat(kit.list(MigrationGuard.CONFIG_TARGET))
                        .extracting(m -> m.id())
                        .containsExactly(ids.get(1));
                assertThat(columns(pg, "corporate_intel")).contains("lei");
                BackupEvents events = injector.getInstance(BackupEvents.class);
                assertThat(events.events())
                        .extracting(DrEvent::type)
                        .containsSubsequence(DrEvent.Type.BACKUP_SUCCEEDED, DrEvent.Type.BACKUP_SUCCEEDED);

                // the pre-migration backup restores the schema as it was
                kit.restore(new RestoreRequest(
                        MigrationGuard.DATABASE_TARGET,
                        ids.get(0),
                        Settings.builder()
                                .set("url", pg.jdbcUrl("postgres"))
                                .set("user", PostgresServer.SUPERUSER)
                                .set("password-file", settings.passwordFile().toString())
                                .set("to-database", "before_migration")
                                .build(),
                        false));
                assertThat(columns(pg, "before_migration")).containsExactly("id", "name");

                // and through the service's own DataSource, into its own database: the migration undone
                pg.execute("corporate_intel", "UPDATE companies SET name = 'renamed' WHERE id = 1");
                guard.rollBack(ids.get(0));
                assertThat(columns(pg, "corporate_intel")).containsExactly("id", "name");
                try (Connection c = pg.connect("corporate_intel");
                        ResultSet rs = c.createStatement()
                                .executeQuery("SELECT count(*), max(name) FILTER (WHERE id = 1) FROM companies")) {
                    rs.next();
                    assertThat(rs.getLong(1)).isEqualTo(500);
                    assertThat(rs.getString(2)).isEqualTo("Company 1");
                }

                // only the registered providers exist: redis is on the class path but not registered
                assertThatThrownBy(() -> kit.backup(new TargetSpec(
                                "cache",
                                "redis",
                                Settings.builder()
                                        .set("uri", "redis://127.0.0.1:1")
                                        .build())))
                        .isInstanceOf(ProviderException.class)
                        .hasMessageContaining("'redis'; known: files, postgres-logical");
            }
        }
    }

    private static List<String> columns(PostgresServer pg, String db) throws Exception {
        try (Connection c = pg.connect(db);
                ResultSet rs = c.createStatement()
                        .executeQuery(
                                "SELECT column_name FROM information_schema.columns WHERE table_name = 'companies' ORDER BY ordinal_position")) {
            List<String> out = new ArrayList<>();
            while (rs.next()) {
                out.add(rs.getString(1));
            }
            return out;
        }
    }
}
