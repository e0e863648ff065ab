package dev.drkit.postgres;

import static org.assertj.core.api.Assertions.assertThat;

import dev.drkit.DrKit;
import dev.drkit.Settings;
import dev.drkit.storage.FileStorageBackend;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The WAL streamer's spool holds the segment being received, plaintext WAL of the whole
 * cluster, and stays after a crash (streaming resumes from it). It must be private, as
 * WalSpool's and WalPrefetch's spools are (0700), not created with the umask's mode.
 */
class WalStreamerSpoolPermissionsTest {
    @TempDir
    Path dir;

    @Test
    void theSpoolOfReceivedWalIsPrivate() throws Exception {
        Path spool = dir.resolve("var/lib/drkit/stream-spool");
        try (DrKit kit = DrKit.builder()
                        .storage(new FileStorageBackend(dir.resolve("repo")))
                        .build();
                PostgresWalStreamer s = PostgresWalStreamer.start(
                        Settings.builder()
                                .set("url", "jdbc:postgresql://127.0.0.1:1/postgres")
                                .set("user", "replicator")
                                .build(),
                        kit.archive(WalArchive.AREA),
                        spool)) {
            assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(spool, LinkOption.NOFOLLOW_LINKS)))
                    .as("mode of the spool of received WAL")
                    .isEqualTo("rwx------");
        }
    }
}
