package dev.drkit.spi.support;

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
 * Names of files written beside the one they replace ({@code dump.rdb.drkit-...}, then renamed
 * over it), and the clean-up of those a killed writer left: each is a whole copy of the data
 * (a data set, a WAL segment) that nothing else would ever remove. The name starts with the
 * file's own ({@code FILE*} still finds it, as the WAL spool's restore_command does) and carries
 * the writer's pid and start ({@link PrivateScratch#processStart()}), so one left by a process of
 * this boot that is gone is removed by the next writer of the same file; one of another boot, or
 * in an older drkit's form (a bare suffix, or hidden: {@code .FILE.drkit-...}), once it is a day
 * old. A running writer's file is kept, and so is anything that is not a regular file.
 */
public final class SideFiles {
    private static final Logger LOG = LoggerFactory.getLogger(SideFiles.class);
    private static final String MARK = ".drkit-";
    private static final Pattern OWNER = Pattern.compile("(\\d+)-(b[0-9a-f]{8}t\\d+|\\d+)-[0-9a-f]{8}");
    private static final Duration ABANDONED = Duration.ofDays(1);

    private SideFiles() {}

    /** A new name beside {@code file} for its replacement while it is written. */
    public static Path beside(Path file) {
        return file.resolveSibling(
                file.getFileName() + MARK + ProcessHandle.current().pid() + "-" + PrivateScratch.processStart() + "-"
                        + UUID.randomUUID().toString().substring(0, 8));
    }

    /**
     * Removes what killed writers left beside {@code file} (names {@link #beside} gave, and older
     * drkit's); {@code writer} says whose, for the log ("a restore", "a WAL fetch"). Failing to
     * look is logged, never thrown: the write that follows does not depend on it.
     */
    public static void removeAbandoned(Path file, String writer) {
        Path dir = file.getParent();
        if (dir == null || !Files.isDirectory(dir)) { // pg_wal may be a link (initdb -X)
            return;
        }
        for (String prefix : new String[] {file.getFileName() + MARK, "." + file.getFileName() + MARK}) {
            try (DirectoryStream<Path> entries = Files.newDirectoryStream(dir, globQuoted(prefix) + "*")) {
                for (Path p : entries) {
                    String rest = p.getFileName().toString().substring(prefix.length());
                    if (abandoned(p, rest) && Files.deleteIfExists(p)) {
                        LOG.info("removed {}, left by {} that did not finish", p, writer);
                    }
                }
            } catch (IOException e) {
                LOG.warn("could not look for what killed writers left in {}: {}", dir, e.getMessage());
            }
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

    /** {@code s} with the characters a glob gives a meaning escaped. */
    private static String globQuoted(String s) {
        StringBuilder b = new StringBuilder(s.length());
        for (char c : s.toCharArray()) {
            if ("*?[]{}\\".indexOf(c) >= 0) {
                b.append('\\');
            }
            b.append(c);
        }
        return b.toString();
    }
}
