package dev.drkit.spi.support;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class FileTreesDeleteTest {
    @TempDir
    Path dir;

    /**
     * A tree another user can write into (a restore's staging directory that user planted in the
     * destination for the next restore to remove, a directory a forced restore replaces): while
     * it is deleted, that user swaps one of its directories for a link to a directory holding
     * files of the same names. The delete must remove the link, never what it leads to.
     */
    @Test
    void aDirectorySwappedForALinkWhileTheTreeIsDeletedLeavesWhatItLeadsTo() throws Exception {
        Path outside = Files.createDirectories(dir.resolve("outside"));
        for (int i = 0; i < 300; i++) {
            Files.writeString(outside.resolve("f" + i), "keep");
        }
        for (int round = 0; round < 30; round++) {
            Path root = Files.createDirectories(dir.resolve("tree" + round));
            Path sub = Files.createDirectories(root.resolve("sub"));
            for (int i = 0; i < 300; i++) {
                Files.writeString(sub.resolve("f" + i), "mine");
            }
            try (LinkSwapper swapper = new LinkSwapper(sub, outside)) {
                FileTrees.delete(root);
            } catch (RuntimeException refused) {
                // failing is fine; deleting outside is not
            }
            try (Stream<Path> s = Files.list(outside)) {
                assertThat(s.count())
                        .as("files left outside after round " + round)
                        .isEqualTo(300);
            }
        }
    }
}
