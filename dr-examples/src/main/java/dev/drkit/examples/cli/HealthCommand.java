package dev.drkit.examples.cli;

import dev.drkit.Settings;
import dev.drkit.failover.HealthCheck;
import dev.drkit.failover.HealthChecks;
import dev.drkit.failover.HealthResult;
import dev.drkit.failover.HttpHealthCheck;
import dev.drkit.failover.SqlHealthCheck;
import dev.drkit.failover.TcpHealthCheck;
import dev.drkit.setup.Setup;
import dev.drkit.spi.support.Secrets;
import java.io.PrintWriter;
import java.net.URI;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/** {@code drkit health}: runs SQL, HTTP and TCP checks once; exit 0 when all are healthy, 1 when one is not. */
@Command(
        name = "health",
        description = "Run health checks once: --sql, --http, --tcp, and with --config one per postgres target "
                + "(SQL) and redis target (TCP). Exit 0 when every check is healthy, 1 when one is not.")
final class HealthCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Option(
            names = "--sql",
            paramLabel = "JDBC_URL",
            description = "A database that must run --query (default SELECT 1); repeatable.")
    List<String> sql = new ArrayList<>();

    @Option(names = "--query", paramLabel = "SQL", description = "The query of the --sql checks (true or > 0).")
    String query;

    @Option(names = "--user", paramLabel = "USER", description = "The user of the --sql checks.")
    String user;

    @Option(
            names = "--password-file",
            paramLabel = "FILE",
            description = "The password file of the --sql checks (else env PGPASSWORD).")
    String passwordFile;

    @Option(names = "--http", paramLabel = "URL", description = "A URL that must answer 2xx to GET; repeatable.")
    List<URI> http = new ArrayList<>();

    @Option(names = "--tcp", paramLabel = "HOST:PORT", description = "A port that must accept connections; repeatable.")
    List<String> tcp = new ArrayList<>();

    @Option(names = "--timeout", paramLabel = "DURATION", description = "Per check (default 5s).")
    String timeout;

    @Override
    public Integer call() {
        GlobalOptions global = GlobalOptions.of(spec);
        Duration limit = timeout == null ? Duration.ofSeconds(5) : Settings.parseDuration("--timeout", timeout);
        if (limit.isZero()) {
            throw new ParameterException(spec.commandLine(), "--timeout must be more than 0s, not '" + timeout + "'");
        }
        List<HealthCheck> checks = new ArrayList<>();
        if (global.setup() != null) {
            global.setup().targets().values().forEach(t -> fromTarget(t, limit, checks));
        }
        String password = passwordFile == null
                ? Secrets.password(Settings.empty(), "PGPASSWORD")
                : Secrets.password(
                        Settings.builder().set("password-file", passwordFile).build(), "PGPASSWORD");
        for (String url : sql) {
            checks.add(sqlCheck(
                    // no user:password@ of the URL in the check's name, which is printed
                    url.replaceFirst("^jdbc:[a-z]+://", "")
                            // Oracle's thin driver: jdbc:oracle:thin:user/password@host:port/service
                            .replaceFirst("^jdbc:oracle:[a-z]+:(?:\\S*@)?(?://)?", "")
                            .replaceAll("[?;].*", "")
                            .replaceFirst("^[^/]*@", ""),
                    url,
                    user,
                    password,
                    limit));
        }
        for (URI url : http) {
            try {
                checks.add(HttpHealthCheck.of(
                        url.getHost() + (url.getPort() < 0 ? "" : ":" + url.getPort()) + url.getPath(), url, limit));
            } catch (IllegalArgumentException e) {
                throw new ParameterException(spec.commandLine(), "--http " + e.getMessage());
            }
        }
        for (String hostPort : tcp) {
            checks.add(tcpCheck(hostPort, hostPort, limit));
        }
        if (checks.isEmpty()) {
            throw new ParameterException(
                    spec.commandLine(),
                    "no health check: give --sql, --http or --tcp, or a "
                            + "--config setup with postgres or redis targets");
        }
        List<HealthResult> results = HealthChecks.runAll(checks);
        boolean healthy = HealthChecks.allHealthy(results);
        PrintWriter out = spec.commandLine().getOut();
        if (global.json) {
            Map<String, Object> doc = new LinkedHashMap<>();
            doc.put("healthy", healthy);
            doc.put("checks", results);
            GlobalOptions.printJson(out, doc);
        } else {
            out.printf("%-30s %-5s %-9s %8s  %s%n", "CHECK", "KIND", "HEALTH", "TIME", "DETAIL");
            for (HealthResult r : results) {
                out.printf(
                        Locale.ROOT,
                        "%-30s %-5s %-9s %7.2fs  %s%n",
                        r.name(),
                        r.kind(),
                        r.healthy() ? "ok" : "UNHEALTHY",
                        r.seconds(),
                        GlobalOptions.safe(r.detail()));
            }
            out.println(healthy ? "healthy" : "UNHEALTHY");
            out.flush();
        }
        return healthy ? 0 : DrkitCli.FAILED;
    }

    private void fromTarget(Setup.Target t, Duration limit, List<HealthCheck> checks) {
        Settings s = t.settings();
        if (t.type().startsWith("postgres") && s.has("url")) {
            checks.add(sqlCheck(
                    t.name(), s.require("url"), s.get("user", null), Secrets.password(s, "PGPASSWORD"), limit));
        } else if (t.type().equals("redis") && s.has("uri")) {
            URI uri = URI.create(s.require("uri"));
            checks.add(tcpCheck(t.name(), uri.getHost() + ":" + (uri.getPort() < 0 ? 6379 : uri.getPort()), limit));
        }
    }

    private HealthCheck sqlCheck(String checkName, String url, String login, String password, Duration limit) {
        try {
            SqlHealthCheck.Builder b = SqlHealthCheck.builder(checkName)
                    .jdbcUrl(url, login, password)
                    .timeout(limit);
            if (query != null) {
                b.query(query);
            }
            return b.build();
        } catch (IllegalArgumentException e) {
            throw new ParameterException(spec.commandLine(), "--sql " + e.getMessage());
        }
    }

    private HealthCheck tcpCheck(String checkName, String hostPort, Duration limit) {
        int colon = hostPort.lastIndexOf(':');
        try {
            return TcpHealthCheck.of(
                    checkName,
                    hostPort.substring(0, Math.max(0, colon)),
                    Integer.parseInt(hostPort.substring(colon + 1)),
                    limit);
        } catch (IllegalArgumentException | IndexOutOfBoundsException e) {
            throw new ParameterException(spec.commandLine(), "--tcp takes HOST:PORT, not '" + hostPort + "'");
        }
    }
}
