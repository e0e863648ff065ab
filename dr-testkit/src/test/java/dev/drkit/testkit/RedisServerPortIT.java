package dev.drkit.testkit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * A port found free can be taken by another process before the server binds it: the server is
 * started again on new ports instead of failing the test that asked for it.
 */
class RedisServerPortIT {

    @AfterEach
    void realPorts() {
        RedisServer.ports = RedisServer::freePort;
    }

    @Test
    void aPortTakenBeforeTheServerBindsItIsReplacedByAnother() throws Exception {
        try (ServerSocket taken = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            AtomicInteger picks = new AtomicInteger();
            RedisServer.ports = () -> picks.getAndIncrement() == 0 ? taken.getLocalPort() : RedisServer.freePort();
            try (RedisServer redis = RedisServer.builder().start()) {
                assertThat(picks.get()).as("a second port was picked").isEqualTo(2);
                assertThat(redis.port()).isNotEqualTo(taken.getLocalPort());
                assertThat(redis.command("PING")).contains("PONG");
            }
        }
    }

    @Test
    void portsTakenEveryTimeFailWithWhatHappened() throws Exception {
        try (ServerSocket taken = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            AtomicInteger picks = new AtomicInteger();
            RedisServer.ports = () -> {
                picks.incrementAndGet();
                return taken.getLocalPort();
            };
            assertThatThrownBy(() -> RedisServer.builder().start())
                    .isInstanceOf(IOException.class)
                    .hasMessageContaining("could not bind port " + taken.getLocalPort())
                    .hasMessageContaining(RedisServer.PORT_ATTEMPTS + " tries");
            assertThat(picks.get()).isEqualTo(RedisServer.PORT_ATTEMPTS);
        }
    }
}
