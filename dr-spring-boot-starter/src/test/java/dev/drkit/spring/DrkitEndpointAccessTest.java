package dev.drkit.spring;

import static org.assertj.core.api.Assertions.assertThat;

import dev.drkit.DrKit;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.SpringBootConfiguration;
import org.springframework.boot.autoconfigure.EnableAutoConfiguration;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;

/** Without {@code management.endpoint.drkit.access=unrestricted} the endpoint reads but runs no backup. */
@SpringBootTest(
        classes = DrkitEndpointAccessTest.App.class,
        webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT,
        properties = {
            "drkit.targets.config.type=files",
            "drkit.scheduler.enabled=false",
            "management.endpoints.web.exposure.include=drkit"
        })
class DrkitEndpointAccessTest {
    @SpringBootConfiguration
    @EnableAutoConfiguration(
            excludeName = {
                "org.springframework.boot.jdbc.autoconfigure.DataSourceAutoConfiguration",
                "org.springframework.boot.data.redis.autoconfigure.DataRedisAutoConfiguration"
            })
    static class App {}

    @DynamicPropertySource
    static void paths(DynamicPropertyRegistry registry) throws IOException {
        Path dir = Files.createTempDirectory("drkit-endpoint-access");
        Path source = Files.createDirectories(dir.resolve("config"));
        Files.writeString(source.resolve("app.properties"), "a=1\n");
        registry.add("drkit.repository", () -> dir.resolve("repo").toString());
        registry.add("drkit.targets.config.path", source::toString);
    }

    @Autowired
    DrKit kit;

    @LocalServerPort
    int port;

    @Test
    void theEndpointIsReadOnlyByDefault() throws Exception {
        HttpClient http = HttpClient.newHttpClient();
        URI target = URI.create("http://127.0.0.1:" + port + "/actuator/drkit/config");
        HttpResponse<String> post = http.send(
                HttpRequest.newBuilder(target)
                        .POST(HttpRequest.BodyPublishers.noBody())
                        .build(),
                HttpResponse.BodyHandlers.ofString());
        assertThat(post.statusCode()).as(post.body()).isIn(404, 405);
        assertThat(Files.exists(Path.of(kit.config().repository().replaceFirst("^file:", ""))))
                .as("no backup ran, so no repository was created")
                .isFalse();

        HttpResponse<String> get = http.send(
                HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/actuator/drkit"))
                        .build(),
                HttpResponse.BodyHandlers.ofString());
        assertThat(get.statusCode()).isEqualTo(200);
        assertThat(get.body()).contains("\"healthy\":false").contains("no drkit repository");
    }
}
