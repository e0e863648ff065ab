package dev.drkit.spring;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.drkit.BackupManifest;
import dev.drkit.ConfigException;
import dev.drkit.DrKit;
import dev.drkit.RepositoryNotFoundException;
import dev.drkit.TargetSpec;
import dev.drkit.VerifyLevel;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;
import org.springframework.beans.factory.annotation.Value;
import org.springframework.boot.SpringApplication;
import org.springframework.boot.WebApplicationType;
import org.springframework.boot.autoconfigure.AutoConfigurations;
import org.springframework.boot.autoconfigure.EnableAutoConfiguration;
import org.springframework.boot.diagnostics.FailureAnalysis;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;
import org.springframework.boot.test.system.CapturedOutput;
import org.springframework.boot.test.system.OutputCaptureExtension;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.core.env.StandardEnvironment;
import org.springframework.core.env.SystemEnvironmentPropertySource;

@ExtendWith(OutputCaptureExtension.class)
class DrkitAutoConfigurationTest {
    @TempDir
    Path tmp;

    private final ApplicationContextRunner runner = new ApplicationContextRunner()
            .withConfiguration(
                    AutoConfigurations.of(DrkitAutoConfiguration.class, DrkitActuatorAutoConfiguration.class));

    private String[] filesSetup(String... more) throws IOException {
        Path source = Files.createDirectories(tmp.resolve("config"));
        Files.writeString(source.resolve("app.properties"), "greeting=hello\n");
        List<String> all = new ArrayList<>(List.of(
                "drkit.repository=" + tmp.resolve("repo"),
                "drkit.targets.config.type=files",
                "drkit.targets.config.path[0]=" + source,
                "drkit.targets.config.schedule=0 * * * *",
                "drkit.targets.config.retention.keep-last=3",
                "drkit.objectives.rpo=1h"));
        all.addAll(List.of(more));
        return all.toArray(String[]::new);
    }

    @Test
    void propertiesBuildOneKitWhoseScheduleBacksUpAtStart() throws IOException {
        runner.withPropertyValues(filesSetup()).run(context -> {
            assertThat(context).hasNotFailed().hasSingleBean(DrKit.class).hasSingleBean(DrkitSchedulerLifecycle.class);
            DrKit kit = context.getBean(DrKit.class);
            assertThat(kit.configuredTargets()).containsExactly("config");
            DrkitSetup setup = context.getBean(DrkitSetup.class);
            assertThat(setup.setup().target("config").settings().getAll("path"))
                    .containsExactly(tmp.resolve("config").toString());
            assertThat(setup.setup().target("config").retentionPolicy().isEmpty())
                    .isFalse();
            assertThat(setup.objectives().get("config").rpo()).isEqualTo(Duration.ofHours(1));
            // the hour's slot has no backup yet: the scheduler's first tick runs it
            List<BackupManifest> backups = awaitBackup(kit, "config");
            assertThat(backups).hasSize(1);
            assertThat(context.getBean(DrkitSchedulerLifecycle.class).jobs()).containsKey("backup-config");
            assertThat(context).hasSingleBean(DrkitHealthIndicator.class).hasSingleBean(DrkitEndpoint.class);
        });
    }

    @Test
    void theSetupsEncryptionKeysEncryptNewBackupsAndOpenThemForVerification() throws IOException {
        Path passphrase = Files.writeString(tmp.resolve("passphrase"), "correct horse battery staple\n");
        Files.setPosixFilePermissions(passphrase, PosixFilePermissions.fromString("rw-------"));
        runner.withPropertyValues(filesSetup("drkit.encryption.passphrase-file=" + passphrase))
                .run(context -> {
                    DrKit kit = context.getBean(DrKit.class);
                    BackupManifest backup = awaitBackup(kit, "config").get(0);
                    assertThat(backup.artifacts())
                            .allSatisfy(a -> assertThat(a.storedName()).endsWith(".pgp"));
                    assertThat(kit.verify("config", backup.id(), VerifyLevel.DECODE)
                                    .passed())
                            .isTrue();
                });
        runner.withPropertyValues(filesSetup("drkit.encryption.encrypt-to=" + tmp.resolve("no-such-key.asc")))
                .run(context -> {
                    ConfigException e = rootCause(context.getStartupFailure(), ConfigException.class);
                    assertThat(e.getMessage())
                            .startsWith("drkit.encryption: ")
                            .contains("no-such-key.asc does not exist");
                });
    }

