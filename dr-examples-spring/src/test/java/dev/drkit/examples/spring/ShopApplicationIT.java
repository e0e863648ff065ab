package dev.drkit.examples.spring;

import static org.assertj.core.api.Assertions.assertThat;

import dev.drkit.BackupManifest;
import dev.drkit.DrKit;
import dev.drkit.RepositoryNotFoundException;
import dev.drkit.testkit.PostgresServer;
import dev.drkit.testkit.Prerequisites;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.assertj.core.api.InstanceOfAssertFactories;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.springframework.boot.SpringApplication;
import org.springframework.context.ConfigurableApplicationContext;

/**
 * The example shop as a newcomer runs it: started by its main class's wiring, it backs up its own
 * database on its schedule (the first slot at start-up), reports UP, and its application.yaml is
 * the one the README shows.
 */
class ShopApplicationIT {
    @TempDir
    Path tmp;

    @Test
    void theShopBacksUpItsOwnDatabase() throws Exception {
        Prerequisites.require(
                PostgresServer.findBinDir().map(d -> d.resolve("pg_dump")).filter(Files::isExecutable),
                "pg_dump 15 or newer is not installed (apt install postgresql-client)");
        SpringApplication app = new SpringApplication(ShopApplication.class);
        app.addInitializers(new ShopDatabase());
        try (ConfigurableApplicationContext context = app.run(
                "--server.port=0",
                "--shop.data-dir=" + tmp.resolve("shop"),
                "--shop.backups=" + tmp.resolve("backups"))) {
            DrKit kit = context.getBean(DrKit.class);
            BackupManifest backup = awaitBackup(kit, "shop-db");
            assertThat(backup.type()).isEqualTo("postgres-logical");
            assertThat(backup.metadata().get("rowCounts"))
                    .asInstanceOf(InstanceOfAssertFactories.MAP)
                    .containsKey("public.orders");

            int port = Integer.parseInt(context.getEnvironment().getProperty("local.server.port"));
            HttpResponse<String> health = HttpClient.newHttpClient()
                    .send(
                            HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/actuator/health/drkit"))
                                    .build(),
                            HttpResponse.BodyHandlers.ofString());
            assertThat(health.statusCode()).as(health.body()).isEqualTo(200);
            assertThat(health.body()).contains("\"shop-db\"").contains("\"status\":\"UP\"");
        }
    }

    @Test
    void theReadmeShowsTheShopsApplicationYaml() throws IOException {
        String yaml = Files.readString(Path.of("src/main/resources/application.yaml"));
        String readme = Files.readString(Path.of("../README.md"));
        String body = yaml.lines().filter(l -> !l.startsWith("#")).reduce("", (a, b) -> a + b + "\n");
        assertThat(readme)
                .as("README.md shows dr-examples-spring's application.yaml")
                .contains(body);
    }

    private static BackupManifest awaitBackup(DrKit kit, String target) throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        while (System.nanoTime() < deadline) {
            try {
                List<BackupManifest> backups = kit.list(target);
                if (!backups.isEmpty()) {
                    return backups.get(0);
                }
            } catch (RepositoryNotFoundException e) {
                // the first backup creates the repository
            }
            Thread.sleep(200);
        }
        throw new AssertionError("the shop made no backup of " + target + " within 60 s");
    }
}
