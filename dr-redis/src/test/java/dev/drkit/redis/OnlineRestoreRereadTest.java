package dev.drkit.redis;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.drkit.ArtifactInfo;
import dev.drkit.BackupManifest;
import dev.drkit.ChecksumMismatchException;
import dev.drkit.Settings;
import dev.drkit.internal.pipeline.CheckedInputStream;
import dev.drkit.spi.RestoreContext;
import dev.drkit.spi.support.Sha256;
import io.lettuce.core.RedisFuture;
import io.lettuce.core.api.StatefulConnection;
import io.lettuce.core.api.async.RedisAsyncCommands;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.lang.reflect.Proxy;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * An online restore reads the snapshot twice, the first time "so that a corrupt or
 * forged one fails the restore before any key reaches the server". The second pass reads the
 * repository again, and the repository's SHA-256 (and a delta's digest) are only compared at the
 * end of the stream: an attacker who swaps the stored delta between the two passes (anyone can
 * encrypt to the public key, and the first pass of a big snapshot takes minutes) got keys of
 * their choosing RESTOREd into the live server before the restore failed. The second pass now
 * serves only blocks that hash as the first pass's did.
 */
class OnlineRestoreRereadTest {
    private final Map<String, byte[]> stored = new HashMap<>();
    /** How often each stored artifact was opened. */
    private final Map<String, Integer> opened = new HashMap<>();

    @TempDir
    Path scratch;

    private static BackupManifest manifest(String id, Map<String, Object> meta, ArtifactInfo a) {
        return new BackupManifest(
                2,
                id,
                "cache",
                "redis",
                meta.containsKey("snapshot") ? "incremental" : "full",
                null,
                null,
                Instant.EPOCH,
                Instant.EPOCH,
                "test",
                "host",
                List.of(a),
                meta);
    }

    private static ArtifactInfo info(String name, byte[] b) {
        return new ArtifactInfo(name, name, b.length, b.length, Sha256.hex(b, 0, b.length), null, List.of(), List.of());
    }

    /** What the repository gives: the stored bytes checked against the manifest only at their end. */
    private InputStream open(String key, ArtifactInfo a) {
        opened.merge(key, 1, Integer::sum);
        return new CheckedInputStream(new ByteArrayInputStream(stored.get(key)), a.storedSize(), a.sha256(), key, null);
    }

    /**
     * A restore of {@code m}, whose artifact {@code a} is swapped for {@code swapIn} (when
     * given) after the first, verified, pass opened it; the artifacts of earlier backups come
     * from {@code earlier}.
     */
    private RestoreContext context(BackupManifest m, ArtifactInfo a, byte[] swapIn, BackupManifest earlier) {
        AtomicInteger opens = new AtomicInteger();
        return new RestoreContext() {
            @Override
            public BackupManifest manifest() {
                return m;
            }

            @Override
            public InputStream openArtifact(String name) {
                if (opens.incrementAndGet() == 2 && swapIn != null) {
                    stored.put(m.id() + "/" + name, swapIn);
                }
                return open(m.id() + "/" + name, a);
            }

            @Override
            public InputStream openArtifact(String backupId, String name) {
                if (earlier == null) {
                    throw new UnsupportedOperationException();
                }
                return open(backupId + "/" + name, earlier.artifact(name).orElseThrow());
            }

            @Override
            public Settings options() {
                return Settings.empty();
            }

            @Override
            public boolean force() {
                return true;
            }
        };
    }

