package dev.drkit.examples.drill;

import dev.drkit.BackupManifest;
import dev.drkit.BackupResult;
import dev.drkit.DrKit;
import dev.drkit.RestoreRequest;
import dev.drkit.TargetSpec;
import dev.drkit.VerificationFailedException;
import dev.drkit.VerifyLevel;
import dev.drkit.VerifyReport;
import dev.drkit.spi.support.FileTrees;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

/**
 * The DR drill for configuration files: back up a sample service configuration, then
 * recover from its loss and from a corrupted backup, measuring achieved RPO and RTO and
 * validating every recovery byte for byte. Every step checks what it claims.
 */
public final class FilesDrill {
    /** The classic plan backs up volumes and configuration daily at 03:00; restores take at most an hour. */
    static final Duration CONFIG_RPO = Duration.ofHours(24);

    static final Duration CONFIG_RTO = Duration.ofHours(1);
    private static final String TARGET = "config";

    private final DrKit kit;
    private final Path work;
    private final Path repository;
    private final PrintWriter log;

    public FilesDrill(DrKit kit, Path work, Path repository, PrintWriter log) {
        this.kit = kit;
        this.work = work;
        this.repository = repository;
        this.log = log;
    }

    public List<DrillReport.Scenario> run() throws IOException {
        Path config = SampleConfig.create(work.resolve("live/opt/corporate-intel"));
        step("sample configuration written to " + config);
        BackupResult first = kit.backup(TargetSpec.files(TARGET, config.toString()));
        step("backup " + first.id() + " taken (" + first.manifest().artifacts().size() + " artifact, "
                + first.manifest().rawSize() + " bytes)");
        requirePassed(kit.verify(TARGET, first.id(), VerifyLevel.DECODE));
        step("backup " + first.id() + " verified (checksum + decode)");

        List<DrillReport.Scenario> scenarios = new ArrayList<>();
        scenarios.add(lostConfiguration(config, first));
        scenarios.add(corruptedBackup(config));
        return scenarios;
    }

    private DrillReport.Scenario lostConfiguration(Path config, BackupResult backup) throws IOException {
        String before = TreeDigest.of(config);
        Instant disaster = Instant.now();
        FileTrees.delete(config);
        if (Files.exists(config)) {
            throw new IllegalStateException("could not simulate the loss of " + config);
        }
        step("disaster: " + config + " deleted");

        long start = System.nanoTime();
        Path recovered = work.resolve("recovered-lost");
        kit.restore(RestoreRequest.files(TARGET, null, recovered));
        String after = TreeDigest.of(recovered.resolve(config.toString().substring(1)));
        double rto = (System.nanoTime() - start) / 1e9;
        boolean identical = before.equals(after);
        step("restored the newest backup into " + recovered + ": " + (identical ? "identical" : "DIFFERENT"));
        double rpo = Duration.between(backup.manifest().finishedAt(), disaster).toMillis() / 1000.0;
        List<String> checks = List.of(
                "restored tree digest " + after.substring(0, 16) + " " + (identical ? "equals" : "differs from")
                        + " the digest taken just before the loss",
                "names, permissions (0600 secrets), symlinks and contents compared");
        return scenario(
                "lost configuration",
                "Loss of the configuration directory; restored from the newest backup " + "into a new directory.",
                rpo,
                rto,
                checks,
                identical);
    }

