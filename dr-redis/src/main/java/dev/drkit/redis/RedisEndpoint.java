package dev.drkit.redis;

import dev.drkit.ConfigException;
import dev.drkit.DrException;
import dev.drkit.DrException.ErrorCode;
import dev.drkit.Settings;
import dev.drkit.spi.OptionSpec;
import dev.drkit.spi.OptionSpec.Type;
import dev.drkit.spi.support.InterruptWatch;
import dev.drkit.spi.support.Secrets;
import io.lettuce.core.AbstractRedisClient;
import io.lettuce.core.ClientOptions;
import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisURI;
import io.lettuce.core.SslOptions;
import io.lettuce.core.resource.ClientResources;
import io.lettuce.core.resource.DefaultClientResources;
import io.netty.resolver.DefaultAddressResolverGroup;
import java.io.IOException;
import java.io.InputStream;
import java.io.InterruptedIOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.net.URI;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.cert.Certificate;
import java.security.cert.CertificateFactory;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.SSLSocketFactory;
import javax.net.ssl.TrustManagerFactory;

/**
 * A Redis server and how to log in: {@code redis://[user[:password]@]host[:port][/db]} or
 * {@code rediss://...} for TLS (trust from the JVM's trust store, {@code javax.net.ssl.*}),
 * or a CA certificate file in {@code tls-ca} (PEM), with the password from {@code password-file}, the environment variable named by
 * {@code password-env} (default {@code REDISCLI_AUTH}), {@code password} from the host's
 * configuration, or the URI. The password never appears in {@link #toString()} or messages.
 *
 * <p>{@code redis-sentinel://[user[:password]@]host[:port],host[:port]/master[/db]} (or
 * {@code rediss-sentinel://} for TLS everywhere) names a set monitored by Sentinel: {@link #from}
 * asks the sentinels ({@link SentinelResolver}) for the current master, or a replica, and returns
 * an endpoint for that server, which still tells {@link #sentinel()} how it was found.
 */
final class RedisEndpoint {
    static final Duration DEFAULT_SNAPSHOT_START = Duration.ofHours(1);
    private final String host;
    private final int port;
    private final int database;
    private final String user;
    private final String password;
    private final boolean tls;
    private final Duration timeout;
    /** How long a server may take to start sending a snapshot, its keepalives included. */
    private final Duration snapshotStart;

    private final Path tlsCa;
    private final SentinelResolver sentinel;

    private RedisEndpoint(
            String host,
            int port,
            int database,
            String user,
            String password,
            boolean tls,
            Duration timeout,
            Duration snapshotStart,
            Path tlsCa,
            SentinelResolver sentinel) {
        this.host = host;
        this.port = port;
        this.database = database;
        this.user = user;
        this.password = password;
        this.tls = tls;
        this.snapshotStart = snapshotStart;
        this.timeout = timeout;
        this.tlsCa = tlsCa;
        this.sentinel = sentinel;
    }

    /** What {@link #from} reads besides the server's URI. */
    static final List<OptionSpec> OPTIONS = options();

    private static List<OptionSpec> options() {
        List<OptionSpec> all = new ArrayList<>();
        all.add(OptionSpec.builder("user", Type.STRING)
                .description("the ACL user to connect as (default: the URI's)")
                .build());
        all.addAll(Secrets.passwordOptions("REDISCLI_AUTH"));
        all.add(OptionSpec.builder("timeout", Type.DURATION)
                .defaultValue("60s")
                .description("how long a command may take")
                .build());
        all.add(OptionSpec.builder("snapshot-start-timeout", Type.DURATION)
                .defaultValue("1h")
                .description("how long the server may take to start sending a snapshot once asked (it saves "
                        + "it first; its keepalives do not extend this)")
                .build());
        all.add(OptionSpec.builder("tls-ca", Type.PATH)
                .description("CA certificates to trust for rediss://")
                .build());
        all.add(ReadFrom.OPTION);
        all.addAll(SentinelResolver.OPTIONS);
        return List.copyOf(all);
    }

