package dev.drkit.examples.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.drkit.testkit.RedisCluster;
import dev.drkit.testkit.RedisServer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code drkit backup redis --cluster} through the real jar: from replicas, verified, restored online and to files. */
class RedisClusterCliIT {
    @TempDir
    Path work;

    @Test
    void clusterBackupFromReplicasVerifiesAndRestores() throws Exception {
        Path repo = work.resolve("repo");
        try (RedisCluster cluster = RedisCluster.start(3, 1)) {
            for (int i = 0; i < 300; i++) {
                RedisServer owner = cluster.masters().get(ownerOf(cluster, "k" + i));
                assertThat(owner.command("SET", "k" + i, "v" + i)).isEqualTo("OK");
            }
            cluster.awaitReplicasInSync();

            CliProcess.Result bad = backup(repo, cluster, "--read-from", "somewhere");
            assertThat(bad.exit()).as(bad.err()).isEqualTo(2);
            assertThat(bad.err()).contains("--read-from").contains("replica");

            CliProcess.Result backup = backup(repo, cluster, "--read-from", "replica", "--jobs", "2");
            assertThat(backup.exit()).as(backup.err()).isZero();
            String id = backup.lastLine();

            CliProcess.Result verify =
                    CliProcess.run(repo, "verify", "--name", "cache", "--id", id, "--level", "restore");
            assertThat(verify.exit()).as(verify.out() + verify.err()).isZero();
            assertThat(verify.out())
                    .contains("redis-load-test")
                    .contains("shard-2.rdb")
                    .doesNotContain("FAILED");

            cluster.flushAll();
            CliProcess.Result restore =
                    CliProcess.run(repo, "restore", "--name", "cache", "--id", id, "--to-uri", cluster.uri());
            assertThat(restore.exit()).as(restore.err()).isZero();
            assertThat(cluster.keyCount()).isEqualTo(300);
            assertThat(cluster.masters().get(ownerOf(cluster, "k42")).command("GET", "k42"))
                    .isEqualTo("v42");
        }
        Path dir = work.resolve("files");
        CliProcess.Result files =
                CliProcess.run(repo, "restore", "--name", "cache", "--latest", "--to-dir", dir.toString());
        assertThat(files.exit()).as(files.err()).isZero();
        assertThat(dir.resolve("shard-0/dump.rdb")).isNotEmptyFile();
        assertThat(dir.resolve("shard-2/nodes.conf")).isNotEmptyFile();
        assertThat(Files.readString(dir.resolve("slot-map.txt"))).contains("shard-1 5461-10921");
    }

    private static CliProcess.Result backup(Path repo, RedisCluster cluster, String... more) throws Exception {
        List<String> args =
                new ArrayList<>(List.of("backup", "redis", "--name", "cache", "--cluster", "--uri", cluster.uri()));
        args.addAll(List.of(more));
        return CliProcess.run(repo, args.toArray(String[]::new));
    }

    private static int ownerOf(RedisCluster cluster, String key) throws Exception {
        int slot = Integer.parseInt(cluster.masters().get(0).command("CLUSTER", "KEYSLOT", key));
        int owner = 0;
        for (int i = 0; i < 3; i++) {
            owner = i * 16384 / 3 <= slot ? i : owner;
        }
        return owner;
    }
}