    @Test
    void aRestartedApplicationReportsTheAgeOfBackupsItDidNotMake() throws IOException {
        String[] setup = filesSetup("drkit.scheduler.enabled=false");
        String repo = tmp.resolve("repo").toString();
        try (DrKit other = DrKit.builder().repository(repo).build()) {
            other.backup(TargetSpec.files("config", tmp.resolve("config").toString()));
        }
        runner.withBean(SimpleMeterRegistry.class).withPropertyValues(setup).run(context -> {
            SimpleMeterRegistry registry = context.getBean(SimpleMeterRegistry.class);
            assertThat(registry.get("drkit.backup.last.success.age")
                            .tag("target", "config")
                            .gauge()
                            .value())
                    .isBetween(0.0, 60.0);
            assertThat(registry.get("drkit.backup.rpo.objective")
                            .tag("target", "config")
                            .gauge()
                            .value())
                    .isEqualTo(3600.0);
        });
    }

    @Test
    void everyProblemOfThePropertiesFailsStartUpAtOnce() throws IOException {
        runner.withPropertyValues(filesSetup(
                        "drkit.targets.config.paht=/etc",
                        "drkit.targets.config.schedule=every hour",
                        "drkit.targets.db.type=postgres-logicl",
                        "drkit.targets.config.data-source=dataSource",
                        "drkit.scheduler.enabeld=false",
                        "drkit.compresion=zstd"))
                .run(context -> {
                    assertThat(context).hasFailed();
                    ConfigException e = rootCause(context.getStartupFailure(), ConfigException.class);
                    assertThat(e.problems())
                            .anySatisfy(p -> assertThat(p)
                                    .startsWith("drkit.targets.config")
                                    .contains("'paht'")
                                    .contains("known: exclude, path"))
                            .anySatisfy(p -> assertThat(p)
                                    .startsWith("drkit.targets.config.schedule: 'every hour' is not a cron schedule"))
                            .anySatisfy(p ->
                                    assertThat(p).startsWith("drkit.targets.db.type: unknown type 'postgres-logicl'"))
                            .anySatisfy(p ->
                                    assertThat(p).startsWith("drkit.targets.config.data-source: only postgres-logical"))
                            .anySatisfy(p -> assertThat(p).startsWith("drkit.scheduler.enabeld: unknown key"))
                            .anySatisfy(p -> assertThat(p).startsWith("drkit.compresion: unknown key"));
                    assertThat(e.problems()).hasSize(6);

                    FailureAnalysis analysis = new DrkitFailureAnalyzer().analyze(context.getStartupFailure());
                    assertThat(analysis.getDescription())
                            .startsWith("drkit's configuration has 6 problem(s):")
                            .contains("  - drkit.targets.db.type: unknown type 'postgres-logicl'")
                            .doesNotContain("Exception");
                    assertThat(analysis.getAction()).contains("drkit.enabled=false");
                });
    }

    @Test
    void aBadPropertyStopsTheApplicationWithSpringBootsReportAndNoStackTrace(CapturedOutput output) {
        SpringApplication app = new SpringApplication(Empty.class);
        app.setWebApplicationType(WebApplicationType.NONE);
        assertThatThrownBy(() -> app.run(
                        "--drkit.repository=" + tmp.resolve("repo"),
                        "--drkit.targets.db.type=postgress",
                        "--drkit.targets.db.schedule=0 25 * * *",
                        "--spring.autoconfigure.exclude="
                                + "org.springframework.boot.jdbc.autoconfigure.DataSourceAutoConfiguration,"
                                + "org.springframework.boot.data.redis.autoconfigure.DataRedisAutoConfiguration"))
                .hasRootCauseInstanceOf(ConfigException.class);
        assertThat(output.getOut() + output.getErr())
                .contains("APPLICATION FAILED TO START")
                .contains("drkit's configuration has 2 problem(s):")
                .contains("  - drkit.targets.db.type: unknown type 'postgress'")
                .contains("  - drkit.targets.db.schedule: '0 25 * * *' is not a cron schedule")
                .contains("set drkit.enabled=false");
    }

    @Configuration(proxyBeanMethods = false)
    @EnableAutoConfiguration
    static class Empty {}

