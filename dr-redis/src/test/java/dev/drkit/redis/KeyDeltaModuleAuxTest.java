package dev.drkit.redis;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.drkit.ArtifactInfo;
import dev.drkit.BackupManifest;
import dev.drkit.Settings;
import dev.drkit.spi.BackupContext;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.lang.reflect.Proxy;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/**
 * Module data beside the keys ({@code OP_MODULE_AUX}: RediSearch's index definitions, say) is
 * kept by a full snapshot, which is stored as the server wrote it, but a key-level delta records
 * keys and functions only: the state a delta's restore rebuilt lost it without a word. A delta
 * is not taken from such a snapshot now: the backup takes a full one, and the next backups of a
 * server whose snapshot held module data take full ones from the start.
 */
class KeyDeltaModuleAuxTest {
    private static byte[] snapshot() {
        RdbBytes rdb = RdbBytes.redis(10).aux("redis-ver", "7.0.15");
        rdb.op(RdbParser.OP_MODULE_AUX)
                .length(0x1234_5678_9ABCL)
                .length(2)
                .length(1)
                .length(5)
                .string("FT.CREATE idx ON HASH PREFIX 1 doc: SCHEMA title TEXT")
                .length(0);
        rdb.selectDb(0);
        for (int i = 0; i < 10; i++) {
            rdb.raw(0).string("doc:" + i).string("v" + i);
        }
        return rdb.eof();
    }

    @Test
    void aSnapshotWithModuleDataBesideTheKeysIsNotTakenAsADelta() throws Exception {
        byte[] rdb = snapshot();
        RdbParser.Summary s = new RdbParser(new ByteArrayInputStream(rdb), null, "dump.rdb", false, false).parse(null);
        assertThat(s.moduleAux).as("counted, for the manifest").isEqualTo(1);
        assertThat(s.keys).isEqualTo(10);

        ByteArrayOutputStream delta = new ByteArrayOutputStream();
        KeyDelta.Diff diff = new KeyDelta.Diff(new KeyDelta.IdSet(16), 10, () -> delta);
        RdbParser p = new RdbParser(new ByteArrayInputStream(rdb), null, "snapshot", true, true);
        p.onFunctions(diff);
        assertThatThrownBy(() -> p.parse(diff, diff))
                .isInstanceOf(KeyDelta.Diff.ModuleAuxData.class)
                .hasMessageContaining("module data beside the keys");
    }

    private static BackupManifest previous(long moduleAux) {
        Map<String, Object> meta = new LinkedHashMap<>();
        meta.put("mode", "rdb");
        meta.put("rdbVersion", 10);
        meta.put("keys", 10L);
        meta.put("moduleAux", moduleAux);
        return new BackupManifest(
                2,
                "20260101T000000Z-aaaa",
                "cache",
                "redis",
                "full",
                null,
                null,
                Instant.EPOCH,
                Instant.EPOCH,
                "test",
                "host",
                List.of(new ArtifactInfo(RedisTarget.ARTIFACT, "dump.rdb.zst", 1, 1, "00", null, List.of(), List.of())),
                meta);
    }

    private BackupContext context(BackupManifest previous) {
        return (BackupContext) Proxy.newProxyInstance(
                getClass().getClassLoader(),
                new Class<?>[] {BackupContext.class},
                (proxy, method, args) -> switch (method.getName()) {
                    case "previous" -> Optional.of(previous);
                    case "targetName" -> "cache";
                    default -> throw new UnsupportedOperationException(method.getName());
                });
    }

    @Test
    void afterASnapshotWithModuleDataTheNextBackupTakesAFullOne() {
        Settings incremental = Settings.builder().set("incremental", "true").build();
        assertThat(KeyDeltaBackup.against(context(previous(1L)), incremental)).isEmpty();
        assertThat(KeyDeltaBackup.against(context(previous(0L)), incremental))
                .as("without module data: a delta")
                .isPresent();
    }
}