    /** A full snapshot of 2000 keys, then a delta that changed 1600 of them (19 MB), restored online. */
    private RestoreContext deltaSwappedAfterTheFirstRead() throws Exception {
        Random random = new Random(1);
        KeyDeltaTest.Snapshot snap = new KeyDeltaTest.Snapshot();
        for (int i = 0; i < 2000; i++) {
            snap.keys.put("0/key:" + i, new KeyDeltaTest.Entry(-1, "v" + random.nextInt()));
        }
        byte[] fullRdb = snap.rdb(10);
        String fullId = "20260101T000000Z-aaaa";
        Map<String, Object> fullMeta = new LinkedHashMap<>(Map.of("rdbVersion", 10, "keys", 2000L));
        BackupManifest full = manifest(fullId, fullMeta, info(RedisTarget.ARTIFACT, fullRdb));
        stored.put(fullId + "/" + RedisTarget.ARTIFACT, fullRdb);
        KeyDelta.Artifacts plain = (id, name) -> new ByteArrayInputStream(stored.get(id + "/" + name));

        String big = "x".repeat(12_000);
        for (int i = 0; i < 1600; i++) { // a busy hour: most keys changed, 19 MB of delta
            snap.keys.put("0/key:" + i, new KeyDeltaTest.Entry(-1, big + i));
        }
        KeyDelta.IdSet before = KeyDelta.identities(full, plain, 1_000_000);
        ByteArrayOutputStream delta = new ByteArrayOutputStream();
        KeyDelta.Diff diff = new KeyDelta.Diff(before, 10, () -> delta);
        RdbParser p = new RdbParser(new ByteArrayInputStream(snap.rdb(10)), null, "snapshot", true, true);
        p.parse(diff, diff);
        diff.finish();
        String deltaId = "20260101T000001Z-bbbb";
        Map<String, Object> meta = new LinkedHashMap<>();
        meta.put("rdbVersion", 10);
        meta.put("keys", 2000L);
        meta.put("snapshot", KeyDelta.KIND);
        meta.put(KeyDelta.CHAIN, List.of(fullId));
        meta.put(KeyDelta.DIGEST, diff.digest());
        ArtifactInfo deltaInfo = info(KeyDelta.ARTIFACT, delta.toByteArray());
        BackupManifest m = manifest(deltaId, meta, deltaInfo);
        stored.put(deltaId + "/" + KeyDelta.ARTIFACT, delta.toByteArray());

        // the attacker's delta: 2000 keys (12 MB, more than the rebuild pipe holds) of their choosing
        ByteArrayOutputStream forged = new ByteArrayOutputStream();
        try (KeyDelta.Writer w = new KeyDelta.Writer(forged, 10)) {
            byte[] value = KeyDeltaTest.str("pwned".repeat(1200));
            for (int i = 0; i < 2000; i++) {
                w.entry(0, ("evil:" + i).getBytes(StandardCharsets.UTF_8), 0, -1, value);
            }
        }
        assertThat(forged.size()).as("the forged delta fits the recorded size").isLessThan(delta.size());
        return context(m, deltaInfo, forged.toByteArray(), full);
    }

    @Test
    void noKeyReachesTheServerThatTheVerifiedFirstPassDidNotSee() throws Exception {
        RestoreContext context = deltaSwappedAfterTheFirstRead();
        List<String> sent = new ArrayList<>();
        RedisTarget.OnlineRestore restore = fakeServer(sent);
        // no rebuilt chain kept (no room for it): the chain is rebuilt from the repository again
        assertThatThrownBy(() -> RedisTarget.restoreOnline(context, KeyDelta.ARTIFACT, restore, what -> null))
                .isInstanceOf(ChecksumMismatchException.class); // the swap is found
        assertThat(sent).as("keys RESTOREd into the live server").noneMatch(k -> k.startsWith("evil:"));
        assertThat(opened).as("the chain was rebuilt twice").containsValue(2);
    }

    @Test
    void aRebuiltChainIsReadFromTheRepositoryOnceAndItsKeysAreTheOnesTheFirstReadChecked() throws Exception {
        RestoreContext context = deltaSwappedAfterTheFirstRead();
        List<String> sent = new ArrayList<>();
        RedisTarget.OnlineRestore restore = fakeServer(sent);
        RedisTarget.restoreOnline(
                context, KeyDelta.ARTIFACT, restore, what -> RebuiltSpool.open(what, scratch, null, 0, 1 << 20));
        assertThat(sent)
                .as("the keys of the backup, every one once")
                .hasSize(2000)
                .doesNotHaveDuplicates()
                .allMatch(k -> k.startsWith("key:"));
        assertThat(opened)
                .as("the full snapshot and the delta, each read once")
                .containsOnly(
                        Map.entry("20260101T000000Z-aaaa/" + RedisTarget.ARTIFACT, 1),
                        Map.entry("20260101T000001Z-bbbb/" + KeyDelta.ARTIFACT, 1));
        try (var left = Files.list(scratch)) {
            assertThat(left).as("nothing of the kept copy has a name").isEmpty();
        }
    }

    @Test
    void aKeptCopyGivenUpForWantOfSpaceRebuildsTheChainForTheKeys() throws Exception {
        RestoreContext context = deltaSwappedAfterTheFirstRead();
        List<String> sent = new ArrayList<>();
        RedisTarget.OnlineRestore restore = fakeServer(sent);
        // room when it is made; none left at its first look, 1 MiB into the rebuilt stream
        AtomicInteger looks = new AtomicInteger();
        RebuiltSpool.Free free = () -> looks.incrementAndGet() == 1 ? Long.MAX_VALUE : 0;
        RebuiltSpool[] made = new RebuiltSpool[1];
        assertThatThrownBy(() -> RedisTarget.restoreOnline(context, KeyDelta.ARTIFACT, restore, what -> {
                    made[0] = RebuiltSpool.open(what, scratch, free, 1, 1 << 20);
                    return made[0];
                }))
                .isInstanceOf(ChecksumMismatchException.class); // rebuilt again: the swapped delta is read, and found
        assertThat(made[0]).as("a copy was begun").isNotNull();
        assertThat(looks)
                .as("the free space was looked at again while it was written")
                .hasValueGreaterThan(1);
        assertThat(sent).noneMatch(k -> k.startsWith("evil:"));
        assertThat(opened).containsValue(2);
    }

