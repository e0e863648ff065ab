package dev.drkit.testkit;

import dev.drkit.DrKit;
import dev.drkit.RestoreRequest;
import dev.drkit.Settings;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Supplier;
import org.junit.jupiter.api.extension.BeforeEachCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * A JUnit 5 extension that gives every test a Redis holding exactly the keys of a backup: before
 * each test the server is flushed ({@code FLUSHALL}) and the backup restored into it online
 * (RESTORE with the keys' remaining TTLs). Works with the testkit's {@link RedisServer} or any
 * Redis the test reaches (a Testcontainers container), and with a node of a Redis Cluster
 * ({@link RedisCluster}): then every master is flushed and each key restored to its slot's node. The Redis target module
 * ({@code dr-redis}) must be on the test class path.
 *
 * <pre>{@code
 * @RegisterExtension
 * static RedisFixture sessions = RedisFixture.builder().repository(repo).target("api-sessions")
 *         .server(() -> redis.uri()).build();
 * }</pre>
 */
public final class RedisFixture implements BeforeEachCallback {
    private final Supplier<String> repository;
    private final String target;
    private final String backupId;
    private final Supplier<String> server;
    private final AtomicInteger restores = new AtomicInteger();
    private final AtomicLong nanos = new AtomicLong();

    private RedisFixture(Supplier<String> repository, String target, String backupId, Supplier<String> server) {
        this.repository = repository;
        this.target = target;
        this.backupId = backupId;
        this.server = server;
    }

    /**
     * @param repository the repository holding the backup
     * @param target the {@code redis} target whose backup is the fixture
     * @param backupId a particular backup, or null for the newest
     * @param server the Redis URI ({@code redis://[user:password@]host:port}), asked for when a test starts
     */
    public static RedisFixture of(
            Supplier<String> repository, String target, String backupId, Supplier<String> server) {
        return new RedisFixture(
                Objects.requireNonNull(repository),
                Objects.requireNonNull(target),
                backupId,
                Objects.requireNonNull(server));
    }

    @Override
    public void beforeEach(ExtensionContext context) throws Exception {
        String uri = server.get();
        long start = System.nanoTime();
        flushAll(URI.create(uri));
        try (DrKit kit = DrKit.builder().repository(repository.get()).build()) {
            kit.restore(new RestoreRequest(
                    target, backupId, Settings.builder().set("to-uri", uri).build(), true));
        }
        nanos.addAndGet(System.nanoTime() - start);
        restores.incrementAndGet();
    }

    /** The mean cost per test (flush and restore) so far, in milliseconds. */
    public double perTestMillis() {
        int n = restores.get();
        return n == 0 ? 0 : nanos.get() / 1e6 / n;
    }

    /** How many tests it prepared. */
    public int restores() {
        return restores.get();
    }

    /** FLUSHALL over plain RESP (with AUTH from the URI's user info); on a cluster node, on every master. */
    static void flushAll(URI uri) throws IOException {
        List<String> masters = new ArrayList<>();
        try (Socket s = connect(uri, uri.getHost(), uri.getPort() < 0 ? 6379 : uri.getPort())) {
            OutputStream out = s.getOutputStream();
            InputStream in = s.getInputStream();
            write(out, List.of("INFO", "cluster"));
            if (!bulk(in).contains("cluster_enabled:1")) {
                command(out, in, List.of("FLUSHALL"));
                return;
            }
            write(out, List.of("CLUSTER", "NODES"));
            // <id> <ip:port@bus[,hostname]> <flags> ...: the masters that are up
            for (String line : bulk(in).split("\n")) {
                String[] f = line.trim().split(" ");
                if (f.length > 2 && f[2].contains("master") && !f[2].contains("fail")) {
                    masters.add(f[1].split("[@,]")[0]);
                }
            }
        }
        for (String master : masters) {
            int colon = master.lastIndexOf(':');
            try (Socket s = connect(uri, master.substring(0, colon), Integer.parseInt(master.substring(colon + 1)))) {
                command(s.getOutputStream(), s.getInputStream(), List.of("FLUSHALL"));
            }
        }
    }

    /** A connection to {@code host:port}, logged in with the URI's user info. */
    private static Socket connect(URI uri, String host, int port) throws IOException {
        Socket s = new Socket(host, port);
        try {
            s.setSoTimeout(30_000);
            if (uri.getUserInfo() != null) {
                String[] parts = uri.getUserInfo().split(":", 2);
                List<String> auth = parts.length == 2 && !parts[0].isEmpty()
                        ? List.of("AUTH", parts[0], parts[1])
                        : List.of("AUTH", parts[parts.length - 1]);
                command(s.getOutputStream(), s.getInputStream(), auth);
            }
            return s;
        } catch (IOException e) {
            s.close();
            throw e;
        }
    }

    /** A bulk string reply, as text; an error reply throws. */
    private static String bulk(InputStream in) throws IOException {
        String header = line(in);
        if (!header.startsWith("$")) {
            throw new IOException("Redis answered '" + header.strip() + "' instead of text");
        }
        int len = Integer.parseInt(header.substring(1).strip());
        byte[] body = in.readNBytes(len + 2);
        return new String(body, 0, Math.min(len, body.length), StandardCharsets.UTF_8);
    }

    private static String line(InputStream in) throws IOException {
        StringBuilder reply = new StringBuilder();
        for (int c; (c = in.read()) != -1 && c != '\n'; ) {
            reply.append((char) c);
        }
        return reply.toString();
    }

    private static void command(OutputStream out, InputStream in, List<String> args) throws IOException {
        write(out, args);
        String reply = line(in);
        if (reply.isEmpty() || reply.charAt(0) != '+') {
            throw new IOException("Redis refused " + args.get(0) + ": " + reply.strip());
        }
    }

    private static void write(OutputStream out, List<String> args) throws IOException {
        StringBuilder b = new StringBuilder("*").append(args.size()).append("\r\n");
        for (String a : args) {
            b.append('$')
                    .append(a.getBytes(StandardCharsets.UTF_8).length)
                    .append("\r\n")
                    .append(a)
                    .append("\r\n");
        }
        out.write(b.toString().getBytes(StandardCharsets.UTF_8));
        out.flush();
    }
}
