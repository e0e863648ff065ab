package dev.drkit;

import static org.assertj.core.api.Assertions.assertThat;

import dev.drkit.spi.BackupContext;
import dev.drkit.spi.BackupTarget;
import dev.drkit.spi.RestoreContext;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A backup whose manifest says a synthetic full backup is due is followed at once by one, built
 * by the target from the repository ({@code BackupContext.synthesize}); a failing synthetic full
 * leaves the backup just taken as it is.
 */
class SyntheticFullFollowUpTest {
    @TempDir
    Path dir;

    /** Incrementals that ask for a synthetic full once two follow a full; the synthetic one copies the newest. */
    static final class ChainTarget implements BackupTarget {
        boolean failSynthetic;
        final List<String> synthesizedFrom = new ArrayList<>();

        @Override
        public String type() {
            return "chain";
        }

        @Override
        public Set<Capability> capabilities() {
            return EnumSet.of(Capability.FULL, Capability.INCREMENTAL);
        }

        @Override
        public void backup(BackupContext context) throws IOException {
            BackupManifest previous = context.previous().orElse(null);
            if (context.synthesize()) {
                if (failSynthetic) {
                    throw new IOException("scratch space exhausted");
                }
                synthesizedFrom.add(previous.id());
                assertThat(context.earlier(previous.parent()))
                        .as("the chain's backups are reachable")
                        .isPresent();
                try (InputStream in = context.openArtifact(previous, "data");
                        OutputStream out = context.newArtifact("data")) {
                    in.transferTo(out);
                }
                context.metadata("chainLength", 0);
                return;
            }
            int length = 0;
            if (previous != null) {
                length = ((Number) previous.metadata().get("chainLength")).intValue() + 1;
                context.kind("incremental");
                context.parent(previous.id());
            }
            context.metadata("chainLength", length);
            if (length >= 2) {
                context.metadata(BackupManifest.SYNTHETIC_FULL_DUE, true);
            }
            try (OutputStream out = context.newArtifact("data")) {
                out.write(("state " + length).getBytes(StandardCharsets.UTF_8));
            }
        }

        @Override
        public void restore(RestoreContext context) {}
    }

    @Test
    void aDueSyntheticFullFollowsTheBackupThatAskedForIt() {
        ChainTarget target = new ChainTarget();
        try (DrKit kit = DrKit.builder()
                .repository(dir.resolve("repo").toString())
                .target("db", target)
                .build()) {
            kit.backup("db");
            kit.backup("db");
            assertThat(kit.list("db")).hasSize(2);
            BackupResult asking = kit.backup("db");
            assertThat(asking.manifest().kind()).isEqualTo("incremental");
            List<BackupManifest> all = kit.list("db");
            assertThat(all).hasSize(4);
            BackupManifest synthetic = all.get(3);
            assertThat(synthetic.kind()).isEqualTo("full");
            assertThat(target.synthesizedFrom).containsExactly(asking.id());
            // the next backup builds on the synthetic full: the chain starts again
            BackupResult next = kit.backup("db");
            assertThat(next.manifest().parent()).isEqualTo(synthetic.id());
            assertThat(next.manifest().metadata()).containsEntry("chainLength", 1);
        }
    }

    /**
     * The failure is also a warning event of the backup that asked, as a target's warnings are:
     * before, it went only to a log the CLI silences (it prints warnings from their events), so a
     * chain with a damaged backup failed every synthetic full without a word, exit code 0.
     */
    @Test
    void aFailingSyntheticFullLeavesTheBackupThatAskedAndTheNextOneAsksAgain() {
        ChainTarget target = new ChainTarget();
        target.failSynthetic = true;
        List<DrEvent> warnings = new CopyOnWriteArrayList<>();
        try (DrKit kit = DrKit.builder()
                .repository(dir.resolve("repo").toString())
                .target("db", target)
                .listener(new DrListener() {
                    @Override
                    public void onEvent(DrEvent e) {
                        if (e.type() == DrEvent.Type.BACKUP_WARNING) {
                            warnings.add(e);
                        }
                    }
                })
                .build()) {
            kit.backup("db");
            kit.backup("db");
            BackupResult asking = kit.backup("db");
            assertThat(kit.list("db")).extracting(BackupManifest::id).endsWith(asking.id());
            assertThat(kit.list("db")).hasSize(3);
            assertThat(warnings).singleElement().satisfies(w -> {
                assertThat(w.target()).isEqualTo("db");
                assertThat(w.backupId()).isEqualTo(asking.id());
                assertThat(w.message())
                        .contains("synthetic full backup after " + asking.id() + " failed")
                        .contains("scratch space exhausted");
            });
            target.failSynthetic = false;
            BackupResult again = kit.backup("db");
            assertThat(again.manifest().metadata()).containsEntry(BackupManifest.SYNTHETIC_FULL_DUE, true);
            assertThat(target.synthesizedFrom).containsExactly(again.id());
            assertThat(kit.list("db")).hasSize(5);
        }
    }
}