    /**
     * The endpoint named by {@code key} ({@code uri} for backups, {@code to-uri} for restores). A
     * Sentinel URI is resolved now: for {@code uri} to the server setting {@code read-from} asks
     * for, for any other key to the master, where writes go.
     *
     * @throws ConfigException if the settings are wrong or credentials are rejected
     * @throws DrException (retryable) if no sentinel names a usable server
     */
    static RedisEndpoint from(Settings s, String key) {
        RedisEndpoint parsed = parse(s, key);
        return parsed.sentinel == null ? parsed : parsed.resolved(!key.equals("uri"));
    }

    /** The endpoint named by {@code key}, without asking any server (a Sentinel URI stays unresolved). */
    static RedisEndpoint parse(Settings s, String key) {
        String text = s.get(key)
                .orElseThrow(() -> new ConfigException("redis: give the server as setting '" + key
                        + "' (redis://[USER@]HOST:PORT; password in " + "setting 'password-file')"));
        if (text.contains("://") && SentinelResolver.handles(text.substring(0, text.indexOf("://")))) {
            SentinelResolver.Parsed p = SentinelResolver.parse(text, key);
            return build(s, p.rawUserInfo(), p.database(), p.tls(), null, 0, SentinelResolver.of(p, s));
        }
        if (key.equals("uri") && s.has(ReadFrom.KEY) && !s.bool("cluster", false)) {
            throw readFromUnused();
        }
        URI uri;
        try {
            uri = URI.create(text);
        } catch (IllegalArgumentException e) {
            throw new ConfigException("redis: setting '" + key + "' is not a URI (redis://HOST:PORT)");
        }
        String scheme = uri.getScheme();
        if (!"redis".equals(scheme) && !"rediss".equals(scheme)) {
            throw new ConfigException("redis: setting '" + key + "' must start with redis:// or rediss:// (TLS), "
                    + "or redis-sentinel:// to find the master through Sentinel");
        }
        if (uri.getHost() == null) {
            throw new ConfigException("redis: setting '" + key + "' names no host (redis://HOST:PORT)");
        }
        int db = 0;
        String path = uri.getPath();
        if (path != null && path.length() > 1) {
            try {
                db = Integer.parseInt(path.substring(1));
            } catch (NumberFormatException e) {
                throw new ConfigException(
                        "redis: the database in setting '" + key + "' must be a number " + "(redis://HOST:PORT/0)");
            }
        }
        return build(
                s,
                uri.getRawUserInfo(),
                db,
                "rediss".equals(scheme),
                unbracketed(uri.getHost()),
                uri.getPort() < 0 ? 6379 : uri.getPort(),
                null);
    }

    /** Setting {@code read-from} given where it would choose nothing. */
    static ConfigException readFromUnused() {
        return new ConfigException("redis: setting 'read-from' needs a redis-sentinel:// URI in setting 'uri', or "
                + "setting 'cluster' true");
    }

    private static RedisEndpoint build(
            Settings s, String rawUserInfo, int db, boolean tls, String host, int port, SentinelResolver sentinel) {
        String user = s.get("user", null);
        String inUri = null;
        if (rawUserInfo != null) {
            String[] parts = rawUserInfo.split(":", 2);
            if (parts.length == 2) {
                if (!parts[0].isEmpty() && user == null) {
                    user = decode(parts[0]);
                }
                inUri = decode(parts[1]);
            } else if (user == null) {
                user = decode(parts[0]);
            }
        }
        String password = Secrets.password(s, "REDISCLI_AUTH");
        Duration timeout = s.duration("timeout").orElse(Duration.ofSeconds(60));
        Duration snapshotStart = s.duration("snapshot-start-timeout").orElse(DEFAULT_SNAPSHOT_START);
        Path ca = s.path("tls-ca").orElse(null);
        if (ca != null && !Files.isReadable(ca)) {
            throw new ConfigException("redis: cannot read the CA certificate file " + ca + " (setting 'tls-ca')");
        }
        if (ca != null && !tls) {
            throw new ConfigException("redis: setting 'tls-ca' needs a rediss:// or rediss-sentinel:// URI");
        }
        return new RedisEndpoint(
                host, port, db, user, password != null ? password : inUri, tls, timeout, snapshotStart, ca, sentinel);
    }