    @Test
    void secretsInThePropertiesAreRefusedWithoutEchoingThem() throws IOException {
        runner.withPropertyValues(filesSetup(
                        "drkit.targets.cache.type=redis",
                        "drkit.targets.cache.uri=redis://127.0.0.1:1",
                        "drkit.targets.cache.password=hunter2-secret"))
                .run(context -> {
                    ConfigException e = rootCause(context.getStartupFailure(), ConfigException.class);
                    assertThat(e.problems())
                            .singleElement()
                            .satisfies(p -> assertThat(p)
                                    .startsWith("drkit.targets.cache.password: secrets do not belong in the setup")
                                    .doesNotContain("hunter2"));
                });
    }

    @Test
    void aPostgresTargetWithoutUrlOrApplicationDataSourceSaysWhatIsMissing() throws IOException {
        runner.withPropertyValues(filesSetup("drkit.targets.db.type=postgres-logical"))
                .run(context -> {
                    ConfigException e = rootCause(context.getStartupFailure(), ConfigException.class);
                    assertThat(e.problems())
                            .singleElement()
                            .satisfies(p ->
                                    assertThat(p).startsWith("drkit.targets.db").contains("'url' is required"));
                });
    }

    @Test
    void aTargetNamingAMissingBeanIsAProblem() throws IOException {
        runner.withPropertyValues(filesSetup(
                        "drkit.targets.db.type=postgres-logical", "drkit.targets.db.data-source=reportingDataSource"))
                .run(context -> {
                    ConfigException e = rootCause(context.getStartupFailure(), ConfigException.class);
                    assertThat(e.problems())
                            .containsExactly("drkit.targets.db.data-source: the application has no bean named "
                                    + "'reportingDataSource'");
                });
    }

    @Test
    void backsOffForTheApplicationsOwnKit() throws IOException {
        runner.withUserConfiguration(OwnKit.class)
                .withPropertyValues(filesSetup())
                .run(context -> {
                    assertThat(context).hasNotFailed().hasSingleBean(DrKit.class);
                    assertThat(context.getBean(DrKit.class)).isSameAs(context.getBean(OwnKit.class).kit);
                    assertThat(context)
                            .doesNotHaveBean(DrkitSetup.class)
                            .doesNotHaveBean(DrkitSchedulerLifecycle.class);
                    // Actuator still reports on the application's kit
                    assertThat(context).hasSingleBean(DrkitHealthIndicator.class);
                });
        assertThat(Files.exists(tmp.resolve("repo"))).isFalse();
    }

    @Test
    void disabledMeansNothingAndSchedulerOffMeansNoSchedule() throws IOException {
        runner.withPropertyValues(filesSetup("drkit.enabled=false"))
                .run(context -> assertThat(context).hasNotFailed().doesNotHaveBean(DrKit.class));
        runner.withPropertyValues(filesSetup("drkit.scheduler.enabled=false")).run(context -> {
            assertThat(context).hasSingleBean(DrKit.class).doesNotHaveBean(DrkitSchedulerLifecycle.class);
            assertThat(hasBackups(context.getBean(DrKit.class), "config")).isFalse();
        });
    }

    @Test
    void theShutdownGraceFitsWithinTheApplicationsShutdownPhase() throws IOException {
        String[] noSchedule = {"drkit.scheduler.enabled=false"};
        runner.withPropertyValues(filesSetup(noSchedule))
                .run(context -> assertThat(context.getBean(DrkitSetup.class).shutdownGrace())
                        .isEqualTo(Duration.ofSeconds(25)));
        runner.withPropertyValues(filesSetup(noSchedule))
                .withPropertyValues("spring.lifecycle.timeout-per-shutdown-phase=6s")
                .run(context -> assertThat(context.getBean(DrkitSetup.class).shutdownGrace())
                        .isEqualTo(Duration.ofSeconds(3)));
        runner.withPropertyValues(filesSetup("drkit.scheduler.shutdown-grace=20s"))
                .run(context -> assertThat(context.getBean(DrkitSetup.class).shutdownGrace())
                        .isEqualTo(Duration.ofSeconds(20)));
        runner.withPropertyValues(filesSetup("drkit.scheduler.shutdown-grace=5min"))
                .run(context -> assertThat(rootCause(context.getStartupFailure(), ConfigException.class)
                                .problems())
                        .containsExactly("drkit.scheduler.shutdown-grace: 300 s is not shorter than the application's "
                                + "spring.lifecycle.timeout-per-shutdown-phase (30 s), after which it closes its "
                                + "connections under a running backup; lower the one or raise the other"));
    }

