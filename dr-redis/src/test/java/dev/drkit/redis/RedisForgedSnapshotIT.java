package dev.drkit.redis;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.drkit.Capability;
import dev.drkit.CorruptDataException;
import dev.drkit.DrException;
import dev.drkit.DrKit;
import dev.drkit.DrKitConfig;
import dev.drkit.RestoreRequest;
import dev.drkit.Settings;
import dev.drkit.TargetSpec;
import dev.drkit.VerificationResult;
import dev.drkit.VerifyLevel;
import dev.drkit.VerifyReport;
import dev.drkit.spi.BackupContext;
import dev.drkit.spi.BackupTarget;
import dev.drkit.spi.BackupTargetProvider;
import dev.drkit.spi.RestoreContext;
import dev.drkit.storage.FileStorageBackendProvider;
import dev.drkit.testkit.Prerequisites;
import dev.drkit.testkit.RedisServer;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.EnumSet;
import java.util.Set;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Forged snapshots whose repository checksums are sound: one whose listpack claims an entry far
 * longer than itself (a server without payload checks loads it and crashes when the key is
 * read: the load test's scratch server checks every value, so the test fails instead of
 * passing), and one whose RDB CRC-64 is wrong (an online restore sends no key at all).
 */
class RedisForgedSnapshotIT {
    @TempDir
    Path dir;

    /** A "redis" target that stores fixed RDB bytes as its snapshot and restores as the real one does. */
    record FixedSnapshot(byte[] rdb, BackupTarget real, String mode) implements BackupTarget {
        FixedSnapshot(byte[] rdb, BackupTarget real) {
            this(rdb, real, "rdb");
        }

        @Override
        public String type() {
            return RedisTargetProvider.TYPE;
        }

        @Override
        public Set<Capability> capabilities() {
            return EnumSet.of(Capability.FULL);
        }

        @Override
        public void backup(BackupContext context) throws IOException {
            context.metadata("keys", 1L);
            context.metadata("mode", mode);
            try (OutputStream out = context.newArtifact("dump.rdb")) {
                out.write(rdb);
            }
        }

        @Override
        public void restore(RestoreContext context) throws IOException {
            real.restore(context);
        }
    }

    /** A kit whose only "redis" target is {@code target}, with the Redis verifiers. */
    private DrKit kit(FixedSnapshot target) {
        BackupTargetProvider provider = new BackupTargetProvider() {
            @Override
            public String type() {
                return RedisTargetProvider.TYPE;
            }

            @Override
            public BackupTarget create(Settings settings) {
                return target;
            }
        };
        return DrKit.builder()
                .config(DrKitConfig.builder()
                        .repository(dir.resolve("repo").toString())
                        .build())
                .discoverProviders(false)
                .register(new FileStorageBackendProvider())
                .register(provider)
                .register(new RedisVerifiers.RdbProvider())
                .register(new RedisVerifiers.LoadTestProvider())
                .build();
    }

    @Test
    void anOnlineRestoreOfASnapshotWhoseCrcIsWrongSendsNoKeyAtAll() throws Exception {
        Prerequisites.requireTool("redis-server");
        byte[] rdb = batchOfKeys().eof();
        rdb[rdb.length - 1] ^= 0x01; // the RDB's own CRC-64 no longer matches; the repository's checksum does
        try (RedisServer server = RedisServer.start()) {
            try (DrKit kit = kit(fixed(rdb, server))) {
                String id = backUp(kit);

                assertThatThrownBy(() -> restoreTo(kit, id, Settings.builder().set("to-uri", server.uri())))
                        .isInstanceOf(DrException.class)
                        .hasMessageContaining("dump.rdb");
            }
            assertThat(server.command("DBSIZE")).isEqualTo("0");
        }
    }

    @Test
    void anOnlineRestoreOfASnapshotHoldingAKeyTwiceSendsNoKeyForcedOrNot() throws Exception {
        Prerequisites.requireTool("redis-server");
        byte[] rdb = batchOfKeys()
                .raw(0)
                .string("key:1200")
                .string("forged") // the same key, another value
                .selectDb(1)
                .raw(0)
                .string("key:7")
                .string("another database: another key")
                .eof(); // a sound CRC-64: only the duplicate is wrong
        try (RedisServer server = RedisServer.start()) {
            try (DrKit kit = kit(fixed(rdb, server))) {
                String id = backUp(kit);

                for (boolean force : new boolean[] {false, true}) {
                    assertThatThrownBy(() -> kit.restore(new RestoreRequest(
                                    "cache",
                                    id,
                                    Settings.builder()
                                            .set("to-uri", server.uri())
                                            .build(),
                                    force)))
                            .isInstanceOf(CorruptDataException.class)
                            .hasMessageContaining("dump.rdb of backup " + id
                                    + " holds the key 'key:1200' a second time in database 0");
                    assertThat(server.command("DBSIZE")).isEqualTo("0");
                }
            }
        }
    }

