package dev.drkit.redis;

import static org.assertj.core.api.Assertions.assertThat;

import dev.drkit.BackupResult;
import dev.drkit.DrEvent;
import dev.drkit.DrKit;
import dev.drkit.DrListener;
import dev.drkit.RestoreRequest;
import dev.drkit.Settings;
import dev.drkit.TargetSpec;
import dev.drkit.VerifyLevel;
import dev.drkit.VerifyReport;
import dev.drkit.testkit.RedisServer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Incremental Redis backups against a real server: each backup after the first stores a
 * key-level delta, and every backup of the chain restores (to a directory a fresh server
 * loads, and online) exactly the keys of its time.
 */
class RedisKeyDeltaIT {
    @TempDir
    Path dir;

    private static Settings source(RedisServer server, String... more) {
        Settings.Builder s = Settings.builder().set("uri", server.uri()).set("incremental", "true");
        for (int i = 0; i < more.length; i += 2) {
            s.set(more[i], more[i + 1]);
        }
        return s.build();
    }

    /** Changes a few keys of every kind: values, types, TTLs, deletions, new keys, another database, a function. */
    private static void change(RedisData data, int round) {
        data.sync.set("str:" + (round + 1), "changed in round " + round);
        data.sync.del("str:" + (100 + round));
        data.sync.hset("hash:big", "field" + round, "new " + round);
        data.sync.rpush("list:small", "round " + round);
        data.sync.zadd("zset:big", 1000.0 + round, "member " + round);
        data.sync.pexpire("profile:" + (round + 1), Duration.ofHours(3).toMillis());
        data.sync.set("fresh:" + round, "new key");
        data.sync.del("set:small");
        data.sync.sadd("set:small", "x", "y", "z" + round);
        data.sync.select(2);
        data.sync.set("db2:" + round, "in db 2");
        data.sync.select(0);
        data.sync.functionLoad(
                "#!lua name=drkitlib\nredis.register_function('answer', function() return " + round + " end)", true);
    }

    @Test
    void everyBackupOfADeltaChainRestoresTheKeysOfItsTime() throws Exception {
        DrKit kit = DrKit.builder().repository(dir.resolve("repo").toString()).build();
        List<BackupResult> backups = new ArrayList<>();
        List<Map<String, String>> states = new ArrayList<>();
        try (RedisServer server = RedisServer.builder().start();
                RedisData data = new RedisData(server)) {
            data.populate();
            for (int round = 0; round < 4; round++) {
                if (round > 0) {
                    change(data, round);
                }
                states.add(data.contents());
                backups.add(kit.backup(new TargetSpec("cache", "redis", source(server))));
            }
        }
        BackupResult full = backups.get(0);
        assertThat(full.manifest().kind()).isEqualTo("full");
        assertThat(full.manifest().artifact(RedisTarget.ARTIFACT)).isPresent();
        long fullBytes =
                full.manifest().artifact(RedisTarget.ARTIFACT).orElseThrow().rawSize();
        for (int i = 1; i < backups.size(); i++) {
            BackupResult b = backups.get(i);
            Map<String, Object> meta = b.manifest().metadata();
            assertThat(b.manifest().kind()).isEqualTo("incremental");
            assertThat(b.manifest().parent()).isEqualTo(backups.get(i - 1).id());
            assertThat(meta).containsEntry("snapshot", "key-delta").containsEntry("chainLength", i);
            assertThat(b.manifest().artifact(RedisTarget.ARTIFACT)).isEmpty();
            long deltaBytes =
                    b.manifest().artifact(KeyDelta.ARTIFACT).orElseThrow().rawSize();
            assertThat(deltaBytes)
                    .as("delta %d against the full's %d bytes, uncompressed", i, fullBytes)
                    .isLessThan(fullBytes / 2);
            assertThat(((Number) meta.get("changedKeys")).longValue()).isBetween(5L, 20L);
            assertThat(((Number) meta.get("removedKeys")).longValue()).isBetween(2L, 20L);
        }
        for (int i = 0; i < backups.size(); i++) {
            BackupResult b = backups.get(i);
            VerifyReport report = kit.verify("cache", b.id(), VerifyLevel.DECODE);
            assertThat(report.passed()).as(report.problems().toString()).isTrue();
            Path out = dir.resolve("restored-" + i);
            kit.restore(new RestoreRequest(
                    "cache",
                    b.id(),
                    Settings.builder().set("to-dir", out.toString()).build(),
                    false));
            Path dump = out.resolve("dump.rdb");
            assertThat(Files.size(dump)).isPositive();
            try (RedisServer loaded = RedisServer.builder().loadDump(dump).start();
                    RedisData data = new RedisData(loaded)) {
                assertThat(data.contents())
                        .as("backup %d loaded from a directory", i)
                        .isEqualTo(states.get(i));
                if (i > 0) {
                    assertThat(loaded.command("FCALL", "answer", "0")).contains(String.valueOf(i));
                }
            }
        }
        BackupResult newest = backups.get(backups.size() - 1);
        VerifyReport loadTest = kit.verify("cache", newest.id(), VerifyLevel.RESTORE);
        assertThat(loadTest.passed()).as(loadTest.problems().toString()).isTrue();
        assertThat(loadTest.results()).extracting(r -> r.verifier()).contains("redis-load-test");
        try (RedisServer empty = RedisServer.builder().start();
                RedisData data = new RedisData(empty)) {
            kit.restore(new RestoreRequest(
                    "cache",
                    newest.id(),
                    Settings.builder().set("to-uri", empty.uri()).build(),
                    false));
            assertThat(data.contents()).as("the newest delta restored online").isEqualTo(states.get(states.size() - 1));
        }
    }

