package dev.drkit;

import static org.assertj.core.api.Assertions.assertThat;

import dev.drkit.internal.repo.ManifestCodec;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.Comparator;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The newest backup is an incremental whose parent is gone from the storage (an S3 lifecycle
 * rule that expires objects older than N days, a hand-made clean-up): no restore of it can
 * succeed, yet status judged only its own manifest and artifacts and called the target healthy.
 */
class StatusMissingParentTest {
    @TempDir
    Path dir;

    @Test
    void aNewestBackupWhoseParentIsGoneIsNotHealthy() throws Exception {
        Path data = Files.createDirectories(dir.resolve("data"));
        Files.writeString(data.resolve("app.conf"), "x=1\n");
        Path repo = dir.resolve("repo");
        MutableClock clock = new MutableClock(Instant.parse("2026-11-27T10:00:00Z"));
        try (DrKit kit =
                DrKit.builder().repository(repo.toString()).clock(clock).build()) {
            String parent =
                    kit.backup(TargetSpec.files("config", data.toString())).id();
            clock.advance(Duration.ofHours(1));
            String child =
                    kit.backup(TargetSpec.files("config", data.toString())).id();

            // the child as an incremental on the parent, as a postgres-physical target writes one
            Path manifest = repo.resolve("backups/config/" + child + "/manifest.json");
            String json = Files.readString(manifest);
            String chained = json.replaceFirst("\\{", "{\"parent\" : \"" + parent + "\",");
            assertThat(chained).isNotEqualTo(json);
            byte[] bytes = chained.getBytes(StandardCharsets.UTF_8);
            Files.write(manifest, bytes);
            Files.write(
                    manifest.resolveSibling("manifest.json.sha256"),
                    ManifestCodec.checksumFile(bytes, "manifest.json"));
            assertThat(kit.list("config"))
                    .filteredOn(m -> m.id().equals(child))
                    .singleElement()
                    .extracting(BackupManifest::parent)
                    .isEqualTo(parent);

            // the parent's objects expire from the storage
            try (Stream<Path> s = Files.walk(repo.resolve("backups/config/" + parent))) {
                s.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            }

            clock.advance(Duration.ofMinutes(30));
            DrStatus status = kit.status(Map.of("config", new Objectives(Duration.ofHours(24), null)));
            DrStatus.Target t = status.targets().get(0);
            assertThat(t.newestBackupId()).isEqualTo(child);
            assertThat(t.healthy())
                    .as("newest backup %s needs %s, which is gone; problems: %s", child, parent, t.problems())
                    .isFalse();
            assertThat(status.healthy()).isFalse();
        }
    }
}
