package dev.drkit.redis;

import dev.drkit.ConfigException;
import dev.drkit.DrException;
import dev.drkit.DrException.ErrorCode;
import dev.drkit.Settings;
import dev.drkit.core.Secrets;
import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisURI;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.URI;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.SSLSocketFactory;

/**
 * A Redis server and how to log in: {@code redis://[user[:password]@]host[:port][/db]} or
 * {@code rediss://...} for TLS (trust from the JVM's trust store, {@code javax.net.ssl.*}),
 * with the password from {@code password-file}, the environment variable named by
 * {@code password-env} (default {@code REDISCLI_AUTH}), {@code password} from the host's
 * configuration, or the URI. The password never appears in {@link #toString()} or messages.
 */
final class RedisEndpoint {
    private final String host;
    private final int port;
    private final int database;
    private final String user;
    private final String password;
    private final boolean tls;
    private final Duration timeout;

    private RedisEndpoint(String host, int port, int database, String user, String password, boolean tls,
                          Duration timeout) {
        this.host = host;
        this.port = port;
        this.database = database;
        this.user = user;
        this.password = password;
        this.tls = tls;
        this.timeout = timeout;
    }

    /** The endpoint named by {@code key} ({@code uri} for backups, {@code to-uri} for restores). */
    static RedisEndpoint from(Settings s, String key) {
        String text = s.get(key).orElseThrow(() -> new ConfigException(
                "redis: give the server as --" + key + " redis://[USER@]HOST:PORT (password in --password-file)"));
        URI uri;
        try {
            uri = URI.create(text);
        } catch (IllegalArgumentException e) {
            throw new ConfigException("redis: --" + key + " is not a URI (redis://HOST:PORT)");
        }
        String scheme = uri.getScheme();
        if (!"redis".equals(scheme) && !"rediss".equals(scheme)) {
            throw new ConfigException("redis: --" + key + " must start with redis:// or rediss:// (TLS)");
        }
        if (uri.getHost() == null) {
            throw new ConfigException("redis: --" + key + " names no host (redis://HOST:PORT)");
        }
        String user = s.get("user", null);
        String inUri = null;
        if (uri.getRawUserInfo() != null) {
            String[] parts = uri.getRawUserInfo().split(":", 2);
            if (parts.length == 2) {
                if (!parts[0].isEmpty() && user == null) {
                    user = decode(parts[0]);
                }
                inUri = decode(parts[1]);
            } else if (user == null) {
                user = decode(parts[0]);
            }
        }
        int db = 0;
        String path = uri.getPath();
        if (path != null && path.length() > 1) {
            try {
                db = Integer.parseInt(path.substring(1));
            } catch (NumberFormatException e) {
                throw new ConfigException("redis: the database in --" + key + " must be a number (redis://HOST:PORT/0)");
            }
        }
        String password = Secrets.password(s, "REDISCLI_AUTH");
        Duration timeout = s.duration("timeout").orElse(Duration.ofSeconds(60));
        return new RedisEndpoint(uri.getHost(), uri.getPort() < 0 ? 6379 : uri.getPort(), db, user,
                password != null ? password : inUri, "rediss".equals(scheme), timeout);
    }

    private static String decode(String s) {
        return URLDecoder.decode(s, StandardCharsets.UTF_8);
    }


    int database() {
        return database;
    }

    String user() {
        return user;
    }

    String password() {
        return password;
    }

    Duration timeout() {
        return timeout;
    }

    /** A plain or TLS socket to the server, connected. */
    Socket openSocket() throws IOException {
        Socket socket;
        try {
            if (tls) {
                SSLSocket ssl = (SSLSocket) SSLSocketFactory.getDefault().createSocket();
                SSLParameters params = ssl.getSSLParameters();
                params.setEndpointIdentificationAlgorithm("HTTPS");
                ssl.setSSLParameters(params);
                socket = ssl;
            } else {
                socket = new Socket();
            }
            socket.connect(new InetSocketAddress(host, port), (int) Math.min(timeout.toMillis(), 30_000));
            socket.setSoTimeout((int) timeout.toMillis());
            socket.setTcpNoDelay(true);
            socket.setReceiveBufferSize(1 << 20);
            if (socket instanceof SSLSocket ssl) {
                ssl.startHandshake();
            }
            return socket;
        } catch (IOException e) {
            throw unreachable(e);
        }
    }

    DrException unreachable(Exception e) {
        return new DrException(ErrorCode.TARGET, "cannot connect to " + this + ": " + redact(String.valueOf(e.getMessage()))
                + "; check that the server is up and reachable", e, true);
    }

    /** A Lettuce client for this server; close it with {@link #shutdown(RedisClient)}. */
    RedisClient client() {
        RedisURI.Builder b = RedisURI.builder().withHost(host).withPort(port).withDatabase(database).withSsl(tls)
                .withTimeout(timeout).withClientName("drkit");
        if (password != null) {
            b = user != null ? b.withAuthentication(user, password) : b.withPassword(password.toCharArray());
        }
        return RedisClient.create(b.build());
    }

    static void shutdown(RedisClient client) {
        client.shutdown(Duration.ZERO, Duration.ofSeconds(2));
    }

    /** Removes the password from text that could hold it. */
    String redact(String text) {
        return password == null || password.isEmpty() || text == null ? text : text.replace(password, "****");
    }

    @Override
    public String toString() {
        return (tls ? "rediss://" : "redis://") + (user != null ? user + "@" : "") + host + ":" + port
                + (database != 0 ? "/" + database : "");
    }
}
