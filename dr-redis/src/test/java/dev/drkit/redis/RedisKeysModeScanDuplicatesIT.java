package dev.drkit.redis;

import static org.assertj.core.api.Assertions.assertThat;

import dev.drkit.BackupResult;
import dev.drkit.DrKit;
import dev.drkit.RestoreRequest;
import dev.drkit.Settings;
import dev.drkit.testkit.RedisServer;
import io.lettuce.core.KeyScanCursor;
import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisFuture;
import io.lettuce.core.RedisURI;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.api.async.RedisAsyncCommands;
import io.lettuce.core.codec.RedisCodec;
import io.lettuce.core.resource.DefaultClientResources;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.lang.reflect.Proxy;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * SCAN may return a key more than once (the server's table shrank or grew while the walk ran:
 * "it is up to the application to handle the case of duplicated elements"). A keys-mode backup
 * holds each key once, so that the RDB loads in redis-server (which refuses a key twice) and an
 * online restore, which refuses a snapshot holding a key twice, takes it.
 */
class RedisKeysModeScanDuplicatesIT {
    @TempDir
    Path dir;

    /** A host client whose SCAN pages each repeat their first key, as a resize during the walk does. */
    private static final class ScanTwice extends RedisClient {
        ScanTwice(String uri) {
            super(DefaultClientResources.create(), RedisURI.create(uri));
        }

        @Override
        public <K, V> StatefulRedisConnection<K, V> connect(RedisCodec<K, V> codec) {
            StatefulRedisConnection<K, V> real = super.connect(codec);
            RedisAsyncCommands<K, V> async = real.async();
            Object scanTwice = Proxy.newProxyInstance(
                    getClass().getClassLoader(), new Class<?>[] {RedisAsyncCommands.class}, (p, m, args) -> {
                        Object r = call(m, async, args);
                        return m.getName().equals("scan") ? repeatingFirstKey((RedisFuture<?>) r) : r;
                    });
            @SuppressWarnings("unchecked")
            StatefulRedisConnection<K, V> conn = (StatefulRedisConnection<K, V>) Proxy.newProxyInstance(
                    getClass().getClassLoader(),
                    new Class<?>[] {StatefulRedisConnection.class},
                    (p, m, args) -> m.getName().equals("async") ? scanTwice : call(m, real, args));
            return conn;
        }

        private static RedisFuture<?> repeatingFirstKey(RedisFuture<?> page) {
            return (RedisFuture<?>) Proxy.newProxyInstance(
                    RedisFuture.class.getClassLoader(), new Class<?>[] {RedisFuture.class}, (p, m, args) -> {
                        Object r = call(m, page, args);
                        if (m.getName().equals("get")
                                && r instanceof KeyScanCursor<?> c
                                && !c.getKeys().isEmpty()) {
                            @SuppressWarnings("unchecked")
                            List<Object> keys = (List<Object>) c.getKeys();
                            if (keys.size() < 2 || keys.get(0) != keys.get(keys.size() - 1)) {
                                keys.add(keys.get(0));
                            }
                        }
                        return r;
                    });
        }

        private static Object call(Method m, Object on, Object[] args) throws Throwable {
            try {
                return m.invoke(on, args);
            } catch (InvocationTargetException e) {
                throw e.getCause();
            }
        }
    }

    @Test
    void aKeyScanReturnsTwiceIsBackedUpOnceAndRestoresOnline() throws Exception {
        try (RedisServer source = RedisServer.start();
                RedisServer target = RedisServer.start()) {
            for (int i = 0; i < 50; i++) {
                source.command("SET", "user:" + i, "v" + i);
            }
            RedisClient hostClient = new ScanTwice(source.uri());
            try (DrKit kit = DrKit.builder()
                    .repository(dir.resolve("repo").toString())
                    .target(
                            "cache",
                            RedisTarget.builder()
                                    .client(hostClient)
                                    .settings(Settings.builder()
                                            .set("mode", "keys")
                                            .build())
                                    .build())
                    .build()) {
                BackupResult b = kit.backup("cache");
                assertThat(b.manifest().metadata()).containsEntry("keys", 50L);

                kit.restore(new RestoreRequest(
                        "cache",
                        b.id(),
                        Settings.builder().set("to-uri", target.uri()).build(),
                        false));
                assertThat(target.command("DBSIZE")).isEqualTo("50");
                assertThat(target.command("GET", "user:7")).isEqualTo("v7");
            } finally {
                hostClient.shutdown();
            }
        }
    }
}