    /** The server the sentinels name now, as an endpoint with the same credentials and TLS. */
    private RedisEndpoint resolved(boolean forWrites) {
        SentinelResolver.Address a = sentinel.resolve(this, forWrites);
        return new RedisEndpoint(
                a.host(), a.port(), database, user, password, tls, timeout, snapshotStart, tlsCa, sentinel);
    }

    /** How the server was found, when through Sentinel. */
    Optional<SentinelResolver> sentinel() {
        return Optional.ofNullable(sentinel);
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

    Duration snapshotStart() {
        return snapshotStart;
    }

    /** A plain or TLS socket to the server, connected. */
    Socket openSocket() throws IOException {
        try {
            return connect(host, port);
        } catch (InterruptedIOException e) {
            if (e instanceof SocketTimeoutException) {
                throw unreachable(e);
            }
            throw e; // stopped, not unreachable
        } catch (IOException e) {
            throw unreachable(e);
        }
    }

    /**
     * A plain or TLS socket (as this endpoint's scheme says) to another server of the set, connected.
     * An interrupt ends the connect and the TLS handshake (a host that drops packets holds a
     * connect for up to 30 s) with an {@link InterruptedIOException}.
     */
    Socket connect(String host, int port) throws IOException {
        Socket socket = null;
        try {
            if (tls) {
                SSLSocketFactory factory = tlsCa == null
                        ? (SSLSocketFactory) SSLSocketFactory.getDefault()
                        : trusting(tlsCa).getSocketFactory();
                SSLSocket ssl = (SSLSocket) factory.createSocket();
                SSLParameters params = ssl.getSSLParameters();
                params.setEndpointIdentificationAlgorithm("HTTPS");
                ssl.setSSLParameters(params);
                socket = ssl;
            } else {
                socket = new Socket();
            }
            Socket opening = socket;
            interruptibly(opening, "connecting to " + host + ":" + port, () -> {
                opening.connect(new InetSocketAddress(host, port), (int) Math.min(timeout.toMillis(), 30_000));
                opening.setSoTimeout((int) timeout.toMillis());
                opening.setTcpNoDelay(true);
                opening.setReceiveBufferSize(1 << 20);
                if (opening instanceof SSLSocket ssl) {
                    ssl.startHandshake();
                }
                return null;
            });
            return socket;
        } catch (IOException | RuntimeException e) {
            if (socket != null) {
                socket.close();
            }
            throw e;
        }
    }

    /** A blocking exchange on a socket. */
    interface SocketCall<T> {
        T run() throws IOException;
    }

    /**
     * Runs {@code call}, closing {@code socket} once this thread is interrupted meanwhile: a
     * blocked socket connect, read or write ignores the interrupt. A call the interrupt ended
     * fails with an {@link InterruptedIOException} ("interrupted while {@code doing}"), whatever
     * the closed socket made it say.
     */
    static <T> T interruptibly(Socket socket, String doing, SocketCall<T> call) throws IOException {
        InterruptWatch watch = InterruptWatch.once("drkit-redis-interrupt", () -> closeQuietly(socket));
        T result;
        try {
            result = call.run();
        } catch (IOException | RuntimeException e) {
            watch.close();
            if (watch.fired()) {
                InterruptedIOException stopped = new InterruptedIOException("interrupted while " + doing);
                stopped.initCause(e);
                throw stopped;
            }
            throw e;
        }
        watch.close();
        if (watch.fired()) {
            throw new InterruptedIOException("interrupted while " + doing);
        }
        return result;
    }

    private static void closeQuietly(Socket socket) {
        try {
            socket.close();
        } catch (IOException ignored) {
            // closed either way
        }
    }

    /** TLS that trusts the certificates in a PEM file (a private CA), with host names checked. */
    private static SSLContext trusting(Path pem) throws IOException {
        try (InputStream in = Files.newInputStream(pem)) {
            KeyStore store = KeyStore.getInstance(KeyStore.getDefaultType());
            store.load(null, null);
            int i = 0;
            for (Certificate c : CertificateFactory.getInstance("X.509").generateCertificates(in)) {
                store.setCertificateEntry("ca" + i++, c);
            }
            if (i == 0) {
                throw new ConfigException("redis: " + pem + " (setting 'tls-ca') holds no certificate");
            }
            TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
            tmf.init(store);
            SSLContext ctx = SSLContext.getInstance("TLS");
            ctx.init(null, tmf.getTrustManagers(), null);
            return ctx;
        } catch (GeneralSecurityException e) {
            throw new ConfigException(
                    "redis: cannot use " + pem + " (setting 'tls-ca') as CA certificates: " + e.getMessage());
        }
    }

    DrException unreachable(Exception e) {
        return new DrException(
                ErrorCode.TARGET,
                "cannot connect to " + this + ": " + redact(String.valueOf(e.getMessage()))
                        + "; check that the server is up and reachable",
                e,
                true);
    }

    private static final Pattern HOST = Pattern.compile("[A-Za-z0-9._:%-]{1,255}");

    /**
     * Whether a host a server announced (a cluster node's address, the master or a replica a
     * sentinel names) is a host name or an IP address: such text goes into messages, the manifest
     * and a name lookup, so nothing else of a server's choosing does.
     */
    static boolean isHost(String host) {
        return HOST.matcher(host).matches();
    }

    /** The same login, timeout and TLS for another server (a node of the same Redis Cluster). */
    RedisEndpoint withAddress(String otherHost, int otherPort) {
        return new RedisEndpoint(otherHost, otherPort, 0, user, password, tls, timeout, snapshotStart, tlsCa, null);
    }

    /** Whether the connection uses TLS ({@code rediss://}). */
    boolean tls() {
        return tls;
    }

    /** The server's port. */
    int port() {
        return port;
    }

    /** A Lettuce client for this server; close it with {@link #shutdown(AbstractRedisClient)}. */
    RedisClient client() {
        RedisClient client = RedisClient.create(clientResources(), redisUri());
        if (tlsCa != null) {
            client.setOptions(ClientOptions.builder().sslOptions(sslOptions()).build());
        }
        return client;
    }

    /** The CA file's trust for Lettuce clients, or null when the JVM's trust store is used. */
    SslOptions sslOptions() {
        return tlsCa == null
                ? null
                : SslOptions.builder()
                        .jdkSslProvider()
                        .trustManager(tlsCa.toFile())
                        .build();
    }

    /** The server and login as a Lettuce {@link RedisURI}. */
    RedisURI redisUri() {
        RedisURI.Builder b = RedisURI.builder()
                .withHost(host)
                .withPort(port)
                .withDatabase(database)
                .withSsl(tls)
                .withTimeout(timeout)
                .withClientName("drkit");
        if (password != null) {
            b = user != null ? b.withAuthentication(user, password) : b.withPassword(password.toCharArray());
        }
        return b.build();
    }

    /** Small client resources; shut down with the client ({@link #shutdown(RedisClient)}). */
    static ClientResources clientResources() {
        // the JDK's resolver: netty's DNS resolver costs a noticeable start-up for one connection
        return DefaultClientResources.builder()
                .ioThreadPoolSize(2)
                .computationThreadPoolSize(1)
                .addressResolverGroup(DefaultAddressResolverGroup.INSTANCE)
                .build();
    }

    static void shutdown(AbstractRedisClient client) {
        client.shutdown(Duration.ZERO, Duration.ofSeconds(2));
        client.getResources().shutdown(0, 2, TimeUnit.SECONDS);
    }

    /** The server's host name or address (an IPv6 address without brackets). */
    String host() {
        return host;
    }

    /** An IPv6 address as sockets and Lettuce take it: URI gives it in brackets. */
    private static String unbracketed(String host) {
        return host.startsWith("[") && host.endsWith("]") ? host.substring(1, host.length() - 1) : host;
    }

    /** Removes the password from text that could hold it. */
    String redact(String text) {
        return Settings.mask(text, password);
    }

    @Override
    public String toString() {
        if (host == null) {
            return sentinel.describe();
        }
        return (tls ? "rediss://" : "redis://") + (user != null ? user + "@" : "")
                + (host.contains(":") ? "[" + host + "]" : host) + ":" + port
                + (database != 0 ? "/" + database : "");
    }
}
