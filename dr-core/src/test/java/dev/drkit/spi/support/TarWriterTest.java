package dev.drkit.spi.support;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveInputStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Files that change between the scan and the copy: the items are scanned, then the files changed. */
class TarWriterTest {
    @TempDir
    Path dir;

    private static Map<String, Long> entries(byte[] tar) throws IOException {
        Map<String, Long> sizes = new LinkedHashMap<>();
        try (TarArchiveInputStream in = new TarArchiveInputStream(new ByteArrayInputStream(tar))) {
            for (TarArchiveEntry e = in.getNextEntry(); e != null; e = in.getNextEntry()) {
                sizes.put(e.getName(), (long) in.readAllBytes().length);
            }
        }
        return sizes;
    }

    @Test
    void aFileReplacedByAFifoAfterTheScanIsLeftOutWithoutWaitingForAWriter() throws Exception {
        Path file = Files.writeString(dir.resolve("socket.conf"), "x".repeat(100));
        Path other = Files.writeString(dir.resolve("other.conf"), "y");
        List<TarWriter.Item> items = List.of(TarWriter.Item.of(file), TarWriter.Item.of(other));
        Files.delete(file);
        assertThat(new ProcessBuilder("mkfifo", file.toString()).start().waitFor())
                .isZero();
        ByteArrayOutputStream out = new ByteArrayOutputStream();

        TarWriter.Stats stats = assertTimeoutPreemptively(
                Duration.ofSeconds(20), () -> TarWriter.write(items, out, null, TarWriter.Hooks.NONE));

        assertThat(stats.incompleteCount()).isEqualTo(1);
        assertThat(stats.incomplete()).singleElement().satisfies(i -> {
            assertThat(i.path()).isEqualTo(file);
            assertThat(i.reason()).contains("no longer a regular file");
        });
        assertThat(stats.files()).isEqualTo(1);
        assertThat(entries(out.toByteArray())).containsOnlyKeys(other.toString().substring(1));
    }

    @Test
    void incompleteFilesAreAllCountedButOnlyTheFirstHundredNamed() throws Exception {
        List<TarWriter.Item> items = new ArrayList<>();
        for (int i = 0; i < 150; i++) {
            items.add(TarWriter.Item.of(Files.writeString(dir.resolve("f" + i), "content " + i)));
        }
        for (TarWriter.Item item : items) {
            Files.writeString(item.path(), "c");
        }
        ByteArrayOutputStream out = new ByteArrayOutputStream();

        TarWriter.Stats stats = TarWriter.write(items, out);

        assertThat(stats.incompleteCount()).isEqualTo(150);
        assertThat(stats.incomplete())
                .hasSize(TarWriter.MAX_NAMED_INCOMPLETE)
                .extracting(TarWriter.Incomplete::path)
                .startsWith(items.get(0).path(), items.get(1).path());
        // every entry keeps the size its header declared, so the archive stays readable to its end
        assertThat(entries(out.toByteArray()))
                .hasSize(150)
                .containsEntry(items.get(0).path().toString().substring(1), (long) "content 0".length());
    }
}
