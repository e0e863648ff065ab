package dev.drkit.redis;

import dev.drkit.spi.support.PrivateScratch;
import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.time.Duration;
import java.time.Instant;
import java.util.UUID;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Names of the files a restore writes beside the one they replace ({@code .dump.rdb.drkit-...}),
 * and their clean-up: a restore killed while it wrote one left a whole copy of the data set there,
 * hidden, that no later restore removed. The name carries the writer's pid and start, so that one
 * left by a process of this boot that is gone is removed by the next restore into the directory;
 * one of another boot, or of an older drkit (a bare 8-digit suffix), once a day old.
 */
final class RestoreTemps {
    private static final Logger LOG = LoggerFactory.getLogger(RestoreTemps.class);
    private static final String MARK = ".drkit-";
    private static final Pattern OWNER = Pattern.compile("(\\d+)-(b[0-9a-f]{8}t\\d+|\\d+)-[0-9a-f]{8}");
    private static final Duration ABANDONED = Duration.ofDays(1);

    private RestoreTemps() {}

    /** A new name beside {@code file} for its replacement while it is written. */
    static Path beside(Path file) {
        return file.resolveSibling(
                "." + file.getFileName() + MARK + ProcessHandle.current().pid() + "-" + PrivateScratch.processStart()
                        + "-" + UUID.randomUUID().toString().substring(0, 8));
    }

    /** Removes what killed restores left beside {@code file}; a running restore's stays. */
    static void removeAbandoned(Path file) {
        Path dir = file.getParent();
        String prefix = "." + file.getFileName() + MARK;
        if (!Files.isDirectory(dir, LinkOption.NOFOLLOW_LINKS)) {
            return;
        }
        try (DirectoryStream<Path> entries = Files.newDirectoryStream(dir, prefix + "*")) {
            for (Path p : entries) {
                if (abandoned(p, p.getFileName().toString().substring(prefix.length())) && Files.deleteIfExists(p)) {
                    LOG.info("removed {}, left by a restore that did not finish", p);
                }
            }
        } catch (IOException e) {
            LOG.warn("could not look for what killed restores left in {}: {}", dir, e.getMessage());
        }
    }

    private static boolean abandoned(Path p, String rest) throws IOException {
        BasicFileAttributes a;
        try {
            a = Files.readAttributes(p, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
        } catch (NoSuchFileException gone) {
            return false;
        }
        if (!a.isRegularFile()) {
            return false; // never drkit's
        }
        Matcher owner = OWNER.matcher(rest);
        if (owner.matches() && PrivateScratch.ofThisBoot(owner.group(2))) {
            return !PrivateScratch.alive(Long.parseLong(owner.group(1)), owner.group(2));
        }
        return a.lastModifiedTime().toInstant().isBefore(Instant.now().minus(ABANDONED));
    }
}
