package dev.drkit.examples.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.drkit.testkit.PostgresServer;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * What the WAL integration tests share: the jar run as the cluster's owner (PostgreSQL refuses
 * root, so its archive and restore commands run as {@code postgres}), files handed to that owner,
 * and one-value queries.
 */
final class PostgresCliRuns {
    static final boolean ROOT = "root".equals(System.getProperty("user.name"));

    private PostgresCliRuns() {}

    /** The java of this JVM, for archive and restore commands. */
    static String java() {
        return Path.of(System.getProperty("java.home"), "bin", "java").toString();
    }

    /** Gives {@code path} (recursively) to the postgres user when the tests run as root. */
    static void chownToPostgres(Path path) throws IOException, InterruptedException {
        if (ROOT) {
            Process p = new ProcessBuilder("chown", "-R", "postgres:postgres", path.toString())
                    .inheritIO()
                    .start();
            assertThat(p.waitFor()).isZero();
        }
    }

    /** Runs the jar on {@code repo} in {@code work} as the cluster's owner and waits for it. */
    static CliProcess.Result drkitAsOwner(Path jar, Path repo, Path work, String... args)
            throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>();
        if (ROOT) {
            cmd.addAll(List.of("runuser", "-u", "postgres", "--"));
        }
        cmd.addAll(List.of(java(), "-jar", jar.toString(), "--repo", repo.toString()));
        cmd.addAll(List.of(args));
        Process p = new ProcessBuilder(cmd).directory(work.toFile()).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        String err = new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor(10, TimeUnit.MINUTES)).isTrue();
        return new CliProcess.Result(p.exitValue(), out, err);
    }

    /** The first column of the first row of a query on database {@code postgres}. */
    static String text(PostgresServer pg, String sql) throws Exception {
        try (Connection c = pg.connect("postgres");
                Statement s = c.createStatement();
                ResultSet rs = s.executeQuery(sql)) {
            rs.next();
            return rs.getString(1);
        }
    }
}
