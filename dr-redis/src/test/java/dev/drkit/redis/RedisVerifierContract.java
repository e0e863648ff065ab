package dev.drkit.redis;

import dev.drkit.Settings;
import dev.drkit.TargetSpec;
import dev.drkit.testkit.RedisServer;
import dev.drkit.testkit.VerifierContract;
import java.nio.file.Path;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;

/** The verifier contract over snapshots of a real Redis server holding keys of every type. */
abstract class RedisVerifierContract extends VerifierContract {
    static RedisServer server;

    @BeforeAll
    static void startServer() throws Exception {
        server = RedisServer.start();
        try (RedisData data = new RedisData(server)) {
            data.populate();
        }
    }

    @AfterAll
    static void stopServer() {
        if (server != null) {
            server.close();
        }
    }

    @Override
    protected TargetSpec prepareSource(Path work) {
        return new TargetSpec(
                "cache",
                RedisTargetProvider.TYPE,
                Settings.builder().set("uri", server.uri()).build());
    }
}
