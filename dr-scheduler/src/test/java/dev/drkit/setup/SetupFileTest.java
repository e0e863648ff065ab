package dev.drkit.setup;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.drkit.ConfigException;
import dev.drkit.RecoveryTest;
import dev.drkit.Settings;
import dev.drkit.TestSchedule;
import dev.drkit.VerifyLevel;
import dev.drkit.files.FilesArchiveVerifier;
import dev.drkit.files.FilesBackupTargetProvider;
import dev.drkit.spi.BackupTarget;
import dev.drkit.spi.BackupTargetProvider;
import dev.drkit.spi.OptionSchema;
import dev.drkit.spi.OptionSpec;
import dev.drkit.spi.OptionSpec.Type;
import dev.drkit.spi.VerifierProvider;
import dev.drkit.spi.support.TargetVerifierProvider;
import dev.drkit.verify.StreamVerifier;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SetupFileTest {
    private static final List<Object> TYPES = List.of(
            new FilesBackupTargetProvider(),
            unchecked("postgres"),
            logical(),
            unchecked("redis"),
            new FilesArchiveVerifier.Provider(),
            new StreamVerifier.DecodeProvider(),
            verifier(
                    "postgres-logical",
                    OptionSpec.builder("validate", Type.STRING).repeatable().build()));

    /** A target type that does not publish its options. */
    private static BackupTargetProvider unchecked(String type) {
        return new BackupTargetProvider() {
            @Override
            public String type() {
                return type;
            }

            @Override
            public BackupTarget create(Settings settings) {
                throw new UnsupportedOperationException();
            }
        };
    }

    /** postgres-logical as far as the setup file sees it: its schema. */
    private static BackupTargetProvider logical() {
        return new BackupTargetProvider() {
            @Override
            public String type() {
                return "postgres-logical";
            }

            @Override
            public OptionSchema schema() {
                return OptionSchema.of(
                        OptionSpec.builder("url", Type.STRING)
                                .required()
                                .description("the server")
                                .build(),
                        OptionSpec.builder("user", Type.STRING).build(),
                        OptionSpec.builder("password", Type.STRING).secret().build(),
                        OptionSpec.builder("password-file", Type.PATH).build(),
                        OptionSpec.builder("globals", Type.BOOLEAN).build());
            }

            @Override
            public BackupTarget create(Settings settings) {
                throw new UnsupportedOperationException();
            }
        };
    }

    private static VerifierProvider verifier(String type, OptionSpec option) {
        return new TargetVerifierProvider(
                "v-" + type, VerifyLevel.RESTORE, type, OptionSchema.of(option), s -> null) {};
    }

    @TempDir
    Path dir;

    @Test
    void readsAClassicPlan() throws Exception {
        Path f = write("""
                repository: file:/var/backups/corporate-intel
                copies: ["s3://corporate-intel-backups/production?region=eu-west-1"]
                objectives: { rpo: 1h, rto: 2h }
                encryption: { encrypt-to: [/etc/drkit/public.asc] }
                targets:
                  postgres-main:
                    type: postgres-logical
                    url: jdbc:postgresql://127.0.0.1:5432/corporate_intel
                    user: intel_user
                    password-file: /etc/drkit/pgpass
                    schedule: "0 2 * * *"
                    retention: { keep-daily: 7, keep-weekly: 4, keep-monthly: 12 }
                    verify: { schedule: "0 4 * * 0", level: restore, validate: ["SELECT 1"] }
                  config:
                    type: files
                    path: [/opt/corporate-intel/.env.production, /etc/nginx]
                    exclude: "*.tmp"
                    schedule: "0 3 * * *"
                    objectives: { rpo: 24h }
                """);
        Setup s = SetupFile.load(f, TYPES);
        assertThat(s.repository()).isEqualTo("file:/var/backups/corporate-intel");
        assertThat(s.copies()).containsExactly("s3://corporate-intel-backups/production?region=eu-west-1");
        assertThat(s.encryption().getAll("encrypt-to")).containsExactly("/etc/drkit/public.asc");
        assertThat(s.targets()).containsOnlyKeys("postgres-main", "config");

        Setup.Target pg = s.target("postgres-main");
        assertThat(pg.type()).isEqualTo("postgres-logical");
        assertThat(pg.settings().require("url")).endsWith("/corporate_intel");
        assertThat(pg.settings().require("password-file")).isEqualTo("/etc/drkit/pgpass");
        assertThat(pg.settings().has("schedule")).isFalse();
        assertThat(pg.schedule()).isEqualTo("0 2 * * *");
        assertThat(pg.retentionPolicy().describe()).contains("7").contains("12");
        assertThat(pg.verify().level()).isEqualTo("restore");
        assertThat(pg.verify().schedule()).isEqualTo("0 4 * * 0");
        assertThat(pg.verify().options().getAll("validate")).containsExactly("SELECT 1");
        assertThat(pg.objectives().rpo()).isEqualTo(Duration.ofHours(1));

        Setup.Target config = s.target("config");
        assertThat(config.settings().getAll("path")).hasSize(2);
        assertThat(config.settings().getAll("exclude")).containsExactly("*.tmp");
        assertThat(config.objectives().rpo()).isEqualTo(Duration.ofHours(24));
        assertThat(config.verify().level()).isEqualTo("decode");
        assertThat(config.retentionPolicy().isEmpty()).isTrue();
        assertThatThrownBy(() -> s.target("nope"))
                .isInstanceOf(ConfigException.class)
                .hasMessageContaining("postgres-main, config");
    }

    @Test
    void objectLockWithoutAPeriodTakesItFromTheRetention() throws Exception {
        Path f = write("""
                repository: s3://vault/prod?object-lock=compliance
                copies: ["s3://offsite/prod?region=eu-west-1&object-lock=governance&lock-for=90d", "file:/srv/b"]
                targets:
                  db:
                    type: postgres-logical
                    url: jdbc:postgresql://127.0.0.1:5432/app
                    user: app
                    retention: { keep-daily: 7, keep-weekly: 4 }
                  config:
                    type: files
                    path: /etc/app
                    retention: { keep-within: 14d, keep-monthly: 12 }
                  scratch:
                    type: files
                    path: /tmp/x
                    retention: { keep-last: 3 }
                """);
        Setup s = SetupFile.load(f, TYPES);
        // the longest of the targets' periods: 14 days from keep-within beats 7 from keep-daily
        assertThat(s.repository()).isEqualTo("s3://vault/prod?object-lock=compliance&lock-for=PT336H");
        assertThat(s.copies())
                .containsExactly(
                        "s3://offsite/prod?region=eu-west-1&object-lock=governance&lock-for=90d", "file:/srv/b");
        assertThat(Settings.parseDuration("lock-for", "PT336H")).isEqualTo(Duration.ofDays(14));

        Path none = write("""
                repository: s3://vault/prod?object-lock=compliance
                targets:
                  scratch:
                    type: files
                    path: /tmp/x
                    retention: { keep-last: 3 }
                """);
        assertThatThrownBy(() -> SetupFile.load(none, TYPES))
                .isInstanceOf(ConfigException.class)
                .hasMessageContaining(
                        ":1: 's3://vault/prod?object-lock=compliance' asks for object-lock but gives no " + "lock-for");
    }

    @Test
    void theTestingScheduleDefaultsToThePlanAndEachFrequencyCanBeChanged() throws Exception {
        Path plain = write("""
                targets:
                  config: { type: files, path: /etc/hosts }
                """);
        assertThat(SetupFile.load(plain, TYPES).testing()).isEqualTo(TestSchedule.plan());
        Path f = write("""
                testing:
                  failover: 14d
                  database-restore: 1d
                targets:
                  config: { type: files, path: /etc/hosts }
                """);
        TestSchedule t = SetupFile.load(f, TYPES).testing();
        assertThat(t.every(RecoveryTest.FAILOVER)).isEqualTo(Duration.ofDays(14));
        assertThat(t.every(RecoveryTest.DATABASE_RESTORE)).isEqualTo(Duration.ofDays(1));
        assertThat(t.every(RecoveryTest.FULL_RECOVERY)).isEqualTo(Duration.ofDays(91));
        Path bad = write("""
                testing:
                  failovr: 14d
                  full-recovery: often
                targets:
                  config: { type: files, path: /etc/hosts }
                """);
        assertThatThrownBy(() -> SetupFile.load(bad, TYPES))
                .isInstanceOfSatisfying(
                        ConfigException.class,
                        e -> assertThat(e.problems())
                                .containsExactly(
                                        bad
                                                + ":2: testing.failovr: unknown key (known: backup-integrity, database-restore, "
                                                + "failover, full-recovery)",
                                        bad
                                                + ":3: setting 'testing.full-recovery' must be a duration such as 36h, 7d, 4w, "
                                                + "12m or 1y, not 'often'"));
    }

    @Test
    void reportsEveryProblemWithItsLine() throws Exception {
        Path f = write("""
                repository: file:/tmp/r
                retention: { keep-daily: 7 }
                objectives: { rpo: soon }
                targets:
                  db:
                    type: postgres-logical
                    url: jdbc:postgresql://127.0.0.1/x
                    password: hunter2
                    schedule: "0 2 * *"
                  cache:
                    type: memcached
                  config:
                    type: files
                    retention: { keep-daily: seven, keep-forever: 1 }
                    verify: { level: thorough }
                  "bad name":
                    type: files
                    path: /etc
                """);
        assertThatThrownBy(() -> SetupFile.load(f, TYPES)).isInstanceOfSatisfying(ConfigException.class, e -> {
            String p = f + ":";
            assertThat(e.problems())
                    .containsExactlyInAnyOrder(
                            p
                                    + "2: retention: unknown key (known: compression, copies, encryption, notifications, objectives, repository, targets, testing)",
                            p
                                    + "3: setting 'objectives.rpo' must be a duration such as 36h, 7d, 4w, 12m or 1y, not 'soon'",
                            p
                                    + "8: targets.db.password: secrets do not belong in the setup file; put it in a file readable "
                                    + "only by drkit's user and name that file as 'password-file'",
                            e.problems().stream()
                                    .filter(x -> x.startsWith(
                                            p + "9: targets.db.schedule: '0 2 * *' is not a " + "cron schedule"))
                                    .findFirst()
                                    .orElse("no cron problem on line 9"),
                            p
                                    + "11: targets.cache.type: unknown type 'memcached' (one of files, postgres, postgres-logical, redis)",
                            p + "12: targets.config: option 'path' is required (a file or directory to back up)",
                            p + "14: targets.config.retention.keep-daily: 'seven' is not a count",
                            p
                                    + "14: targets.config.retention: unknown rule 'keep-forever' (keep-last, keep-hourly, keep-daily, "
                                    + "keep-weekly, keep-monthly, keep-yearly, keep-within)",
                            p + "15: targets.config.verify.level: 'thorough' is not one of [checksum, decode, restore]",
                            e.problems().stream()
                                    .filter(x -> x.startsWith(p + "16: targets.bad name: invalid target name"))
                                    .findFirst()
                                    .orElse("no name problem on line 16"));
            assertThat(e.getMessage()).doesNotContain("hunter2");
        });
    }

    @Test
    void dedupAndCompressionLevelAreTheKitsForEveryTypeAndChecked() throws Exception {
        Path good = write("""
                targets:
                  config: { type: files, path: /etc/hosts, dedup: true, compression-level: 19 }
                """);
        Setup.Target t = SetupFile.load(good, TYPES).targets().get("config");
        assertThat(t.settings().get("compression-level")).contains("19");
        assertThat(t.settings().get("dedup")).contains("true");
        Path bad = write("""
                targets:
                  config:
                    type: files
                    path: /etc/hosts
                    compression-level: fastest
                  other:
                    type: files
                    path: /etc/hosts
                    compression-level: 23
                """);
        assertThatThrownBy(() -> SetupFile.load(bad, TYPES)).isInstanceOfSatisfying(ConfigException.class, e -> {
            String p = bad + ":";
            assertThat(e.problems())
                    .containsExactly(
                            p + "5: targets.config.compression-level: 'fastest' is not a zstd level; use -1 (the "
                                    + "codec's default) to 22",
                            p + "9: targets.other.compression-level: '23' is not a zstd level; use -1 (the codec's "
                                    + "default) to 22");
        });
        // the same check a backup makes: against the setup's codec, and "03" is level 3 there too
        Path gzip = write("""
                compression: gzip
                targets:
                  config: { type: files, path: /etc/hosts, compression-level: 12 }
                  other: { type: files, path: /etc/hosts, compression-level: "03", dedup: maybe }
                  empty: { type: files, path: /etc/hosts, dedup: "", compression-level: "" }
                  chunks: { type: files, path: /etc/hosts, dedup: true }
                """);
        assertThatThrownBy(() -> SetupFile.load(gzip, TYPES)).isInstanceOfSatisfying(ConfigException.class, e -> {
            String p = gzip + ":";
            assertThat(e.problems())
                    .containsExactly(
                            p + "3: targets.config.compression-level: '12' is not a gzip level; use -1 (the codec's "
                                    + "default) to 9",
                            p + "4: targets.other.dedup: 'maybe' is not true or false",
                            p + "5: targets.empty.dedup: '' is not true or false",
                            p + "5: targets.empty.compression-level: '' is not a gzip level; use -1 (the codec's "
                                    + "default) to 9",
                            p + "6: targets.chunks.dedup: deduplicated storage compresses each chunk with zstd; set "
                                    + "'compression' to zstd, or turn 'dedup' off for this target");
        });
    }

    @Test
    void aMisspeltOptionFailsOnItsLineWithADidYouMean() throws Exception {
        Path f = write("""
                repository: file:/tmp/r
                targets:
                  config:
                    type: files
                    path: /etc
                    exlude: "*.tmp"
                  db:
                    type: postgres-logical
                    url: jdbc:postgresql://127.0.0.1/x
                    globals: sometimes
                    verify: { level: restore, validat: ["SELECT 1"] }
                """);
        assertThatThrownBy(() -> SetupFile.load(f, TYPES)).isInstanceOfSatisfying(ConfigException.class, e -> {
            String p = f + ":";
            assertThat(e.problems())
                    .containsExactly(
                            p + "6: targets.config: unknown option 'exlude'; did you mean option 'exclude'?",
                            p + "10: targets.db: option 'globals' must be true or false, not 'sometimes'",
                            p + "11: targets.db.verify: unknown option 'validat'; did you mean option 'validate'?");
        });
    }

    @Test
    void aTargetTypeWithoutASchemaIsUnchecked() throws Exception {
        Path f = write("""
                targets:
                  cache:
                    type: redis
                    anything: goes
                """);
        assertThat(SetupFile.load(f, TYPES).target("cache").settings().require("anything"))
                .isEqualTo("goes");
    }

    @Test
    void brokenYamlAndMissingFilesSayWhere() throws Exception {
        Path f = write("targets:\n  a: [unclosed\n");
        assertThatThrownBy(() -> SetupFile.load(f, TYPES))
                .isInstanceOf(ConfigException.class)
                .hasMessageContaining(f + ":")
                .hasMessageContaining("not valid YAML");
        assertThatThrownBy(() -> SetupFile.load(dir.resolve("none.yaml"), TYPES))
                .hasMessageContaining("none.yaml does not exist");
        Path empty = write("");
        assertThatThrownBy(() -> SetupFile.load(empty, TYPES)).hasMessageContaining("empty");
    }

    private Path write(String yaml) throws Exception {
        Path f = Files.createTempFile(dir, "drkit", ".yaml");
        Files.writeString(f, yaml);
        return f;
    }

    @Test
    void aTreeFromAHostsConfigurationIsReadWithTheFilesRulesAndItsProblemsNameTheirKeys() {
        Map<String, Object> tree = new LinkedHashMap<>();
        tree.put("repository", "file:/var/backups/app");
        tree.put("objectives", Map.of("rpo", "1h"));
        Map<String, Object> targets = new LinkedHashMap<>();
        targets.put(
                "config", Map.of("type", "files", "path", List.of("/etc/app", "/etc/nginx"), "schedule", "0 3 * * *"));
        targets.put("db", Map.of("type", "postgres-logical", "globals", "true")); // url supplied by the host
        tree.put("targets", targets);

        Setup setup = SetupFile.fromTree("drkit", tree, Map.of("db", Set.of("url")), TYPES);

        assertThat(setup.file()).isNull();
        assertThat(setup.target("config").settings().getAll("path")).containsExactly("/etc/app", "/etc/nginx");
        assertThat(setup.target("config").objectives().rpo()).isEqualTo(Duration.ofHours(1));
        assertThat(setup.target("db").settings().has("url")).isFalse();

        targets.put("cache", Map.of("type", "redis", "password", "s3cret"));
        targets.put("db", Map.of("type", "postgres-logical", "globalz", "true"));
        tree.put("compresion", "zstd");
        assertThatThrownBy(() -> SetupFile.fromTree("drkit", tree, Map.of(), TYPES))
                .isInstanceOfSatisfying(
                        ConfigException.class,
                        e -> assertThat(e.problems())
                                .anySatisfy(p -> assertThat(p).startsWith("drkit.compresion: unknown key"))
                                .anySatisfy(p -> assertThat(p)
                                        .startsWith("drkit.targets.db")
                                        .contains("'globalz'"))
                                .anySatisfy(p -> assertThat(p)
                                        .startsWith("drkit.targets.db")
                                        .contains("'url' is required"))
                                .anySatisfy(p -> assertThat(p)
                                        .startsWith("drkit.targets.cache.password: secrets do not belong in the setup;")
                                        .doesNotContain("s3cret")));
        assertThatThrownBy(() -> SetupFile.fromTree("drkit", Map.of(), Map.of(), TYPES))
                .isInstanceOfSatisfying(
                        ConfigException.class,
                        e -> assertThat(e.problems())
                                .containsExactly("drkit: nothing is set; it needs at least 'targets'"));
    }

    @Test
    void aTreesCommaSeparatedValueOfARepeatableOptionIsAProblemRatherThanOnePath() {
        Map<String, Object> targets = new LinkedHashMap<>();
        targets.put("config", Map.of("type", "files", "path", "/etc/app,/etc/nginx"));
        targets.put("single", Map.of("type", "files", "path", "/srv/data"));
        targets.put("indexed", Map.of("type", "files", "path", List.of("/srv/a,b")));

        assertThatThrownBy(() -> SetupFile.fromTree("drkit", Map.of("targets", targets), Map.of(), TYPES))
                .isInstanceOfSatisfying(
                        ConfigException.class,
                        e -> assertThat(e.problems())
                                .containsExactly(
                                        "drkit.targets.config.path: '/etc/app,/etc/nginx' is one value with a "
                                                + "comma; give each value at its own index (path[0], path[1], or a YAML list)"));
    }

    @Test
    void aTreesDurationInBareMIsAProblemSinceSpringReadsItAsMinutes() {
        Map<String, Object> tree = new LinkedHashMap<>();
        tree.put("objectives", Map.of("rpo", "30m", "rto", "2h"));
        tree.put(
                "targets",
                Map.of(
                        "config",
                        Map.of(
                                "type",
                                "files",
                                "path",
                                "/etc/app",
                                "retention",
                                Map.of("keep-within", "90min"),
                                "objectives",
                                Map.of("rpo", "1d12m"))));

        assertThatThrownBy(() -> SetupFile.fromTree("drkit", tree, Map.of(), TYPES))
                .isInstanceOfSatisfying(
                        ConfigException.class,
                        e -> assertThat(e.problems())
                                .containsExactlyInAnyOrder(
                                        "drkit.objectives.rpo: '30m' would be months to drkit ('m' is a month, as in "
                                                + "restic) but minutes to Spring; write 'min' for minutes or 'mo' for "
                                                + "months",
                                        "drkit.targets.config.objectives.rpo: '1d12m' would be months to drkit ('m' "
                                                + "is a month, as in restic) but minutes to Spring; write 'min' for "
                                                + "minutes or 'mo' for months"));
    }

    @Test
    void aTreesLevelsFromAnEnvironmentVariableJoinIntoTheOptionTheyName() {
        Map<String, Object> db = new LinkedHashMap<>();
        db.put("type", "postgres-logical");
        db.put("url", "jdbc:postgresql://db/shop");
        db.put("password", Map.of("file", "/run/secrets/pg")); // DRKIT_TARGETS_DB_PASSWORD_FILE

        Setup setup = SetupFile.fromTree("drkit", Map.of("targets", Map.of("db", db)), Map.of(), TYPES);

        assertThat(setup.target("db").settings().get("password-file")).contains("/run/secrets/pg");
        assertThat(setup.target("db").settings().has("password")).isFalse();

        db.put("password", Map.of("fiel", "/run/secrets/pg"));
        assertThatThrownBy(() -> SetupFile.fromTree("drkit", Map.of("targets", Map.of("db", db)), Map.of(), TYPES))
                .isInstanceOfSatisfying(
                        ConfigException.class,
                        e -> assertThat(e.problems())
                                .singleElement()
                                .asString()
                                .startsWith("drkit.targets.db.password: secrets do not belong in the setup"));
    }
}
