package dev.drkit.redis;

import dev.drkit.ConfigException;
import dev.drkit.Settings;
import dev.drkit.spi.OptionSpec;
import dev.drkit.spi.OptionSpec.Type;
import java.util.Locale;

/**
 * Which server a backup takes its snapshot from, setting {@code read-from}: the same choice for a
 * set monitored by Sentinel and for each shard of a Redis Cluster. {@code master} (the default)
 * reads from the master; {@code replica} from a healthy replica (up, linked to its master, the one
 * furthest along in replication), failing when there is none; {@code replica-preferred} from such
 * a replica when there is one, else from the master. Restores always write to masters.
 */
enum ReadFrom {
    MASTER,
    REPLICA,
    REPLICA_PREFERRED;

    static final String KEY = "read-from";

    /** The one definition of setting {@code read-from}. */
    static final OptionSpec OPTION = OptionSpec.builder(KEY, Type.ENUM)
            .allowed("master", "replica", "replica-preferred")
            .defaultValue("master")
            .description("redis-sentinel:// URIs and cluster backups: read from the master, a healthy replica, "
                    + "or a healthy replica when there is one")
            .build();

    /**
     * The choice in setting {@code read-from}, {@link #MASTER} when it is absent.
     *
     * @throws ConfigException if the setting holds another value
     */
    static ReadFrom of(Settings s) {
        String text = s.get(KEY, "master");
        for (ReadFrom r : values()) {
            if (r.setting().equals(text)) {
                return r;
            }
        }
        throw new ConfigException(
                "redis: setting '" + KEY + "' must be master, replica or replica-preferred, not " + text);
    }

    /** The value as the setting spells it. */
    String setting() {
        return name().toLowerCase(Locale.ROOT).replace('_', '-');
    }
}
