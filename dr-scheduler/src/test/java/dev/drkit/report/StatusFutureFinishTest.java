package dev.drkit.report;

import static org.assertj.core.api.Assertions.assertThat;

import dev.drkit.BackupResult;
import dev.drkit.DrKit;
import dev.drkit.DrStatus;
import dev.drkit.Objectives;
import dev.drkit.Settings;
import dev.drkit.TargetSpec;
import dev.drkit.internal.repo.ManifestCodec;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Status judged the RPO by the newest backup's finishedAt, which nothing bounds; a manifest
 * whose end lies in the future (a forged one, or a writer whose clock stepped during the backup)
 * made every later status say the RPO is met, for years, while no backup is taken. Such a
 * manifest is now damaged, as one whose start lies in the future already was.
 */
class StatusFutureFinishTest {
    @TempDir
    Path dir;

    @Test
    void aBackupThatFinishesInTheFutureDoesNotKeepTheRpoMetForever() throws Exception {
        Instant then = Instant.parse("2026-11-01T02:00:00Z");
        Instant now = Instant.parse("2026-11-30T12:00:00Z");
        Path tree = Files.createDirectories(dir.resolve("app"));
        Files.writeString(tree.resolve("app.yaml"), "x: 1\n");
        Path repo = dir.resolve("repo");
        BackupResult r;
        try (DrKit kit = DrKit.builder()
                .repository(repo.toString())
                .clock(Clock.fixed(then, ZoneOffset.UTC))
                .build()) {
            r = kit.backup(new TargetSpec("config", "files", Settings.of(Map.of("path", tree.toString()))));
        }
        Path manifest;
        try (Stream<Path> s = Files.walk(repo)) {
            manifest = s.filter(p -> p.endsWith("manifest.json") && p.toString().contains(r.id()))
                    .findFirst()
                    .orElseThrow();
        }
        String json = Files.readString(manifest);
        String forged =
                json.replaceFirst("\"finishedAt\"\\s*:\\s*\"[^\"]+\"", "\"finishedAt\" : \"2099-01-01T00:00:00Z\"");
        assertThat(forged).isNotEqualTo(json);
        byte[] bytes = forged.getBytes();
        Files.write(manifest, bytes);
        Files.write(
                manifest.resolveSibling("manifest.json.sha256"), ManifestCodec.checksumFile(bytes, "manifest.json"));

        try (DrKit kit = DrKit.builder()
                .repository(repo.toString())
                .clock(Clock.fixed(now, ZoneOffset.UTC))
                .build()) {
            DrStatus st = kit.status(Map.of("config", new Objectives(Duration.ofHours(24), null)));
            DrStatus.Target t = st.targets().get(0);
            assertThat(t.newestBackupId())
                    .as("a manifest dated in the future is damaged, no backup")
                    .isNull();
            assertThat(t.rpoMet())
                    .as(
                            "RPO 24h met by a backup started 29 days ago (age %s s, problems %s)",
                            t.newestBackupAgeSeconds(), t.problems())
                    .isFalse();
        }
    }
}
