package dev.drkit.spring;

import static org.assertj.core.api.Assertions.assertThat;

import dev.drkit.DrKit;
import dev.drkit.spi.ObjectInfo;
import dev.drkit.spi.ObjectUpload;
import dev.drkit.spi.StorageBackend;
import java.io.InputStream;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.springframework.boot.actuate.endpoint.web.WebEndpointResponse;
import org.springframework.boot.health.contributor.Health;
import org.springframework.boot.health.contributor.Status;

/** A storage client failing with its own unchecked exception reaches neither health nor endpoint as such. */
class DrkitStorageFailureTest {
    private static final String CLIENT_MESSAGE = "client failed for https://bucket/?X-Amz-Signature=s3cr3t";

    private final DrKit kit = DrKit.builder().storage(new FailingStorage()).build();

    @AfterEach
    void close() {
        kit.close();
    }

    @Test
    void healthIsDownWithAMessageNamingNoClassAndNotTheClientsText() {
        Health health = new DrkitHealthIndicator(kit, Map.of(), null).health();

        assertThat(health.getStatus()).isEqualTo(Status.DOWN);
        assertThat(String.valueOf(health.getDetails().get("error")))
                .isEqualTo(
                        "reading the repository's status failed unexpectedly; the application's log has the details");
        assertThat(health.getDetails().toString()).doesNotContain("Exception").doesNotContain("s3cr3t");
    }

    @Test
    void theEndpointAnswersWithoutThrowing() {
        DrkitEndpoint endpoint = new DrkitEndpoint(kit, Map.of(), null);

        Map<String, Object> status = endpoint.status();
        assertThat(status).containsEntry("healthy", false);
        assertThat(status.toString()).doesNotContain("Exception").doesNotContain("s3cr3t");

        WebEndpointResponse<Object> backups = endpoint.backups("db");
        assertThat(backups.getStatus()).isEqualTo(WebEndpointResponse.STATUS_INTERNAL_SERVER_ERROR);
        assertThat(backups.getBody())
                .isEqualTo(Map.of(
                        "error",
                        "listing a target's backups failed unexpectedly; the application's log has the details"));
    }

    private static final class FailingStorage implements StorageBackend {
        @Override
        public String describe() {
            return "failing://bucket";
        }

        @Override
        public ObjectUpload create(String key) {
            throw new IllegalStateException(CLIENT_MESSAGE);
        }

        @Override
        public boolean createIfAbsent(String key, byte[] content) {
            throw new IllegalStateException(CLIENT_MESSAGE);
        }

        @Override
        public InputStream open(String key, long offset) {
            throw new IllegalStateException(CLIENT_MESSAGE);
        }

        @Override
        public Optional<ObjectInfo> stat(String key) {
            throw new IllegalStateException(CLIENT_MESSAGE);
        }

        @Override
        public List<ObjectInfo> list(String prefix) {
            throw new IllegalStateException(CLIENT_MESSAGE);
        }

        @Override
        public void delete(String key) {
            throw new IllegalStateException(CLIENT_MESSAGE);
        }
    }
}