    @Test
    void aKeysModeBackupHoldingAKeyTwiceAsScanCouldMakeItIsRestoredWithAWarning() throws Exception {
        // keys-mode backups made before keys mode wrote each key once hold a key SCAN returned twice
        Prerequisites.requireTool("redis-server");
        byte[] rdb = batchOfKeys().raw(0).string("key:1200").string("later").eof();
        try (RedisServer server = RedisServer.start()) {
            BackupTarget real = RedisTarget.builder()
                    .settings(Settings.builder().set("uri", server.uri()).build())
                    .build();
            try (DrKit kit = kit(new FixedSnapshot(rdb, real, "keys"))) {
                String id = backUp(kit);

                restoreTo(kit, id, Settings.builder().set("to-uri", server.uri()));

                assertThat(server.command("DBSIZE")).isEqualTo("2500");
                assertThat(server.command("GET", "key:1200")).isEqualTo("v1200");
            }
        }
    }

    @Test
    void aForgedListpackFailsTheLoadTestInsteadOfPassing() throws Exception {
        Prerequisites.requireTool("redis-server");
        byte[] lp = new byte[17];
        lp[0] = 17; // total bytes
        lp[4] = 2; // entries
        lp[6] = (byte) 0xF0; // a 32-bit string length follows...
        lp[10] = 0x40; // ...of about a gigabyte, in a 17-byte listpack
        lp[16] = (byte) 0xFF; // end
        byte[] forged = RdbBytes.redis(10)
                .selectDb(0)
                .raw(16) // a hash as a listpack
                .string("h")
                .string(lp)
                .eof();
        try (DrKit kit = kit(new FixedSnapshot(forged, null))) {
            String id = backUp(kit);

            VerifyReport report = kit.verify("cache", id, VerifyLevel.RESTORE);

            assertThat(report.passed()).isFalse();
            VerificationResult load = report.results().stream()
                    .filter(r -> r.verifier().equals("redis-load-test"))
                    .findFirst()
                    .orElseThrow();
            assertThat(load.status()).isEqualTo(VerificationResult.Status.FAILED);
            // drkit's own walk of the listpack finds it before a server is asked to load it
            assertThat(String.join("; ", load.problems()))
                    .contains("the listpack of a hash or sorted set", "is corrupt", "runs past the end");
        }
    }

    @Test
    void bytesAfterTheRdbAreReportedEvenWhenTheParserHoldsThemBuffered() throws Exception {
        RdbBytes keys = RdbBytes.redis(10).selectDb(0);
        for (int i = 0; i < 20; i++) {
            keys.raw(0).string("key:" + i).string("value " + i);
        }
        byte[] rdb = keys.eof();
        // a few bytes after the end: the parser's buffer takes them with the RDB's last bytes
        byte[] withTail = Arrays.copyOf(rdb, rdb.length + 9);
        System.arraycopy("appended!".getBytes(StandardCharsets.US_ASCII), 0, withTail, rdb.length, 9);
        BackupTarget real = RedisTarget.builder()
                .settings(Settings.builder().set("uri", "redis://127.0.0.1:1").build())
                .build();
        try (DrKit kit = kit(new FixedSnapshot(withTail, real))) {
            String id = backUp(kit);

            Path out = dir.resolve("restored");
            assertThatThrownBy(() -> restoreTo(
                            kit,
                            id,
                            Settings.builder().set("to-dir", out.toString()).set("server-version", "7.0.0")))
                    .isInstanceOf(CorruptDataException.class)
                    .hasMessageContaining("bytes after the end of the RDB");
            assertThat(out.resolve("dump.rdb")).doesNotExist();
            try (Stream<Path> left = Files.list(out)) {
                assertThat(left).isEmpty(); // nor a partial file under a temporary name
            }

            // nor does an online restore send any key of it
            Prerequisites.requireTool("redis-server");
            try (RedisServer server = RedisServer.start()) {
                assertThatThrownBy(() -> restoreTo(kit, id, Settings.builder().set("to-uri", server.uri())))
                        .isInstanceOf(CorruptDataException.class)
                        .hasMessageContaining("bytes after the end of the RDB");
                assertThat(server.command("DBSIZE")).isEqualTo("0");
            }

            VerifyReport report = kit.verify("cache", id, VerifyLevel.DECODE);
            VerificationResult rdbCheck = report.results().stream()
                    .filter(r -> r.verifier().equals("redis-rdb"))
                    .findFirst()
                    .orElseThrow();
            assertThat(rdbCheck.status()).isEqualTo(VerificationResult.Status.FAILED);
            assertThat(String.join("; ", rdbCheck.problems())).contains("has bytes after the end of the RDB");
        }
    }

    /** Keys in database 0, more than a pipelined batch: without a check first, some would reach the server. */
    private static RdbBytes batchOfKeys() {
        RdbBytes keys = RdbBytes.redis(10).selectDb(0);
        for (int i = 0; i < 2500; i++) {
            keys.raw(0).string("key:" + i).string("v" + i);
        }
        return keys;
    }

    /** A target storing {@code rdb} that restores as the real one configured for {@code server} does. */
    private static FixedSnapshot fixed(byte[] rdb, RedisServer server) {
        return new FixedSnapshot(
                rdb,
                RedisTarget.builder()
                        .settings(Settings.builder().set("uri", server.uri()).build())
                        .build());
    }

    /** A backup of "cache"; its id. */
    private static String backUp(DrKit kit) {
        return kit.backup(new TargetSpec("cache", RedisTargetProvider.TYPE, Settings.empty()))
                .id();
    }

    /** Restores backup {@code id} of "cache" with these settings. */
    private static void restoreTo(DrKit kit, String id, Settings.Builder settings) {
        kit.restore(new RestoreRequest("cache", id, settings.build(), false));
    }
}
