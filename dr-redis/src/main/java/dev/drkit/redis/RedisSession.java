package dev.drkit.redis;

import dev.drkit.ConfigException;
import dev.drkit.DrException;
import dev.drkit.DrException.ErrorCode;
import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisException;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.codec.ByteArrayCodec;

/**
 * A connection for keys-mode backups and online restores: either on a client made from an
 * endpoint's settings, shut down with the session, or on the host's client, which stays open.
 */
final class RedisSession implements AutoCloseable {
    private final RedisClient client;
    private final RedisEndpoint endpoint;
    private final StatefulRedisConnection<byte[], byte[]> connection;

    private RedisSession(RedisClient client, RedisEndpoint endpoint) {
        this.client = client;
        this.endpoint = endpoint;
        try {
            this.connection = connect();
        } catch (RuntimeException e) {
            release();
            throw e;
        }
    }

    /** A session on a client of drkit's own, for the server the endpoint names. */
    static RedisSession open(RedisEndpoint endpoint) {
        return new RedisSession(endpoint.client(), endpoint);
    }

    /** A session on the host's client; closing it leaves the client open. */
    static RedisSession onHostClient(RedisClient client) {
        return new RedisSession(client, null);
    }

    StatefulRedisConnection<byte[], byte[]> connection() {
        return connection;
    }

    /** Whether the server is one an endpoint names, rather than the host client's. */
    boolean hasEndpoint() {
        return endpoint != null;
    }

    /** Removes the endpoint's password from text that could hold it. */
    String redact(String text) {
        return endpoint == null ? text : endpoint.redact(text);
    }

    private StatefulRedisConnection<byte[], byte[]> connect() {
        try {
            return client.connect(ByteArrayCodec.INSTANCE);
        } catch (RedisException e) {
            String msg = redact(String.valueOf(e.getMessage()))
                    + (e.getCause() != null ? ": " + redact(e.getCause().getMessage()) : "");
            if (msg.contains("WRONGPASS") || msg.contains("NOAUTH") || msg.contains("invalid password")) {
                throw new ConfigException("authentication to " + this + " failed: " + msg
                        + (endpoint != null
                                ? "; check the user and the password file"
                                : "; check the credentials of the RedisClient"));
            }
            throw new DrException(
                    ErrorCode.TARGET,
                    "cannot connect to " + this + ": " + msg + "; check that the server is up and reachable",
                    null,
                    true);
        }
    }

    private void release() {
        if (endpoint != null) {
            RedisEndpoint.shutdown(client);
        }
    }

    @Override
    public void close() {
        try {
            connection.close();
        } finally {
            release();
        }
    }

    @Override
    public String toString() {
        return endpoint != null ? endpoint.toString() : "the server of the host's RedisClient";
    }
}