    private DrillReport.Scenario corruptedBackup(Path config) throws IOException {
        // the live configuration is back (from the previous scenario) and a newer backup is taken
        Path live = work.resolve("recovered-lost").resolve(config.toString().substring(1));
        String before = TreeDigest.of(live);
        BackupResult good = kit.backup(TargetSpec.files(TARGET, live.toString()));
        BackupResult newest = kit.backup(TargetSpec.files(TARGET, live.toString()));
        step("two more backups taken: " + good.id() + ", " + newest.id());
        Sabotage.flipByte(repository, newest.manifest());
        step("disaster: one byte flipped in the stored artifact of " + newest.id());
        Instant disaster = Instant.now();

        long start = System.nanoTime();
        VerifyReport broken = kit.verify(TARGET, newest.id(), VerifyLevel.CHECKSUM);
        if (broken.passed()) {
            throw new IllegalStateException("verify did not detect the corrupted backup " + newest.id());
        }
        step("verify detected the corruption: " + broken.problems().get(0));
        BackupManifest fallback = Sabotage.previousGood(kit, TARGET, newest.id());
        Path recovered = work.resolve("recovered-corrupt");
        kit.restore(RestoreRequest.files(TARGET, fallback.id(), recovered));
        String after = TreeDigest.of(recovered.resolve(live.toString().substring(1)));
        double rto = (System.nanoTime() - start) / 1e9;
        boolean identical = before.equals(after);
        step("restored the previous good backup " + fallback.id() + ": " + (identical ? "identical" : "DIFFERENT"));
        double rpo = Duration.between(fallback.finishedAt(), disaster).toMillis() / 1000.0;
        List<String> checks = List.of(
                "verify --level checksum failed on the corrupted backup and named its artifact",
                "the newest backup that passes verification (" + fallback.id() + ") was restored",
                "restored tree digest " + (identical ? "equals" : "differs from") + " the live configuration's");
        return scenario(
                "corrupted backup",
                "The newest backup is corrupted at rest; verification detects it and "
                        + "the previous good backup is restored.",
                rpo,
                rto,
                checks,
                identical);
    }

    private static DrillReport.Scenario scenario(
            String name, String what, double rpo, double rto, List<String> checks, boolean validated) {
        boolean met = rpo <= CONFIG_RPO.toSeconds() && rto <= CONFIG_RTO.toSeconds();
        return new DrillReport.Scenario(
                name,
                "configuration",
                what,
                rpo,
                rto,
                CONFIG_RPO.toSeconds(),
                CONFIG_RTO.toSeconds(),
                checks,
                validated && met);
    }

    private static void requirePassed(VerifyReport r) {
        if (!r.passed()) {
            throw new VerificationFailedException(
                    "fresh backup failed verification: " + String.join("; ", r.problems()));
        }
    }

    private void step(String what) {
        log.println("drill: " + what);
        log.flush();
    }

    /** A small service configuration like the one a DR plan protects. */
    static final class SampleConfig {
        private SampleConfig() {}

        static Path create(Path root) throws IOException {
            Files.createDirectories(root.resolve("nginx/sites-enabled"));
            Files.createDirectories(root.resolve("tls"));
            Files.createDirectories(root.resolve("data/uploads"));
            Files.writeString(
                    root.resolve("docker-compose.yml"),
                    "services:\n  api:\n    image: corporate-intel/api:1.8\n"
                            + "    env_file: .env.production\n  db:\n    image: postgres:15\n");
            Path env = Files.writeString(
                    root.resolve(".env.production"),
                    "DATABASE_URL=postgres://intel_user@db:5432/corporate_intel\nAPI_TOKEN=drill-not-a-real-token\n");
            Files.setPosixFilePermissions(env, PosixFilePermissions.fromString("rw-------"));
            Files.writeString(
                    root.resolve("nginx/nginx.conf"),
                    "worker_processes auto;\nevents {}\nhttp {\n" + "  include sites-enabled/*;\n}\n");
            Files.writeString(
                    root.resolve("nginx/api.conf"),
                    "server {\n  listen 443 ssl;\n  location / { " + "proxy_pass http://api:8000; }\n}\n");
            Files.createSymbolicLink(root.resolve("nginx/sites-enabled/api.conf"), Path.of("../api.conf"));
            Path key = Files.writeString(
                    root.resolve("tls/server.key"),
                    "-----BEGIN PRIVATE KEY-----\n" + "drill sample, not a key\n-----END PRIVATE KEY-----\n");
            Files.setPosixFilePermissions(key, PosixFilePermissions.fromString("rw-------"));
            Files.writeString(
                    root.resolve("tls/server.crt"),
                    "-----BEGIN CERTIFICATE-----\ndrill sample\n" + "-----END CERTIFICATE-----\n");
            return root;
        }
    }
}
