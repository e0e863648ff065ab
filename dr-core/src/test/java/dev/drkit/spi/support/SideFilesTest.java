package dev.drkit.spi.support;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Duration;
import java.time.Instant;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A writer killed while it wrote a replacement beside a file (kill -9, the OOM killer) left a
 * whole copy of the data there; the next writer of the same file removes it, and keeps what a
 * running writer, or someone else, put there.
 */
class SideFilesTest {
    /** Above the largest pid_max Linux allows (2^22): no process has it. */
    static final long NO_SUCH_PID = (1L << 22) + 7;

    @TempDir
    Path dir;

    private static String deadWriters(Path file) {
        return file.getFileName() + ".drkit-" + NO_SUCH_PID + "-" + PrivateScratch.processStart() + "-0badc0de";
    }

    private static Path aged(Path p, Duration age) throws IOException {
        Files.setLastModifiedTime(p, FileTime.from(Instant.now().minus(age)));
        return p;
    }

    private Stream<String> names() throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            return s.map(p -> p.getFileName().toString()).toList().stream();
        }
    }

    @Test
    void aNameBesideStartsWithTheFilesOwnAndNamesThisProcess() {
        Path file = dir.resolve("dump.rdb");
        Path side = SideFiles.beside(file);
        assertThat(side.getParent()).isEqualTo(dir);
        assertThat(side.getFileName().toString())
                .startsWith("dump.rdb.drkit-" + ProcessHandle.current().pid() + "-" + PrivateScratch.processStart())
                .isNotEqualTo(SideFiles.beside(file).getFileName().toString());
    }

    @Test
    void whatAGoneWriterOfThisBootLeftIsRemovedAndARunningWritersKept() throws IOException {
        Path file = dir.resolve("dump.rdb");
        Path dead = Files.write(dir.resolve(deadWriters(file)), new byte[] {1});
        Path running = Files.write(SideFiles.beside(file), new byte[] {2});
        Path hiddenDead = Files.write(dir.resolve("." + deadWriters(file)), new byte[] {3}); // an older drkit's form
        Path otherFiles = Files.write(dir.resolve(deadWriters(dir.resolve("dump.rdb2"))), new byte[] {4});

        SideFiles.removeAbandoned(file, "a restore");

        assertThat(dead).doesNotExist();
        assertThat(hiddenDead).doesNotExist();
        assertThat(running).exists();
        assertThat(otherFiles)
                .as("another file's replacement is not this file's to remove")
                .exists();
    }

    @Test
    void anOlderDrkitsOrAnotherBootsLeftoverGoesOnceADayOld() throws IOException {
        Path file = dir.resolve("RECOVERYXLOG");
        Path oldLegacy = aged(Files.write(dir.resolve("RECOVERYXLOG.drkit-1f2e3d"), new byte[1]), Duration.ofDays(2));
        Path newLegacy = Files.write(dir.resolve("RECOVERYXLOG.drkit-4c5d6e"), new byte[1]);
        Path otherBoot = Files.write(dir.resolve("RECOVERYXLOG.drkit-1-b00000000t1-0badc0de"), new byte[1]);
        Path otherBootOld = aged(
                Files.write(dir.resolve("RECOVERYXLOG.drkit-2-b00000000t1-0badc0de"), new byte[1]), Duration.ofDays(2));

        SideFiles.removeAbandoned(file, "a WAL fetch");

        assertThat(oldLegacy).doesNotExist();
        assertThat(otherBootOld).doesNotExist();
        assertThat(newLegacy).as("may be an older drkit's write in progress").exists();
        assertThat(otherBoot)
                .as("its writer may run on another host sharing the directory")
                .exists();
    }

    @Test
    void onlyRegularFilesAreEverRemoved() throws IOException {
        Path file = dir.resolve("dump.rdb");
        Path kept = Files.write(dir.resolve("kept"), new byte[] {9});
        Path link = Files.createSymbolicLink(dir.resolve(deadWriters(file)), kept);
        Path folder = Files.createDirectory(dir.resolve("." + deadWriters(file)));

        SideFiles.removeAbandoned(file, "a restore");

        assertThat(link).isSymbolicLink();
        assertThat(folder).isDirectory();
        assertThat(kept).hasBinaryContent(new byte[] {9});
    }

    @Test
    void aNameWithGlobCharactersMatchesOnlyItself() throws IOException {
        Path file = dir.resolve("d[u]mp*.rdb");
        Path dead = Files.write(dir.resolve(deadWriters(file)), new byte[1]);
        // what the name would match as a pattern: "dump.rdb" with the brackets read as a class
        Path lookalike = Files.write(dir.resolve(deadWriters(dir.resolve("dumpX.rdb"))), new byte[1]);

        SideFiles.removeAbandoned(file, "a restore");

        assertThat(dead).doesNotExist();
        assertThat(lookalike).exists();
        assertThat(names()).containsExactlyInAnyOrder(lookalike.getFileName().toString());
    }

    @Test
    void whatAKilledFetchLeftIsRemovedWherePgWalIsALink() throws IOException {
        // initdb -X puts pg_wal on a disk of its own, behind a link
        Path walDisk = Files.createDirectories(dir.resolve("waldisk/pg_wal"));
        Path pgWal = Files.createSymbolicLink(
                Files.createDirectories(dir.resolve("data")).resolve("pg_wal"), walDisk);
        Path target = pgWal.resolve("RECOVERYXLOG");
        Path killed = Files.write(pgWal.resolve(deadWriters(target)), new byte[4096]);

        SideFiles.removeAbandoned(target, "a WAL fetch");

        assertThat(killed).doesNotExist();
    }

    @Test
    void aMissingDirectoryIsNothingToCleanUp() {
        SideFiles.removeAbandoned(dir.resolve("absent/dump.rdb"), "a restore");
        assertThat(dir.resolve("absent")).doesNotExist();
    }
}
