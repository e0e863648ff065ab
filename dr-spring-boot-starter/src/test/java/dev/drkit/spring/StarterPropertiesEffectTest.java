package dev.drkit.spring;

import static org.assertj.core.api.Assertions.assertThat;

import com.sun.net.httpserver.HttpServer;
import dev.drkit.ConfigException;
import dev.drkit.DrKit;
import dev.drkit.micrometer.DrMetrics;
import dev.drkit.spi.ObjectInfo;
import dev.drkit.spi.ObjectUpload;
import dev.drkit.spi.StorageBackend;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.assertj.core.api.Assertions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.springframework.boot.autoconfigure.AutoConfigurations;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;

/** What the starter does with its properties: the webhook is heard, a storage failure neither stops the start nor the gauges, a missing repository is named. */
class StarterPropertiesEffectTest {
    @TempDir
    Path tmp;

    private final ApplicationContextRunner runner = new ApplicationContextRunner()
            .withConfiguration(
                    AutoConfigurations.of(DrkitAutoConfiguration.class, DrkitActuatorAutoConfiguration.class));

    /**
     * {@code drkit.notifications.webhook} is accepted (and advertised in the configuration metadata as
     * "A URL events are POSTed to as JSON"), but nothing in the starter builds a WebhookListener from it:
     * a failed backup is never reported to the webhook the operator configured.
     */
    @Test
    void theWebhookOfThePropertiesHearsTheKitsEvents() throws Exception {
        List<String> posted = new CopyOnWriteArrayList<>();
        HttpServer server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        server.createContext("/hook", exchange -> {
            posted.add(new String(exchange.getRequestBody().readAllBytes(), StandardCharsets.UTF_8));
            exchange.sendResponseHeaders(204, -1);
            exchange.close();
        });
        server.start();
        try {
            Path source = Files.createDirectories(tmp.resolve("config"));
            Files.writeString(source.resolve("app.properties"), "greeting=hello\n");
            runner.withPropertyValues(
                            "drkit.repository=" + tmp.resolve("repo"),
                            "drkit.targets.config.type=files",
                            "drkit.targets.config.path[0]=" + source,
                            "drkit.scheduler.enabled=false",
                            "drkit.notifications.webhook=http://127.0.0.1:"
                                    + server.getAddress().getPort() + "/hook",
                            "drkit.notifications.events[0]=backup-succeeded")
                    .run(context -> {
                        assertThat(context).hasNotFailed();
                        context.getBean(DrKit.class).backup("config");
                        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
                        while (posted.isEmpty() && System.nanoTime() < deadline) {
                            Thread.sleep(100);
                        }
                        assertThat(posted)
                                .as("events POSTed to drkit.notifications.webhook")
                                .anySatisfy(body -> assertThat(body).contains("BACKUP_SUCCEEDED"));
                    });
        } finally {
            server.stop(0);
        }
    }

    /**
     * The refresher catches only DrException and IllegalStateException, while the health indicator and the
     * endpoint (DrkitStorageFailureTest) are built to survive any unchecked exception of a storage client.
     * A storage failing with another unchecked exception (UncheckedIOException here) makes refresh() throw:
     * at start-up that fails the whole application (SmartLifecycle.start), and on the once-a-minute timer
     * it cancels every later refresh (ScheduledExecutorService suppresses the task after one exception),
     * so the gauges stop following the repository for good.
     */
    @Test
    void aStorageClientsUncheckedFailureNeitherFailsStartUpNorStopsTheGaugeRefresh() throws IOException {
        Path source = Files.createDirectories(tmp.resolve("config"));
        runner.withBean(SimpleMeterRegistry.class)
                .withBean(DrKitBuilderCustomizer.class, () -> b -> b.storage(new UncheckedFailingStorage()))
                .withPropertyValues(
                        "drkit.repository=" + tmp.resolve("repo"),
                        "drkit.targets.config.type=files",
                        "drkit.targets.config.path[0]=" + source,
                        "drkit.scheduler.enabled=false")
                .run(context -> assertThat(context)
                        .as("an application whose repository is unreachable still starts (health says DOWN)")
                        .hasNotFailed());

        try (DrKit kit = DrKit.builder().storage(new UncheckedFailingStorage()).build()) {
            DrkitMetricsRefresher refresher =
                    new DrkitMetricsRefresher(kit, Map.of(), new DrMetrics(new SimpleMeterRegistry()));
            Assertions.assertThatCode(refresher::refresh)
                    .as("a refresh that throws cancels the periodic refresh for good")
                    .doesNotThrowAnyException();
        }
    }

    private static final class UncheckedFailingStorage implements StorageBackend {
        private static UncheckedIOException failure() {
            return new UncheckedIOException(new IOException("connection reset by peer"));
        }

        @Override
        public String describe() {
            return "failing://bucket";
        }

        @Override
        public ObjectUpload create(String key) {
            throw failure();
        }

        @Override
        public boolean createIfAbsent(String key, byte[] content) {
            throw failure();
        }

        @Override
        public InputStream open(String key, long offset) {
            throw failure();
        }

        @Override
        public Optional<ObjectInfo> stat(String key) {
            throw failure();
        }

        @Override
        public List<ObjectInfo> list(String prefix) {
            throw failure();
        }

        @Override
        public void delete(String key) {
            throw failure();
        }
    }

    /**
     * Without drkit.repository the start fails with IllegalArgumentException "repository must not be blank"
     * from DrKitConfig.Builder: not a ConfigException, so DrkitFailureAnalyzer gives no report (a stack
     * trace instead), the property is not named, and it is not listed with the properties' other problems.
     */
    @Test
    void aMissingRepositoryIsAProblemOfTheProperties() throws IOException {
        Path source = Files.createDirectories(tmp.resolve("config"));
        runner.withPropertyValues(
                        "drkit.targets.config.type=files",
                        "drkit.targets.config.path[0]=" + source,
                        "drkit.scheduler.enabled=false")
                .run(context -> {
                    assertThat(context).hasFailed();
                    ConfigException e = null;
                    for (Throwable t = context.getStartupFailure(); t != null; t = t.getCause()) {
                        if (t instanceof ConfigException c) {
                            e = c;
                        }
                    }
                    assertThat(e)
                            .as("a ConfigException (for DrkitFailureAnalyzer) in " + context.getStartupFailure())
                            .isNotNull();
                    assertThat(e.problems()).anySatisfy(p -> assertThat(p).startsWith("drkit.repository"));
                });
    }
}