    @Test
    void aDurationInBareMIsRefusedSinceSpringWouldReadMinutesWhereDrkitReadsMonths() throws IOException {
        runner.withPropertyValues(filesSetup(
                        "drkit.scheduler.shutdown-grace=1m",
                        "drkit.targets.cache.type=redis",
                        "drkit.targets.cache.uri=redis://127.0.0.1:1",
                        "drkit.targets.cache.timeout=5m"))
                .run(context -> assertThat(rootCause(context.getStartupFailure(), ConfigException.class)
                                .problems())
                        .containsExactlyInAnyOrder(
                                "drkit.scheduler.shutdown-grace: '1m' would be months to drkit ('m' is a month, as in "
                                        + "restic) but minutes to Spring; write 'min' for minutes or 'mo' for months",
                                "drkit.targets.cache.timeout: '5m' would be months to drkit ('m' is a month, as in "
                                        + "restic) but minutes to Spring; write 'min' for minutes or 'mo' for months"));
    }

    @Test
    void environmentVariablesSetDashedKeys() throws IOException {
        Path passwordFile = Files.writeString(tmp.resolve("pg-password"), "pw\n");
        Files.setPosixFilePermissions(passwordFile, PosixFilePermissions.fromString("rw-------"));
        Path passphrase = Files.writeString(tmp.resolve("passphrase"), "correct horse battery staple\n");
        Files.setPosixFilePermissions(passphrase, PosixFilePermissions.fromString("rw-------"));
        runner.withPropertyValues(filesSetup(
                        "drkit.scheduler.enabled=false",
                        "drkit.targets.db.type=postgres-logical",
                        "drkit.targets.db.url=jdbc:postgresql://127.0.0.1:1/shop"))
                .withInitializer(context -> context.getEnvironment()
                        .getPropertySources()
                        .addFirst(new SystemEnvironmentPropertySource(
                                StandardEnvironment.SYSTEM_ENVIRONMENT_PROPERTY_SOURCE_NAME,
                                Map.of(
                                        "DRKIT_TARGETS_DB_PASSWORD_FILE", passwordFile.toString(),
                                        "DRKIT_ENCRYPTION_PASSPHRASE_FILE", passphrase.toString(),
                                        "DRKIT_SCHEDULER_SHUTDOWN_GRACE", "12s"))))
                .run(context -> {
                    assertThat(context).hasNotFailed();
                    DrkitSetup setup = context.getBean(DrkitSetup.class);
                    assertThat(setup.shutdownGrace()).isEqualTo(Duration.ofSeconds(12));
                    assertThat(setup.setup().encryption().get("passphrase-file"))
                            .contains(passphrase.toString());
                    assertThat(context.getBean(DrkitSetup.class)
                                    .setup()
                                    .target("db")
                                    .settings()
                                    .get("password-file"))
                            .contains(passwordFile.toString());
                });
    }

    @Configuration(proxyBeanMethods = false)
    static class OwnKit {
        final DrKit kit;

        OwnKit(@Value("${java.io.tmpdir}") String tmp) {
            this.kit = DrKit.builder()
                    .repository(Path.of(tmp, "own-kit-repo").toString())
                    .build();
        }

        @Bean
        DrKit ownKit() {
            return kit;
        }
    }

    private static List<BackupManifest> awaitBackup(DrKit kit, String target) throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        while (System.nanoTime() < deadline) {
            if (hasBackups(kit, target)) {
                return kit.list(target);
            }
            Thread.sleep(100);
        }
        throw new AssertionError("no scheduled backup of " + target + " within 30 s");
    }

    private static boolean hasBackups(DrKit kit, String target) {
        try {
            return !kit.list(target).isEmpty();
        } catch (RepositoryNotFoundException e) {
            return false; // the first backup has not created it yet
        }
    }

    private static <T extends Throwable> T rootCause(Throwable failure, Class<T> type) {
        for (Throwable t = failure; t != null; t = t.getCause()) {
            if (type.isInstance(t)) {
                return type.cast(t);
            }
        }
        throw new AssertionError("no " + type.getSimpleName() + " in " + failure, failure);
    }
}
