package dev.drkit.postgres;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.drkit.DrException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

class DurableTreeTest {
    @TempDir
    Path dir;

    @Test
    @Timeout(value = 30, unit = TimeUnit.SECONDS)
    void syncsEveryRegularFileAndLeavesLinksAndPipesAlone() throws Exception {
        Path root = Files.createDirectories(dir.resolve("data/base/1"));
        for (int i = 0; i < 25; i++) {
            Files.write(root.resolve("file" + i), new byte[8192 + i]);
        }
        Path readOnly = Files.writeString(dir.resolve("data/PG_VERSION"), "15\n");
        Files.setPosixFilePermissions(readOnly, PosixFilePermissions.fromString("r--------"));
        Path outside = Files.createDirectories(dir.resolve("outside"));
        Files.writeString(outside.resolve("not-ours"), "x");
        Files.createSymbolicLink(dir.resolve("data/base/ts"), outside);
        Files.createSymbolicLink(dir.resolve("data/dangling"), dir.resolve("nowhere"));
        // a named pipe opened for reading would wait for a writer forever
        Process mkfifo = new ProcessBuilder("mkfifo", dir.resolve("data/pipe").toString()).start();
        assertThat(mkfifo.waitFor()).isZero();

        assertThat(DurableTree.sync(dir.resolve("data"))).isEqualTo(26);
        assertThat(DurableTree.sync(dir.resolve("missing"))).isZero();
    }

    @Test
    @Timeout(value = 30, unit = TimeUnit.SECONDS)
    void theWriteBehindSyncsWhatItIsToldOfAndLeavesWhatItCannotToTheFinalSync() throws Exception {
        Path data = Files.createDirectories(dir.resolve("data"));
        DurableTree.WriteBehind writeBehind = new DurableTree.WriteBehind();
        for (int i = 0; i < 10; i++) {
            writeBehind.written(Files.write(data.resolve("file" + i), new byte[4096]));
        }
        writeBehind.written(data.resolve("vanished")); // not an error here: the final sync reports
        Process mkfifo = new ProcessBuilder("mkfifo", data.resolve("pipe").toString()).start();
        assertThat(mkfifo.waitFor()).isZero();
        writeBehind.written(data.resolve("pipe")); // never opened: it would block a thread forever
        writeBehind.close(); // waits for all of them
        assertThat(writeBehind.synced()).isEqualTo(10);
        assertThat(writeBehind.missed()).isEqualTo(2);

        DurableTree.WriteBehind abandoned = new DurableTree.WriteBehind();
        abandoned.abandon();
        abandoned.written(data.resolve("file0")); // after a failed restore: quietly not synced
        assertThat(abandoned.missed()).isEqualTo(1);
    }

    @Test
    @Timeout(value = 30, unit = TimeUnit.SECONDS)
    void filesWrittenInPartAreSyncedAsTheyGrowButPipesAndVanishedFilesAreLeftAlone() throws Exception {
        Path data = Files.createDirectories(dir.resolve("data"));
        DurableTree.WriteBehind writeBehind = new DurableTree.WriteBehind();
        Path growing = Files.write(data.resolve("growing"), new byte[8192]);
        writeBehind.writtenInPart(growing);
        writeBehind.writtenInPart(data.resolve("vanished")); // not an error: the final sync reports
        Process mkfifo = new ProcessBuilder("mkfifo", data.resolve("pipe").toString()).start();
        assertThat(mkfifo.waitFor()).isZero();
        writeBehind.writtenInPart(data.resolve("pipe")); // never opened: it would block a thread forever
        writeBehind.close(); // waits for them
        assertThat(writeBehind.partsSynced()).isEqualTo(1);

        DurableTree.WriteBehind abandoned = new DurableTree.WriteBehind();
        abandoned.abandon();
        abandoned.writtenInPart(growing); // after a failed restore: quietly not synced
        abandoned.close();
        assertThat(abandoned.partsSynced()).isZero();
    }

    @Test
    @Timeout(value = 30, unit = TimeUnit.SECONDS)
    void aFileWrittenInPartHasOneSyncQueuedOrRunningAtATime() throws Exception {
        Path file = Files.write(dir.resolve("growing"), new byte[8192]);
        CountDownLatch running = new CountDownLatch(1);
        CountDownLatch release = new CountDownLatch(1);
        AtomicInteger syncs = new AtomicInteger();
        DurableTree.WriteBehind writeBehind = new DurableTree.WriteBehind(p -> {
            if (syncs.incrementAndGet() == 1) {
                running.countDown();
                try {
                    release.await();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
        });
        writeBehind.writtenInPart(file);
        assertThat(running.await(20, TimeUnit.SECONDS)).isTrue();
        writeBehind.writtenInPart(file); // while the first runs: not queued
        writeBehind.writtenInPart(file);
        release.countDown();
        while (writeBehind.syncingInPart(file)) {
            Thread.sleep(5);
        }
        writeBehind.writtenInPart(file); // once it ended, the next part is synced again
        writeBehind.close();
        assertThat(syncs).hasValue(2);
        assertThat(writeBehind.partsSynced()).isEqualTo(2);
    }

    @Test
    void theDirectoriesAboveARestoredTreeAreSyncedThroughASymbolicLink() throws Exception {
        // /pgdata -> /mnt/vol: the destination's parent is a link, which is followed
        Path volume = Files.createDirectories(dir.resolve("mnt/vol"));
        Path pgdata = Files.createSymbolicLink(dir.resolve("pgdata"), volume);
        Path data = Files.createDirectories(pgdata.resolve("data"));
        DurableTree.forceParents(data); // no exception: every level up to the root opened and synced
    }

    @Test
    void aRestoredFileItsModeForbidsReadingIsSyncedThroughAWrite() throws Exception {
        Path writeOnly = Files.writeString(dir.resolve("write-only"), "x");
        Files.setPosixFilePermissions(writeOnly, PosixFilePermissions.fromString("-w-------"));
        DurableTree.force(writeOnly);
        assertThat(Files.readString(writeOnly)).isEqualTo("x"); // not truncated
    }

    @Test
    void aPathThatCannotBeSyncedIsNamedInTheError() {
        Path gone = dir.resolve("gone");
        assertThatThrownBy(() -> DurableTree.force(gone))
                .isInstanceOf(DrException.class)
                .hasMessage("could not sync restored " + gone + " to disk (it no longer exists); check the disk "
                        + "and the permissions there, then restore again");
    }
}