    @Test
    void aDamagedPreviousStateOrAChainThatChangedEverythingLeadsToAFullSnapshot() throws Exception {
        List<DrEvent> events = new CopyOnWriteArrayList<>();
        DrKit kit = DrKit.builder()
                .repository(dir.resolve("repo").toString())
                .listener(new DrListener() {
                    @Override
                    public void onEvent(DrEvent event) {
                        events.add(event);
                    }
                })
                .build();
        List<BackupResult> backups = new ArrayList<>();
        try (RedisServer server = RedisServer.builder().start();
                RedisData data = new RedisData(server)) {
            data.populate();
            backups.add(kit.backup(new TargetSpec("cache", "redis", source(server))));
            change(data, 1);
            backups.add(kit.backup(new TargetSpec("cache", "redis", source(server))));
            // the full snapshot the chain starts from is damaged in the repository
            Path stored = dir.resolve("repo/backups/cache/" + backups.get(0).id() + "/dump.rdb.zst");
            byte[] bytes = Files.readAllBytes(stored);
            bytes[bytes.length / 2] ^= 0x10;
            Files.write(stored, bytes);
            change(data, 2);
            backups.add(kit.backup(new TargetSpec("cache", "redis", source(server))));
            // every value rewritten: the next delta would hold more than the state itself
            data.sync.flushall();
            for (int i = 0; i < 400; i++) {
                data.sync.set("new:" + i, "v" + i);
            }
            backups.add(kit.backup(new TargetSpec("cache", "redis", source(server))));
            data.sync.set("new:1", "again");
            backups.add(kit.backup(new TargetSpec("cache", "redis", source(server))));
        }
        assertThat(backups)
                .extracting(b -> b.manifest().kind())
                .containsExactly("full", "incremental", "full", "incremental", "full");
        assertThat(events)
                .filteredOn(e -> e.type() == DrEvent.Type.BACKUP_WARNING)
                .extracting(DrEvent::message)
                .anyMatch(m -> m.contains("cannot be read to compare with") && m.contains("full snapshot instead"));
        assertThat(((Number) backups.get(3).manifest().metadata().get("chainChanges")).longValue())
                .isGreaterThan(((Number) backups.get(3).manifest().metadata().get("keys")).longValue());
    }

    @Test
    void maxChainStartsANewFullSnapshot() throws Exception {
        DrKit kit = DrKit.builder().repository(dir.resolve("repo").toString()).build();
        List<String> kinds = new ArrayList<>();
        try (RedisServer server = RedisServer.builder().start();
                RedisData data = new RedisData(server)) {
            data.populate();
            for (int round = 0; round < 5; round++) {
                change(data, round);
                kinds.add(kit.backup(new TargetSpec("cache", "redis", source(server, "max-chain", "2")))
                        .manifest()
                        .kind());
            }
        }
        assertThat(kinds).containsExactly("full", "incremental", "incremental", "full", "incremental");
    }
}
