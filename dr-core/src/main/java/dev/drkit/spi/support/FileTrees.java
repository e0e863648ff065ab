package dev.drkit.spi.support;

import dev.drkit.DrException;
import dev.drkit.DrException.ErrorCode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.List;
import java.util.stream.Stream;

/** Directory tree helpers. */
public final class FileTrees {
    private FileTrees() {}

    /**
     * Deletes a file or directory tree without following symbolic links, including
     * directories whose permissions forbid writing. A missing path is not an error.
     */
    public static void delete(Path root) {
        if (!Files.exists(root, LinkOption.NOFOLLOW_LINKS)) {
            return;
        }
        try (Stream<Path> walk = Files.walk(root)) {
            List<Path> all = walk.sorted(Comparator.reverseOrder()).toList();
            for (Path p : all) {
                if (Files.isDirectory(p, LinkOption.NOFOLLOW_LINKS)) {
                    Files.setPosixFilePermissions(
                            p, TarExtractor.permissions(0700)); // read-only dirs would block the delete
                }
            }
            for (Path p : all) {
                Files.deleteIfExists(p);
            }
        } catch (IOException e) {
            throw new DrException(ErrorCode.TARGET, "could not remove " + root + ": " + e.getMessage(), e);
        }
    }
}
