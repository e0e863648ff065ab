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
 * Redis the test reaches (a Testcontainers container). The Redis target module
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

    /** FLUSHALL over plain RESP (with AUTH from the URI's user info). */
    static void flushAll(URI uri) throws IOException {
        try (Socket s = new Socket(uri.getHost(), uri.getPort() < 0 ? 6379 : uri.getPort())) {
            s.setSoTimeout(30_000);
            OutputStream out = s.getOutputStream();
            InputStream in = s.getInputStream();
            if (uri.getUserInfo() != null) {
                String[] parts = uri.getUserInfo().split(":", 2);
                List<String> auth = parts.length == 2 && !parts[0].isEmpty()
                        ? List.of("AUTH", parts[0], parts[1])
                        : List.of("AUTH", parts[parts.length - 1]);
                command(out, in, auth);
            }
            command(out, in, List.of("FLUSHALL"));
        }
    }

    private static void command(OutputStream out, InputStream in, List<String> args) throws IOException {
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
        StringBuilder reply = new StringBuilder();
        for (int c; (c = in.read()) != -1 && c != '\n'; ) {
            reply.append((char) c);
        }
        if (reply.length() == 0 || reply.charAt(0) != '+') {
            throw new IOException(
                    "Redis refused " + args.get(0) + ": " + reply.toString().strip());
        }
    }
}
