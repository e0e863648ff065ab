package dev.drkit.testkit;

import dev.drkit.spi.support.FileTrees;
import dev.drkit.spi.support.LoopbackPorts;
import dev.drkit.spi.support.OrphanGuard;
import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A real Redis server for tests, on a free loopback port in a temporary directory, stopped
 * and removed on {@link #close()}. The binary is {@code REDIS_SERVER} (a path), else
 * {@code redis-server} on PATH (Redis 7 from the distribution here), or, with
 * {@link Builder#embedded62()}, the Redis 6.2 binary carried by the {@code embedded-redis}
 * Maven artifact. The password, when set, goes into a private config file, never into the
 * process arguments. Diskless replication runs without its default 5 s delay, so snapshots
 * over the replication protocol start at once.
 */
public final class RedisServer implements AutoCloseable {
    private static final String EMBEDDED_62 = "redis-server-6.2.6-v5-linux-amd64";

    private final Path dir;
    private final Path binary;
    private final int port;
    private final String password;
    private final int tlsPort;
    private boolean sentinelMode;
    private Process process;
    private OrphanGuard guard;
    private String version;

    private RedisServer(Path dir, Path binary, int port, String password, int tlsPort) {
        this.tlsPort = tlsPort;
        this.dir = dir;
        this.binary = binary;
        this.port = port;
        this.password = password;
    }

    /** A Redis 7 (or whatever {@code redis-server} on PATH is) with default settings. */
    public static RedisServer start() throws IOException, InterruptedException {
        return builder().start();
    }

    public static Builder builder() {
        return new Builder();
    }

    /** Options for the server to start. */
    public static final class Builder {
        private boolean embedded62;
        private String password;
        private Path loadDump;
        private boolean tls;
        private final Map<String, String> config = new LinkedHashMap<>();
        private final List<String> lines = new ArrayList<>();
        private List<String> sentinel;
        private final Map<String, Path> files = new LinkedHashMap<>();

        private Builder() {}

        /**
         * A directive that may repeat, as written in redis.conf, e.g.
         * {@code configLine("rename-command", "PSYNC \"\"")} (renames a command away).
         */
        public Builder configLine(String name, String value) {
            lines.add(name + " " + value);
            return this;
        }

        /**
         * Runs a Sentinel ({@code redis-server --sentinel}) instead of a data server, monitoring
         * {@code master} under {@code masterName} with the given quorum, declaring it down after one
         * second of silence; {@link #password} becomes the sentinel's own password, and
         * {@code masterPassword} (nullable) is what it logs in to the monitored servers with.
         */
        public Builder sentinel(String masterName, RedisServer master, int quorum, String masterPassword) {
            List<String> l = new ArrayList<>(List.of(
                    "sentinel monitor " + masterName + " " + master.host() + " " + master.port() + " " + quorum,
                    "sentinel down-after-milliseconds " + masterName + " 1000",
                    "sentinel failover-timeout " + masterName + " 10000",
                    "sentinel parallel-syncs " + masterName + " 1"));
            if (masterPassword != null) {
                l.add("sentinel auth-pass " + masterName + " " + masterPassword);
            }
            this.sentinel = l;
            return this;
        }

        /**
         * Copies a file into the server's directory under {@code name} before it starts, e.g. a
         * cluster node's {@code nodes.conf}.
         */
        public Builder file(String name, Path source) {
            files.put(name, source);
            return this;
        }

        /** Runs the Redis 6.2 binary from the {@code embedded-redis} artifact instead of PATH's. */
        public Builder embedded62() {
            this.embedded62 = true;
            return this;
        }

        /** Requires this password ({@code requirepass}) of the default user. */
        public Builder password(String password) {
            this.password = password;
            return this;
        }

        /** Starts from this RDB file (copied in as the server's {@code dump.rdb}). */
        public Builder loadDump(Path rdb) {
            this.loadDump = rdb;
            return this;
        }

        /**
         * Also listens with TLS on {@link #tlsPort()}, with a certificate for 127.0.0.1 issued by a
         * private CA made for this server ({@link #tlsCa()}); needs {@code openssl} on PATH.
         */
        public Builder tls() {
            this.tls = true;
            return this;
        }

        /** Any other configuration directive, e.g. {@code repl-diskless-sync no}. */
        public Builder config(String name, String value) {
            config.put(name, value);
            return this;
        }

        public RedisServer start() throws IOException, InterruptedException {
            Path bin = embedded62 ? extractEmbedded() : findBinary();
            for (int attempt = 1; ; attempt++) {
                try {
                    return startOn(bin, ports.pick(), tls ? ports.pick() : 0);
                } catch (PortTakenException e) {
                    // a port found free was taken before the server bound it (another process's
                    // connection got it as its local port): a new pair of ports, a few times
                    if (attempt == PORT_ATTEMPTS) {
                        throw new IOException(e.getMessage() + " (" + PORT_ATTEMPTS + " tries)", e);
                    }
                }
            }
        }

        private RedisServer startOn(Path bin, int port, int tlsPort) throws IOException, InterruptedException {
            Path dir = Files.createTempDirectory(
                    Path.of("/tmp"),
                    "drkit-redis-",
                    PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
            RedisServer server = new RedisServer(dir, bin, port, password, tlsPort);
            try {
                Map<String, String> settings = new LinkedHashMap<>(config);
                if (tls) {
                    server.makeCertificates();
                    settings.put("tls-port", String.valueOf(server.tlsPort));
                    settings.put(
                            "tls-cert-file", server.dir.resolve("server.crt").toString());
                    settings.put(
                            "tls-key-file", server.dir.resolve("server.key").toString());
                    settings.put("tls-ca-cert-file", server.tlsCa().toString());
                    settings.put("tls-auth-clients", "no");
                }
                if (loadDump != null) {
                    Files.copy(loadDump, dir.resolve("dump.rdb"), StandardCopyOption.REPLACE_EXISTING);
                }
                for (Map.Entry<String, Path> f : files.entrySet()) {
                    Files.copy(f.getValue(), dir.resolve(f.getKey()), StandardCopyOption.REPLACE_EXISTING);
                }
                server.sentinelMode = sentinel != null;
                List<String> more = new ArrayList<>(lines);
                if (sentinel != null) {
                    more.addAll(sentinel);
                }
                server.launch(settings, more);
            } catch (IOException | InterruptedException | RuntimeException e) {
                server.close();
                throw e;
            }
            return server;
        }
    }

    private void makeCertificates() throws IOException, InterruptedException {
        String openssl = Prerequisites.requireTool("openssl").toString();
        Files.writeString(dir.resolve("ext"), "subjectAltName=IP:127.0.0.1\n");
        run(
                openssl,
                "req",
                "-x509",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-keyout",
                "ca.key",
                "-out",
                "ca.crt",
                "-subj",
                "/CN=drkit test CA",
                "-days",
                "2");
        run(
                openssl,
                "req",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-keyout",
                "server.key",
                "-out",
                "server.csr",
                "-subj",
                "/CN=127.0.0.1");
        run(
                openssl,
                "x509",
                "-req",
                "-in",
                "server.csr",
                "-CA",
                "ca.crt",
                "-CAkey",
                "ca.key",
                "-CAcreateserial",
                "-out",
                "server.crt",
                "-days",
                "2",
                "-extfile",
                "ext");
    }

    private void run(String... command) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(command)
                .directory(dir.toFile())
                .redirectErrorStream(true)
                .start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(60, TimeUnit.SECONDS) || p.exitValue() != 0) {
            throw new IOException(String.join(" ", command) + " failed: " + out);
        }
    }

    private static Path findBinary() {
        String explicit = System.getenv("REDIS_SERVER");
        if (explicit != null && !explicit.isBlank()) {
            return Path.of(explicit);
        }
        return Prerequisites.requireTool("redis-server");
    }

    private static synchronized Path extractEmbedded() throws IOException {
        Path target = Path.of(System.getProperty("java.io.tmpdir"), "drkit-" + EMBEDDED_62);
        if (Files.isExecutable(target)) {
            return target;
        }
        try (InputStream in = RedisServer.class.getClassLoader().getResourceAsStream(EMBEDDED_62)) {
            if (in == null) {
                throw new IOException(
                        "the embedded-redis artifact (with " + EMBEDDED_62 + ") is not on the class path");
            }
            Path tmp = Files.createTempFile(target.getParent(), "drkit-redis-", ".part");
            Files.copy(in, tmp, StandardCopyOption.REPLACE_EXISTING);
            Files.setPosixFilePermissions(tmp, PosixFilePermissions.fromString("rwx------"));
            Files.move(tmp, target, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        }
        return target;
    }

    private void launch(Map<String, String> extra, List<String> more) throws IOException, InterruptedException {
        List<String> lines = new ArrayList<>(List.of(
                "bind 127.0.0.1",
                "port " + port,
                "dir " + dir,
                "daemonize no",
                "protected-mode yes",
                "logfile " + dir.resolve("redis.log")));
        if (!sentinelMode) {
            lines.addAll(List.of("dbfilename dump.rdb", "save \"\"", "appendonly no", "repl-diskless-sync-delay 0"));
        }
        if (password != null) {
            lines.add("requirepass " + password);
        }
        extra.forEach((k, v) -> lines.add(k + " " + v));
        lines.addAll(more);
        Path conf = dir.resolve("redis.conf");
        Files.writeString(conf, String.join("\n", lines) + "\n");
        Files.setPosixFilePermissions(conf, PosixFilePermissions.fromString("rw-------"));
        List<String> command = new ArrayList<>(List.of(binary.toString(), conf.toString()));
        if (sentinelMode) {
            command.add("--sentinel"); // the same binary as redis-sentinel
        }
        process = new ProcessBuilder(command)
                .redirectErrorStream(true)
                .redirectOutput(dir.resolve("stdout.log").toFile())
                .start();
        OrphanGuard.close(guard); // of a server started before
        guard = OrphanGuard.child(process, "TERM"); // a killed test JVM leaves no server behind
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        IOException last = null;
        while (System.nanoTime() < deadline) {
            if (!process.isAlive()) {
                String log = log();
                if (log.contains("Address already in use")) {
                    throw new PortTakenException("redis-server could not bind port " + port
                            + (tlsPort > 0 ? " or " + tlsPort : "") + ": another process took it");
                }
                throw new IOException("redis-server " + binary + " exited with " + process.exitValue() + ": " + log);
            }
            try {
                // INFO answers while a dump is being loaded too: ready means loading:0
                // a short wait for the answer: what listens on the port may be another process
                // that took it (this server then exits), which never answers
                String info = command(2000, "INFO");
                boolean ready = sentinelMode
                        ? info.contains("redis_mode:sentinel")
                        : Pattern.compile("(?m)^loading:0\\s*$").matcher(info).find();
                if (info.startsWith("-LOADING") || !ready) {
                    Thread.sleep(50);
                    continue;
                }
                Matcher m = Pattern.compile("redis_version:(\\S+)").matcher(info);
                version = m.find() ? m.group(1) : "unknown";
                return;
            } catch (IOException e) {
                last = e;
                Thread.sleep(50);
            }
        }
        throw new IOException("redis-server did not answer on port " + port + " within 30 s: " + log(), last);
    }

    private String log() {
        try {
            Path log = dir.resolve("redis.log");
            String text = Files.exists(log) ? Files.readString(log) : Files.readString(dir.resolve("stdout.log"));
            return text.length() > 2000 ? text.substring(text.length() - 2000) : text;
        } catch (IOException e) {
            return "(no log)";
        }
    }

    /**
     * Sends one command over a fresh connection (authenticating first when a password is set)
     * and returns the reply as text: bulk and simple strings as they are, errors with their
     * leading {@code -}, integers as digits. For test setup and checks only.
     */
    public String command(String... args) throws IOException {
        return command(60_000, args);
    }

    private String command(int readTimeoutMillis, String... args) throws IOException {
        try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress("127.0.0.1", port), 2000);
            s.setSoTimeout(readTimeoutMillis);
            OutputStream out = s.getOutputStream();
            InputStream in = new BufferedInputStream(s.getInputStream());
            if (password != null) {
                write(out, "AUTH", password);
                String auth = readReply(in);
                if (auth.startsWith("-")) {
                    throw new IOException("AUTH failed: " + auth);
                }
            }
            write(out, args);
            return readReply(in);
        }
    }

    private static void write(OutputStream out, String... args) throws IOException {
        StringBuilder b = new StringBuilder("*").append(args.length).append("\r\n");
        for (String a : args) {
            byte[] bytes = a.getBytes(StandardCharsets.UTF_8);
            b.append('$').append(bytes.length).append("\r\n").append(a).append("\r\n");
        }
        out.write(b.toString().getBytes(StandardCharsets.UTF_8));
        out.flush();
    }

    private static String readReply(InputStream in) throws IOException {
        String line = readLine(in);
        char kind = line.isEmpty() ? '?' : line.charAt(0);
        switch (kind) {
            case '+', ':' -> {
                return line.substring(1);
            }
            case '-' -> {
                return line;
            }
            case '$' -> {
                int len = Integer.parseInt(line.substring(1));
                if (len < 0) {
                    return null;
                }
                byte[] data = in.readNBytes(len + 2);
                return new String(data, 0, len, StandardCharsets.UTF_8);
            }
            case '*' -> {
                int n = Integer.parseInt(line.substring(1));
                List<String> items = new ArrayList<>();
                for (int i = 0; i < n; i++) {
                    items.add(readReply(in));
                }
                return String.join("\n", items);
            }
            default -> throw new IOException("unexpected reply from redis: " + line);
        }
    }

    private static String readLine(InputStream in) throws IOException {
        StringBuilder b = new StringBuilder();
        int c;
        while ((c = in.read()) != -1) {
            if (c == '\r') {
                in.read();
                return b.toString();
            }
            b.append((char) c);
        }
        throw new IOException("connection closed by redis");
    }

    public int port() {
        return port;
    }

    public String host() {
        return "127.0.0.1";
    }

    /** {@code redis://127.0.0.1:PORT}, without the password. */
    public String uri() {
        return "redis://127.0.0.1:" + port;
    }

    /** The TLS port (0 without {@link Builder#tls()}). */
    public int tlsPort() {
        return tlsPort;
    }

    /** {@code rediss://127.0.0.1:TLSPORT}. */
    public String tlsUri() {
        return "rediss://127.0.0.1:" + tlsPort;
    }

    /** The CA certificate (PEM) that issued the server's TLS certificate. */
    public Path tlsCa() {
        return dir.resolve("ca.crt");
    }

    /** The password, or null when none is required. */
    public String password() {
        return password;
    }

    /** The server's version as it reports it (e.g. {@code 7.0.15}). */
    public String version() {
        return version;
    }

    /** The server's working directory (holds its {@code dump.rdb}). */
    public Path dir() {
        return dir;
    }

    /** The redis-server binary this server runs. */
    public Path binary() {
        return binary;
    }

    @Override
    public void close() {
        if (process != null && process.isAlive()) {
            try {
                command("SHUTDOWN", "NOSAVE");
            } catch (IOException ignored) {
                // the server closes the connection as it exits
            }
            try {
                if (!process.waitFor(10, TimeUnit.SECONDS)) {
                    process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
                }
            } catch (InterruptedException e) {
                process.destroyForcibly();
                Thread.currentThread().interrupt();
            }
        }
        OrphanGuard.close(guard);
        guard = null;
        try {
            FileTrees.delete(dir);
        } catch (RuntimeException ignored) {
            // a temp directory left behind is harmless
        }
    }

    /** How often {@link Builder#start} picks new ports when another process took the ones it picked. */
    static final int PORT_ATTEMPTS = 3;

    /** Where {@link Builder#start} takes its ports from; a test stands in a port that is taken. */
    @FunctionalInterface
    interface PortPicker {
        int pick() throws IOException;
    }

    static volatile PortPicker ports = RedisServer::freePort;

    /** The server exited because a port it was given was taken meanwhile. */
    private static final class PortTakenException extends IOException {
        PortTakenException(String message) {
            super(message);
        }
    }

    /**
     * A port free on loopback when asked (for a second listener such as a cluster bus), outside
     * the ephemeral range where it can be, so that no outgoing connection takes it first.
     */
    static int freePort() throws IOException {
        return LoopbackPorts.free();
    }
}
