package dev.drkit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.drkit.internal.pipeline.Compression;
import dev.drkit.spi.BackupContext;
import dev.drkit.spi.BackupTarget;
import dev.drkit.spi.BackupTargetProvider;
import dev.drkit.spi.RestoreContext;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.EnumSet;
import java.util.Random;
import java.util.Set;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Which compression level a backup uses: the target setting {@code compression-level}, else the
 * kit's, else the fastest for a target that prefers it, else the codec's default. The stored
 * size of one fixed artifact tells them apart: each level compresses it to a different size.
 */
class CompressionLevelTest {
    private static final byte[] DATA = data();
    private static long level1;
    private static long level3;
    private static long level9;

    @TempDir
    Path dir;

    private static byte[] data() {
        Random r = new Random(7);
        StringBuilder sb = new StringBuilder();
        String[] words = {"alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta"};
        while (sb.length() < 3_000_000) {
            sb.append(words[r.nextInt(words.length)])
                    .append(' ')
                    .append(r.nextInt(100_000))
                    .append(r.nextInt(9) == 0 ? "\n" : " ");
        }
        return sb.toString().getBytes(StandardCharsets.US_ASCII);
    }

    private static long zstd(int level) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (OutputStream z = Compression.ZSTD.compress(out, level, 0)) {
            z.write(DATA);
        }
        return out.size();
    }

    @BeforeAll
    static void sizes() throws IOException {
        level1 = zstd(1);
        level3 = zstd(3);
        level9 = zstd(9);
        // the test tells levels apart by size: they must differ on this data
        assertThat(Set.of(level1, level3, level9)).hasSize(3);
    }

    /** Writes {@link #DATA}; prefers fast compression when asked. */
    static final class FixedTarget implements BackupTarget {
        private final boolean fast;

        FixedTarget(boolean fast) {
            this.fast = fast;
        }

        @Override
        public String type() {
            return fast ? "fixed-fast" : "fixed";
        }

        @Override
        public Set<Capability> capabilities() {
            return EnumSet.of(Capability.FULL);
        }

        @Override
        public boolean prefersFastCompression() {
            return fast;
        }

        @Override
        public void backup(BackupContext context) throws IOException {
            try (OutputStream out = context.newArtifact("data.bin")) {
                out.write(DATA);
            }
        }

        @Override
        public void restore(RestoreContext context) throws IOException {
            try (InputStream in = context.openArtifact("data.bin")) {
                Files.write(Path.of(context.options().get("to", "")), in.readAllBytes());
            }
        }
    }

    static final class FixedProvider implements BackupTargetProvider {
        private final boolean fast;

        FixedProvider(boolean fast) {
            this.fast = fast;
        }

        @Override
        public String type() {
            return new FixedTarget(fast).type();
        }

        @Override
        public BackupTarget create(Settings settings) {
            return new FixedTarget(fast);
        }
    }

    private DrKit kit(DrKitConfig.Builder config) {
        return DrKit.builder()
                .config(config.repository(dir.resolve("repo").toString())
                        .compressionWorkers(0) // one thread: the output is the sizes computed above
                        .build())
                .register(new FixedProvider(true))
                .register(new FixedProvider(false))
                .build();
    }

    private static long stored(DrKit kit, String type, Settings settings) {
        return kit.backup(new TargetSpec("t-" + type, type, settings))
                .manifest()
                .artifacts()
                .get(0)
                .storedSize();
    }

    @Test
    void aTargetPreferringFastCompressionGetsTheFastestLevelUnlessALevelIsSet() throws Exception {
        try (DrKit kit = kit(DrKitConfig.builder())) {
            assertThat(stored(kit, "fixed", Settings.empty())).isEqualTo(level3);
            assertThat(stored(kit, "fixed-fast", Settings.empty())).isEqualTo(level1);
            // the target's own setting wins over both
            Settings nine = Settings.builder().set("compression-level", "9").build();
            assertThat(stored(kit, "fixed-fast", nine)).isEqualTo(level9);
            assertThat(stored(kit, "fixed", nine)).isEqualTo(level9);
        }
        try (DrKit kit = kit(DrKitConfig.builder().compressionLevel(-1))) {
            // -1 chosen by the host is the codec's default, for every target
            assertThat(stored(kit, "fixed-fast", Settings.empty())).isEqualTo(level3);
        }
        try (DrKit kit =
                kit(DrKitConfig.builder().storageSettings(Settings.empty()).compressionLevel(9).build().toBuilder())) {
            // a host's level survives toBuilder; settings tell a level given from none
            assertThat(DrKitConfig.from(Settings.builder()
                                    .set("repository", "/r")
                                    .set("compression-level", "-1")
                                    .build())
                            .compressionLevelSet())
                    .isTrue();
            assertThat(DrKitConfig.from(
                                    Settings.builder().set("repository", "/r").build())
                            .compressionLevelSet())
                    .isFalse();
            // the kit's level is the host's choice: a target's preference does not override it
            assertThat(stored(kit, "fixed-fast", Settings.empty())).isEqualTo(level9);
            Settings three = Settings.builder().set("compression-level", "3").build();
            assertThat(stored(kit, "fixed-fast", three)).isEqualTo(level3);
        }
    }

    @Test
    void aBackupAtAnotherLevelRestoresTheSameBytes() throws Exception {
        try (DrKit kit = kit(DrKitConfig.builder())) {
            BackupResult b = kit.backup(new TargetSpec(
                    "t",
                    "fixed",
                    Settings.builder().set("compression-level", "19").build()));
            Path to = dir.resolve("restored.bin");
            kit.restore(new RestoreRequest(
                    "t", b.id(), Settings.builder().set("to", to.toString()).build(), false));
            assertThat(Files.readAllBytes(to)).isEqualTo(DATA);
        }
    }

    @Test
    void aTargetConfiguredOnTheKitKeepsItsOwnLevelAndDedupSetting() throws Exception {
        Path tree = Files.createDirectories(dir.resolve("tree"));
        Files.write(tree.resolve("data.txt"), DATA);
        // the files type's schema is strict: the kit's per-target keys must not reach it
        try (DrKit kit = DrKit.builder()
                .config(DrKitConfig.builder()
                        .repository(dir.resolve("repo").toString())
                        .compressionWorkers(0)
                        .build())
                .target(new TargetSpec(
                        "fast",
                        "files",
                        Settings.builder()
                                .set("path", tree.toString())
                                .set("compression-level", "1")
                                .set("dedup", "false")
                                .build()))
                .target(new TargetSpec(
                        "small",
                        "files",
                        Settings.builder()
                                .set("path", tree.toString())
                                .set("compression-level", "19")
                                .build()))
                .target(TargetSpec.files("plain", tree.toString()))
                .build()) {
            long fast = kit.backup("fast").manifest().artifacts().get(0).storedSize();
            long small = kit.backup("small").manifest().artifacts().get(0).storedSize();
            long plain = kit.backup("plain").manifest().artifacts().get(0).storedSize();
            // each level its own size (a level lost on the way would give the default's): 19 the smallest
            assertThat(Set.of(fast, small, plain)).hasSize(3);
            assertThat(small).isLessThan(Math.min(fast, plain));
        }
    }

    @Test
    void aTargetTheHostMadeTakesTheKitsSettingsBesideIt() throws Exception {
        try (DrKit kit = DrKit.builder()
                .config(DrKitConfig.builder()
                        .repository(dir.resolve("repo").toString())
                        .compressionWorkers(0)
                        .build())
                .register(new FixedProvider(false))
                .target(
                        "nine",
                        new FixedTarget(false),
                        Settings.builder().set("compression-level", "9").build())
                .target("plain", new FixedTarget(false))
                .target(
                        "deduplicated",
                        new FixedTarget(false),
                        Settings.builder().set("dedup", "true").build())
                .build()) {
            assertThat(kit.backup("nine").manifest().artifacts().get(0).storedSize())
                    .isEqualTo(level9);
            assertThat(kit.backup("plain").manifest().artifacts().get(0).storedSize())
                    .isEqualTo(level3);
            assertThat(kit.backup("deduplicated").manifest().metadata()).containsKey(BackupManifest.DEDUP);
            assertThat(kit.backup("plain").manifest().metadata()).doesNotContainKey(BackupManifest.DEDUP);
        }
        // anything else is the type's, given to the target's own builder; a bad level fails the build
        assertThatThrownBy(() -> DrKit.builder()
                        .target(
                                "t",
                                new FixedTarget(false),
                                Settings.builder().set("path", "/etc").build()))
                .isInstanceOf(ConfigException.class)
                .hasMessageContaining("path is not a setting of every type");
        assertThatThrownBy(() -> DrKit.builder()
                        .config(DrKitConfig.builder()
                                .repository(dir.resolve("repo").toString())
                                .compression("gzip")
                                .build())
                        .target(
                                "t",
                                new FixedTarget(false),
                                Settings.builder()
                                        .set("compression-level", "12")
                                        .build())
                        .build())
                .isInstanceOf(ConfigException.class)
                .hasMessageContaining("compression-level of target t: '12' is not a gzip level; use -1 (the codec's "
                        + "default) to 9");
    }

    @Test
    void aKitWithAConfiguredTargetsBadLevelOrDedupIsNotBuiltAndCreatesNothing() {
        Path repo = dir.resolve("repo");
        assertThatThrownBy(() -> DrKit.builder()
                        .config(DrKitConfig.builder()
                                .repository(repo.toString())
                                .compression("lz4")
                                .build())
                        .target(new TargetSpec(
                                "logs",
                                "files",
                                Settings.builder()
                                        .set("path", "/etc/hosts")
                                        .set("compression-level", "19")
                                        .build()))
                        .build())
                .isInstanceOf(ConfigException.class)
                .hasMessageContaining("compression-level of target logs: '19' is not a lz4 level");
        assertThatThrownBy(() -> DrKit.builder()
                        .config(DrKitConfig.builder()
                                .repository(repo.toString())
                                .compression("gzip")
                                .build())
                        .target(new TargetSpec(
                                "logs",
                                "files",
                                Settings.builder()
                                        .set("path", "/etc/hosts")
                                        .set("dedup", "true")
                                        .build()))
                        .build())
                .isInstanceOf(ConfigException.class)
                .hasMessageContaining("dedup of target logs: deduplicated storage compresses each chunk with zstd");
        // the kit's own level and dedup are checked against its codec too
        assertThat(DrKitConfig.builder()
                        .repository(repo.toString())
                        .compression("gzip")
                        .compressionLevel(19)
                        .build()
                        .validate())
                .containsExactly("compression-level: 19 is out of range for gzip (-1 for its default, up to 9)");
        assertThatThrownBy(() -> DrKitConfig.from(Settings.builder()
                        .set("repository", repo.toString())
                        .set("compression", "xz")
                        .set("dedup", "true")
                        .build()))
                .isInstanceOf(ConfigException.class)
                .hasMessageContaining("dedup: deduplicated storage compresses each chunk with zstd");
        assertThat(repo).doesNotExist();
    }

    @Test
    void aLevelBeyondTheCodecsRangeIsRefusedWithTheRange() throws Exception {
        try (DrKit kit = DrKit.builder()
                .config(DrKitConfig.builder()
                        .repository(dir.resolve("repo").toString())
                        .compression("gzip")
                        .build())
                .register(new FixedProvider(false))
                .build()) {
            assertThatThrownBy(() -> kit.backup(new TargetSpec(
                            "t",
                            "fixed",
                            Settings.builder().set("compression-level", "15").build())))
                    .isInstanceOf(ConfigException.class)
                    .hasMessageContaining("'15' is not a gzip level; use -1 (the codec's default) to 9");
            assertThat(kit.backup(new TargetSpec(
                                    "t",
                                    "fixed",
                                    Settings.builder()
                                            .set("compression-level", "9")
                                            .build()))
                            .manifest()
                            .artifacts())
                    .hasSize(1);
        }
        assertThat(dir.resolve("repo")).exists();
    }

    @Test
    void aLevelOutOfRangeIsRefusedBeforeTheRepositoryIsCreated() throws Exception {
        try (DrKit kit = kit(DrKitConfig.builder())) {
            for (String bad : new String[] {"23", "-2", "fast", ""}) {
                assertThatThrownBy(() -> kit.backup(new TargetSpec(
                                "t",
                                "fixed",
                                Settings.builder().set("compression-level", bad).build())))
                        .isInstanceOf(ConfigException.class)
                        .hasMessageContaining("compression-level of target t")
                        .hasMessageContaining("use -1 (the codec's default) to 22");
            }
        }
        assertThat(dir.resolve("repo")).doesNotExist();
    }
}
