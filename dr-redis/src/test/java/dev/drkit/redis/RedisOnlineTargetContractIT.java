package dev.drkit.redis;

import static org.assertj.core.api.Assertions.assertThat;

import dev.drkit.Settings;
import dev.drkit.TargetSpec;
import dev.drkit.testkit.BackupTargetContract;
import dev.drkit.testkit.RedisServer;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;

/**
 * The backup target contract for {@code redis} snapshots restored online ({@code to-uri}), each
 * destination a Redis server of its own.
 */
class RedisOnlineTargetContractIT extends BackupTargetContract {
    static RedisServer server;

    private final Map<String, RedisServer> destinations = new HashMap<>();
    private Map<String, String> before;

    @BeforeAll
    static void startServer() throws Exception {
        server = RedisServer.start();
    }

    @AfterAll
    static void stopServer() {
        if (server != null) {
            server.close();
        }
    }

    @AfterEach
    void stopDestinations() {
        destinations.values().forEach(RedisServer::close);
    }

    @Override
    protected TargetSpec prepareSource(Path work) throws Exception {
        try (RedisData data = new RedisData(server)) {
            data.sync.flushall();
            data.populate();
            before = data.contents();
        }
        return new TargetSpec(
                "cache",
                RedisTargetProvider.TYPE,
                Settings.builder().set("uri", server.uri()).build());
    }

    private RedisServer server(String destination) throws Exception {
        RedisServer s = destinations.get(destination);
        if (s == null) {
            s = RedisServer.start();
            destinations.put(destination, s);
        }
        return s;
    }

    @Override
    protected Settings restoreOptions(String destination) {
        try {
            return Settings.builder().set("to-uri", server(destination).uri()).build();
        } catch (Exception e) {
            throw new IllegalStateException("cannot start the destination server", e);
        }
    }

    private Map<String, String> contents(String destination) throws Exception {
        try (RedisData data = new RedisData(server(destination))) {
            return data.contents();
        }
    }

    @Override
    protected void assertRestored(String destination) throws Exception {
        assertThat(contents(destination)).containsAllEntriesOf(before);
    }

    @Override
    protected void occupy(String destination) throws Exception {
        try (RedisData data = new RedisData(server(destination))) {
            data.sync.set("str:1", "live value");
        }
    }

    @Override
    protected void assertOccupiedUntouched(String destination) throws Exception {
        assertThat(contents(destination)).isEqualTo(Map.of("0/str:1", "string live value"));
    }

    @Override
    protected void assertNothingRestored(String destination) throws Exception {
        assertThat(contents(destination)).isEmpty();
    }

    @Override
    protected UnreachableSource unreachableSource() throws Exception {
        try (RedisServer gone = RedisServer.start()) {
            String uri = gone.uri();
            gone.close();
            return new UnreachableSource(
                    new TargetSpec(
                            "cache",
                            RedisTargetProvider.TYPE,
                            Settings.builder().set("uri", uri).build()),
                    "127.0.0.1:" + gone.port());
        }
    }

    /** Into a live server without force, keys that exist are kept and the others added. */
    @Override
    protected boolean mergesIntoOccupiedDestination() {
        return true;
    }

    @Override
    protected void assertOccupiedKeptBesideRestored(String destination) throws Exception {
        Map<String, String> after = contents(destination);
        assertThat(after).containsEntry("0/str:1", "string live value");
        Map<String, String> others = new HashMap<>(before);
        others.remove("0/str:1");
        assertThat(others).isNotEmpty();
        assertThat(after).containsAllEntriesOf(others).hasSize(before.size());
    }
}
