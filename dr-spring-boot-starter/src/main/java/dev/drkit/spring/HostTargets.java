package dev.drkit.spring;

import dev.drkit.ConfigException;
import dev.drkit.Settings;
import dev.drkit.postgres.PostgresLogicalTarget;
import dev.drkit.redis.RedisTarget;
import dev.drkit.setup.Setup;
import dev.drkit.spi.BackupTarget;
import io.lettuce.core.AbstractRedisClient;
import io.lettuce.core.RedisClient;
import javax.sql.DataSource;
import org.springframework.beans.factory.BeanFactory;
import org.springframework.core.env.Environment;
import org.springframework.data.redis.connection.RedisConnectionFactory;
import org.springframework.data.redis.connection.RedisStandaloneConfiguration;
import org.springframework.data.redis.connection.lettuce.LettuceConnectionFactory;

/**
 * Builds the targets that use the application's own connections. Each method touches its
 * module's classes only when called, so an application without dr-redis (or Spring Data Redis)
 * never loads them.
 */
final class HostTargets {
    private HostTargets() {}

    /**
     * A postgres-logical target on the application's DataSource. pg_dump connects by itself to the
     * server and database the DataSource names; without {@code password-file} or {@code
     * password-env}, the application's own {@code spring.datasource.password} is handed to it when
     * the target uses the application's only DataSource.
     */
    static BackupTarget postgres(Setup.Target t, String beanName, BeanFactory beans, Environment env) {
        DataSource ds = beanName == null ? beans.getBean(DataSource.class) : beans.getBean(beanName, DataSource.class);
        Settings settings = t.spec().typeSettings(); // dedup and compression-level go to the kit
        String password = env.getProperty("spring.datasource.password");
        if (beanName == null && password != null && !hasPassword(settings)) {
            settings = settings.toBuilder().set("password", password).build();
        }
        return PostgresLogicalTarget.builder().dataSource(ds).settings(settings).build();
    }

    /**
     * A redis target on the application's Lettuce connection factory: keys-mode backups and online
     * restores go through its client, snapshot backups connect to the same standalone server.
     */
    static BackupTarget redis(Setup.Target t, String beanName, BeanFactory beans) {
        RedisConnectionFactory factory = beanName == null
                ? beans.getBean(RedisConnectionFactory.class)
                : beans.getBean(beanName, RedisConnectionFactory.class);
        String where = "drkit.targets." + t.name();
        if (!(factory instanceof LettuceConnectionFactory lettuce)) {
            throw new ConfigException(where + ": the application's Redis connection factory is not Lettuce's; "
                    + "give the target its own 'uri'");
        }
        if (lettuce.isClusterAware() || lettuce.isRedisSentinelAware()) {
            throw new ConfigException(where + ": the application's Redis is a cluster or behind Sentinel, which "
                    + "drkit does not back up yet; give the target the 'uri' of one server");
        }
        AbstractRedisClient client = lettuce.getNativeClient();
        if (!(client instanceof RedisClient redisClient)) {
            throw new ConfigException(where + ": the application's Redis connection factory has not started its "
                    + "client; give the target its own 'uri'");
        }
        RedisStandaloneConfiguration standalone = lettuce.getStandaloneConfiguration();
        Settings.Builder settings = t.spec().typeSettings().toBuilder(); // dedup and compression-level: the kit's
        if (!t.settings().has("uri")) {
            settings.set(
                    "uri",
                    redisUri(
                            lettuce.isUseSsl(),
                            standalone.getHostName(),
                            standalone.getPort(),
                            standalone.getDatabase()));
            if (standalone.getUsername() != null && !t.settings().has("user")) {
                settings.set("user", standalone.getUsername());
            }
            if (standalone.getPassword().isPresent() && !hasPassword(t.settings())) {
                settings.set("password", new String(standalone.getPassword().get()));
            }
        }
        return RedisTarget.builder()
                .client(redisClient)
                .settings(settings.build())
                .build();
    }

    /** The server's URI, without credentials (they go to their own settings); an IPv6 address in brackets. */
    static String redisUri(boolean tls, String host, int port, int database) {
        String h = host.contains(":") && !host.startsWith("[") ? "[" + host + "]" : host;
        return (tls ? "rediss://" : "redis://") + h + ":" + port + "/" + database;
    }

    private static boolean hasPassword(Settings s) {
        return s.has("password") || s.has("password-file") || s.has("password-env");
    }
}
