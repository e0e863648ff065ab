package dev.drkit.spring;

import static org.assertj.core.api.Assertions.assertThat;

import dev.drkit.BackupManifest;
import dev.drkit.DrKit;
import dev.drkit.testkit.PostgresServer;
import dev.drkit.testkit.RedisServer;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.OptionalDouble;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.springframework.beans.factory.DisposableBean;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.SpringBootConfiguration;
import org.springframework.boot.autoconfigure.EnableAutoConfiguration;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.context.annotation.Bean;
import org.springframework.test.annotation.DirtiesContext;
import org.springframework.test.context.ActiveProfiles;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;

/**
 * A Spring Boot application with a real PostgreSQL and a real Redis, configured in YAML
 * ({@code application-it.yaml}): its scheduled backups happen through its own DataSource and Redis
 * connection, the health indicator goes DOWN when the backups are older than the RPO and UP
 * after a backup run through the endpoint, and Prometheus shows the meters with the values of
 * the backups made.
 */
@SpringBootTest(classes = DrkitStarterIT.App.class, webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT)
@ActiveProfiles("it")
@DirtiesContext
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class DrkitStarterIT {
    private static PostgresServer pg;
    private static RedisServer redis;
    private static Path repository;

    @SpringBootConfiguration
    @EnableAutoConfiguration
    static class App {
        @Bean
        MutableClock clock() {
            return MutableClock.halfPastTheHour();
        }

        /** Stops the servers when the context closes (after the scheduler has stopped), not before. */
        @Bean
        DisposableBean testServers() {
            return () -> {
                redis.close();
                pg.close();
            };
        }
    }

    @DynamicPropertySource
    static void servers(DynamicPropertyRegistry registry) throws Exception {
        pg = PostgresServer.start();
        pg.createDatabase("shop");
        pg.execute(
                "shop",
                "CREATE TABLE orders (id int PRIMARY KEY, item text); "
                        + "INSERT INTO orders SELECT g, 'item ' || g FROM generate_series(1, 250) g");
        redis = RedisServer.start();
        redis.command("SET", "session:1", "alice");
        redis.command("SET", "session:2", "bob");
        repository = Files.createTempDirectory("drkit-starter-repo");
        registry.add("test.repository", repository::toString);
        registry.add("spring.datasource.url", () -> pg.jdbcUrl("shop"));
        registry.add("spring.datasource.username", () -> PostgresServer.SUPERUSER);
        registry.add("spring.datasource.password", pg::password);
        registry.add("spring.data.redis.host", redis::host);
        registry.add("spring.data.redis.port", redis::port);
    }

    @Autowired
    DrKit kit;

    @Autowired
    MutableClock clock;

    @Autowired
    DrkitSchedulerLifecycle scheduler;

    @LocalServerPort
    int port;

    private final HttpClient http = HttpClient.newHttpClient();

    @Test
    @Order(1)
    void theScheduleBacksUpThroughTheApplicationsConnections() throws Exception {
        List<BackupManifest> db = awaitBackups("app-db");
        List<BackupManifest> sessions = awaitBackups("sessions");

        assertThat(db).hasSize(1);
        assertThat(db.get(0).type()).isEqualTo("postgres-logical");
        assertThat(db.get(0).metadata().get("rowCounts")).isEqualTo(Map.of("public.orders", 250));
        // the setup's dedup reached the kit around the application's DataSource, not the type's schema
        assertThat(db.get(0).metadata()).containsKey(BackupManifest.DEDUP);
        assertThat(sessions).hasSize(1);
        assertThat(sessions.get(0).metadata()).doesNotContainKey(BackupManifest.DEDUP);
        assertThat(sessions.get(0).type()).isEqualTo("redis");
        assertThat(kit.configuredTargets()).containsExactly("app-db", "sessions");
        // the manifest is listed before the backup's success event reaches the meters: the next
        // test reads them, so wait for that too
        awaitSample(
                "drkit_backup_seconds_count", "outcome=\"success\",target=\"app-db\",type=\"postgres-logical\"", 1.0);
    }

    @Test
    @Order(2)
    void healthIsUpWhileTheBackupsAreFreshAndPrometheusShowsThem() throws Exception {
        HttpResponse<String> health = get("/actuator/health/drkit");
        assertThat(health.statusCode()).as(health.body()).isEqualTo(200);
        assertThat(health.body()).contains("\"status\":\"UP\"").contains("\"app-db\"");

        BackupManifest db = kit.list("app-db").get(0);
        String metrics = get("/actuator/prometheus").body();
        assertThat(value(
                        metrics,
                        "drkit_backup_seconds_count",
                        "outcome=\"success\",target=\"app-db\",type=\"postgres-logical\""))
                .isEqualTo(1.0);
        assertThat(value(metrics, "drkit_backup_read_bytes_total", "target=\"app-db\",type=\"postgres-logical\""))
                .isEqualTo((double) db.rawSize());
        assertThat(value(metrics, "drkit_backup_stored_bytes_total", "target=\"app-db\",type=\"postgres-logical\""))
                .isEqualTo((double) db.storedSize());
        assertThat(value(metrics, "drkit_backup_last_success_age_seconds", "target=\"app-db\""))
                .isBetween(0.0, 60.0);
        assertThat(value(metrics, "drkit_backup_rpo_objective_seconds", "target=\"app-db\""))
                .isEqualTo(3600.0);
    }

    @Test
    @Order(3)
    void healthGoesDownWhenTheBackupsAgePastTheRpoAndUpAfterABackup() throws Exception {
        // the scheduler keeps the application's time: two hours on, its hourly jobs are due and
        // would back up beside this test's own backups; stopped, it waits for a running one
        HttpResponse<String> status = get("/actuator/drkit");
        assertThat(status.body()).contains("\"backup-app-db\":\"0 * * * *\"");
        scheduler.stop();
        clock.advance(Duration.ofHours(2));

        HttpResponse<String> stale = get("/actuator/health/drkit");
        assertThat(stale.statusCode()).isEqualTo(503);
        assertThat(stale.body()).contains("\"status\":\"DOWN\"").contains("the RPO is 3600 s");
        assertThat(value(
                        get("/actuator/prometheus").body(),
                        "drkit_backup_last_success_age_seconds",
                        "target=\"app-db\""))
                .isBetween(7200.0, 7260.0);

        for (String target : List.of("app-db", "sessions")) {
            HttpResponse<String> backup = post("/actuator/drkit/" + target);
            assertThat(backup.statusCode()).as(backup.body()).isEqualTo(200);
            assertThat(backup.body()).contains("\"target\":\"" + target + "\"");
        }

        HttpResponse<String> fresh = get("/actuator/health/drkit");
        assertThat(fresh.statusCode()).as(fresh.body()).isEqualTo(200);
        assertThat(fresh.body()).contains("\"status\":\"UP\"");
        String metrics = get("/actuator/prometheus").body();
        assertThat(value(
                        metrics,
                        "drkit_backup_seconds_count",
                        "outcome=\"success\",target=\"app-db\",type=\"postgres-logical\""))
                .isEqualTo(2.0);
        assertThat(value(metrics, "drkit_backup_last_success_age_seconds", "target=\"app-db\""))
                .isBetween(0.0, 60.0);
        assertThat(kit.list("app-db")).hasSize(2);
    }

    @Test
    @Order(4)
    void theEndpointListsBackupsAndRefusesUnknownTargets() throws Exception {
        HttpResponse<String> list = get("/actuator/drkit/app-db");
        assertThat(list.statusCode()).isEqualTo(200);
        for (BackupManifest m : kit.list("app-db")) {
            assertThat(list.body()).contains("\"id\":\"" + m.id() + "\"");
        }
        HttpResponse<String> unknown = post("/actuator/drkit/nope");
        assertThat(unknown.statusCode()).isEqualTo(404);
        assertThat(unknown.body()).contains("no target is configured under the name 'nope'");
    }

    private List<BackupManifest> awaitBackups(String target) throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofSeconds(90).toNanos();
        while (System.nanoTime() < deadline) {
            if (!kit.list(target).isEmpty()) {
                return kit.list(target);
            }
            Thread.sleep(200);
        }
        throw new AssertionError("no scheduled backup of " + target + " within 90 s");
    }

    private void awaitSample(String name, String labels, double expected) throws Exception {
        long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        String scrape = get("/actuator/prometheus").body();
        while (!sample(scrape, name, labels).equals(OptionalDouble.of(expected)) && System.nanoTime() < deadline) {
            Thread.sleep(100);
            scrape = get("/actuator/prometheus").body();
        }
        assertThat(value(scrape, name, labels)).isEqualTo(expected);
    }

    private HttpResponse<String> get(String path) throws IOException, InterruptedException {
        return http.send(
                HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path))
                        .build(),
                HttpResponse.BodyHandlers.ofString());
    }

    private HttpResponse<String> post(String path) throws IOException, InterruptedException {
        return http.send(
                HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path))
                        .POST(HttpRequest.BodyPublishers.noBody())
                        .build(),
                HttpResponse.BodyHandlers.ofString());
    }

    /** The value of one Prometheus sample, by name and exact label set. */
    static double value(String scrape, String name, String labels) {
        OptionalDouble v = sample(scrape, name, labels);
        if (v.isEmpty()) {
            throw new AssertionError("no sample " + name + "{" + labels + "} in:\n" + grep(scrape, name));
        }
        return v.getAsDouble();
    }

    private static OptionalDouble sample(String scrape, String name, String labels) {
        Matcher m = Pattern.compile("(?m)^" + Pattern.quote(name + "{" + labels + "}") + " (\\S+)$")
                .matcher(scrape);
        return m.find() ? OptionalDouble.of(Double.parseDouble(m.group(1))) : OptionalDouble.empty();
    }

    private static String grep(String scrape, String name) {
        return scrape.lines().filter(l -> l.contains(name.split("_")[0])).reduce("", (a, b) -> a + b + "\n");
    }
}
