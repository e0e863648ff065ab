package dev.drkit.examples.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.drkit.testkit.PostgresServer;
import dev.drkit.testkit.RedisServer;
import dev.drkit.testkit.S3ServerExtension;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * Deduplicated dumps of a changing PostgreSQL database and snapshots of a changing Redis, each
 * backed up twice through the CLI into a deduplicating S3 repository (S3Proxy), the second
 * storing only a few new chunks, and both restored exactly.
 */
class DedupOnS3CliIT {
    private static final Pattern CHUNKS = Pattern.compile("in (\\d+) chunks, (\\d+) of them new");

    @RegisterExtension
    static final S3ServerExtension s3 = new S3ServerExtension("dedup");

    @TempDir
    Path work;

    private Map<String, String> env;

    @BeforeEach
    void s3Repository() {
        env = Map.of(
                "AWS_ACCESS_KEY_ID",
                s3.accessKey(),
                "AWS_SECRET_ACCESS_KEY",
                s3.secretKey(),
                "DRKIT_REPO",
                "s3://dedup/prod?region=eu-west-1&endpoint=" + s3.endpoint());
    }

    private CliProcess.Result drkit(String... args) throws Exception {
        CliProcess.Result r = CliProcess.run(null, List.of(), env, args);
        assertThat(r.exit()).as(String.join(" ", args) + "\n" + r.err()).isZero();
        return r;
    }

    /** {chunks, new chunks} from a deduplicated backup's summary line. */
    private static long[] chunks(CliProcess.Result backup) {
        Matcher m = CHUNKS.matcher(backup.out());
        assertThat(m.find()).as(backup.out()).isTrue();
        return new long[] {Long.parseLong(m.group(1)), Long.parseLong(m.group(2))};
    }

    @Test
    void dumpsOfAChangingDatabase() throws Exception {
        try (PostgresServer pg = PostgresServer.start()) {
            Path password = pg.passwordFile(work);
            pg.createDatabase("ledger");
            pg.execute(
                    "ledger",
                    "CREATE TABLE entries (id serial PRIMARY KEY, account int, memo text, amount bigint);"
                            + "INSERT INTO entries (account, memo, amount) SELECT i % 977, md5(i::text) || repeat('m', 150), i "
                            + "FROM generate_series(1, 80000) i");
            String[] conn = List.of("--user=postgres", "--password-file=" + password, "--bin-dir=" + pg.binDir())
                    .toArray(String[]::new);
            List<String> ids = new ArrayList<>();
            List<String> sums = new ArrayList<>();
            long[] second = null;
            for (int round = 0; round < 2; round++) {
                if (round == 1) {
                    pg.execute("ledger", "UPDATE entries SET amount = amount * 2 WHERE id BETWEEN 40001 AND 40800");
                }
                sums.add(sum(pg, "ledger"));
                CliProcess.Result b = drkit(concat(
                        new String[] {
                            "backup", "postgres-logical", "--name", "ledger", "--url", pg.jdbcUrl("ledger"), "--dedup"
                        },
                        conn));
                ids.add(b.lastLine());
                second = chunks(b);
            }
            assertThat(second[0]).isGreaterThanOrEqualTo(6);
            assertThat(second[1]).as("new chunks of the second dump").isLessThanOrEqualTo(second[0] / 2);
            drkit("check", "--read-data");
            for (int i = 0; i < 2; i++) {
                String copy = "ledger_copy_" + i;
                drkit(concat(
                        new String[] {
                            "restore",
                            "--name",
                            "ledger",
                            "--id",
                            ids.get(i),
                            "--url",
                            pg.jdbcUrl("postgres"),
                            "--to-database",
                            copy
                        },
                        conn));
                assertThat(sum(pg, copy)).isEqualTo(sums.get(i));
            }
        }
    }

    private static String sum(PostgresServer pg, String db) throws Exception {
        try (var c = pg.connect(db);
                var s = c.createStatement();
                var rs = s.executeQuery("SELECT sum(amount) || '/' || count(*) FROM entries")) {
            rs.next();
            return rs.getString(1);
        }
    }

    private static String[] concat(String[] a, String[] b) {
        String[] all = new String[a.length + b.length];
        System.arraycopy(a, 0, all, 0, a.length);
        System.arraycopy(b, 0, all, a.length, b.length);
        return all;
    }

    @Test
    void snapshotsOfAChangingRedis() throws Exception {
        List<String> ids = new ArrayList<>();
        List<String> digests = new ArrayList<>();
        long[] second = null;
        try (RedisServer live =
                RedisServer.builder().configLine("enable-debug-command", "yes").start()) {
            assertThat(live.command("DEBUG", "POPULATE", "450000", "key", "64")).isEqualTo("OK");
            for (int round = 0; round < 2; round++) {
                if (round == 1) {
                    live.command("SET", "key:123456", "changed after the first snapshot");
                }
                digests.add(live.command("DEBUG", "DIGEST"));
                CliProcess.Result b = drkit("backup", "redis", "--name", "cache", "--uri", live.uri(), "--dedup");
                ids.add(b.lastLine());
                second = chunks(b);
            }
        }
        assertThat(digests.get(0)).isNotEqualTo(digests.get(1));
        // one key changed: its chunk, and the first and last (the header's times, the checksum); 450k keys give
        // room above 10 chunks (key order follows the server's random hash seed, so cut points vary)
        assertThat(second[0]).isGreaterThanOrEqualTo(10);
        assertThat(second[1]).as("new chunks of the second snapshot").isLessThanOrEqualTo(3);
        for (int i = 0; i < 2; i++) {
            Path dir = work.resolve("restored-" + i);
            drkit("restore", "--name", "cache", "--id", ids.get(i), "--to-dir", dir.toString());
            try (RedisServer loaded = RedisServer.builder()
                    .configLine("enable-debug-command", "yes")
                    .loadDump(dir.resolve("dump.rdb"))
                    .start()) {
                assertThat(loaded.command("DEBUG", "DIGEST")).isEqualTo(digests.get(i));
            }
        }
    }
}