    /** An online restore into a server that records the keys whose RESTORE was flushed to it. */
    private RedisTarget.OnlineRestore fakeServer(List<String> sent) {
        List<String> queued = new ArrayList<>();
        RedisFuture<?> ok = (RedisFuture<?>) Proxy.newProxyInstance(
                getClass().getClassLoader(),
                new Class<?>[] {RedisFuture.class},
                (proxy, method, args) -> switch (method.getName()) {
                    case "get" -> "OK";
                    case "isDone" -> true;
                    case "hashCode" -> 1;
                    case "equals" -> proxy == args[0];
                    default -> null;
                });
        StatefulConnection<?, ?> conn = (StatefulConnection<?, ?>) Proxy.newProxyInstance(
                getClass().getClassLoader(), new Class<?>[] {StatefulConnection.class}, (proxy, method, args) -> {
                    if (method.getName().equals("flushCommands")) {
                        sent.addAll(queued);
                        queued.clear();
                    }
                    return null;
                });
        @SuppressWarnings("unchecked")
        RedisAsyncCommands<byte[], byte[]> async = (RedisAsyncCommands<byte[], byte[]>) Proxy.newProxyInstance(
                getClass().getClassLoader(), new Class<?>[] {RedisAsyncCommands.class}, (proxy, method, args) -> {
                    if (method.getName().equals("restore")) {
                        queued.add(new String((byte[]) args[0], StandardCharsets.UTF_8));
                    }
                    return ok;
                });
        @SuppressWarnings("unchecked")
        RedisTarget.OnlineRestore restore = new RedisTarget.OnlineRestore(
                (StatefulConnection<byte[], byte[]>) conn, async, true, null, "test server", s -> s);

        return restore;
    }

    @Test
    void noKeyOfAFullSnapshotReachesTheServerThatTheVerifiedFirstPassDidNotSee() throws Exception {
        KeyDeltaTest.Snapshot snap = new KeyDeltaTest.Snapshot();
        for (int i = 0; i < 3000; i++) {
            snap.keys.put("0/key:" + i, new KeyDeltaTest.Entry(-1, "value-" + i));
        }
        byte[] rdb = snap.rdb(10);
        KeyDeltaTest.Snapshot evil = new KeyDeltaTest.Snapshot();
        for (int i = 0; i < 2500; i++) {
            evil.keys.put("0/evil:" + i, new KeyDeltaTest.Entry(-1, "pwned"));
        }
        byte[] forged = evil.rdb(10);
        assertThat(forged.length).isLessThan(rdb.length);
        String id = "20260101T000000Z-aaaa";
        ArtifactInfo a = info(RedisTarget.ARTIFACT, rdb);
        BackupManifest m = manifest(id, new LinkedHashMap<>(Map.of("rdbVersion", 10, "keys", 3000L)), a);
        stored.put(id + "/" + RedisTarget.ARTIFACT, rdb);
        RestoreContext context = context(m, a, forged, null);
        List<String> sent = new ArrayList<>();
        RedisTarget.OnlineRestore restore = fakeServer(sent);
        assertThatThrownBy(() -> RedisTarget.restoreOnline(context, RedisTarget.ARTIFACT, restore))
                .isInstanceOf(ChecksumMismatchException.class);
        assertThat(sent).as("keys RESTOREd into the live server").noneMatch(k -> k.startsWith("evil:"));
    }

    @Test
    void anUnchangedSnapshotOfSeveralBlocksRestoresEveryKey() throws Exception {
        KeyDeltaTest.Snapshot snap = new KeyDeltaTest.Snapshot();
        String big = "y".repeat(12_000);
        for (int i = 0; i < 1200; i++) { // 14 MB: blocks of 4 MiB and a short last one
            snap.keys.put("0/key:" + i, new KeyDeltaTest.Entry(-1, big + i));
        }
        byte[] rdb = snap.rdb(10);
        String id = "20260101T000000Z-aaaa";
        ArtifactInfo a = info(RedisTarget.ARTIFACT, rdb);
        BackupManifest m = manifest(id, new LinkedHashMap<>(Map.of("rdbVersion", 10, "keys", 1200L)), a);
        stored.put(id + "/" + RedisTarget.ARTIFACT, rdb);
        RestoreContext context = context(m, a, null, null);
        List<String> sent = new ArrayList<>();
        RedisTarget.OnlineRestore restore = fakeServer(sent);
        RedisTarget.restoreOnline(context, RedisTarget.ARTIFACT, restore);
        assertThat(sent).hasSize(1200);
    }
}
