package dev.drkit.redis;

import static org.assertj.core.api.Assertions.assertThat;

import dev.drkit.Settings;
import dev.drkit.TargetSpec;
import dev.drkit.testkit.BackupTargetContract;
import dev.drkit.testkit.RedisServer;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;

/** The backup target contract for {@code redis} snapshots restored as {@code dump.rdb} into a directory. */
class RedisTargetContractIT extends BackupTargetContract {
    private static final String LIVE = "live dump of a running server";
    static RedisServer server;

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

    @Override
    protected Settings restoreOptions(String destination) {
        return Settings.builder().set("to-dir", destination).build();
    }

    @Override
    protected void assertRestored(String destination) throws Exception {
        try (RedisServer loaded = RedisServer.builder()
                        .loadDump(Path.of(destination, RedisTarget.ARTIFACT))
                        .start();
                RedisData data = new RedisData(loaded)) {
            assertThat(data.contents()).isEqualTo(before);
        }
    }

    @Override
    protected void occupy(String destination) throws Exception {
        Files.createDirectories(Path.of(destination));
        Files.writeString(Path.of(destination, RedisTarget.ARTIFACT), LIVE);
    }

    @Override
    protected void assertOccupiedUntouched(String destination) throws Exception {
        try (Stream<Path> s = Files.list(Path.of(destination))) {
            assertThat(s.map(p -> p.getFileName().toString())).containsExactly(RedisTarget.ARTIFACT);
        }
        assertThat(Files.readString(Path.of(destination, RedisTarget.ARTIFACT), StandardCharsets.UTF_8))
                .isEqualTo(LIVE);
    }

    @Override
    protected void assertNothingRestored(String destination) throws Exception {
        Path d = Path.of(destination);
        if (Files.exists(d, LinkOption.NOFOLLOW_LINKS)) {
            try (Stream<Path> s = Files.list(d)) {
                assertThat(s).isEmpty();
            }
        }
    }

    @Override
    protected UnreachableSource unreachableSource() throws Exception {
        int port;
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            port = s.getLocalPort();
        }
        String uri = "redis://127.0.0.1:" + port;
        return new UnreachableSource(
                new TargetSpec(
                        "cache",
                        RedisTargetProvider.TYPE,
                        Settings.builder().set("uri", uri).build()),
                "127.0.0.1:" + port);
    }
}
