package dev.drkit.spi.support;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Files opened in a handle on their verified directory (see FilesRestoreRacesTest for the swaps
 * that handle stops): another file renamed into a scanned file's place is still told apart.
 */
class TarWriterDirectoryHandleTest {
    @TempDir
    Path dir;

    @Test
    void filesOfAVerifiedDirectoryAreReadThroughOneHandleAndAFileRenamedInIsToldApart() throws IOException {
        Path tree = Files.createDirectories(dir.resolve("tree"));
        Path a = Files.writeString(tree.resolve("a.txt"), "alpha");
        Path b = Files.writeString(tree.resolve("b.txt"), "bravo");
        Path c = Files.writeString(tree.resolve("c.txt"), "charlie");
        List<TarWriter.Item> items = List.of(
                TarWriter.Item.of(tree, "tree"),
                TarWriter.Item.of(a, "tree/a.txt"),
                TarWriter.Item.of(b, "tree/b.txt"),
                TarWriter.Item.of(c, "tree/c.txt"));
        // b.txt is replaced by another file of the same size after the scan
        Path other = Files.writeString(dir.resolve("other"), "BRAVO");
        Files.setLastModifiedTime(other, Files.getLastModifiedTime(b));
        Files.move(other, b, StandardCopyOption.REPLACE_EXISTING);
        ByteArrayOutputStream tar = new ByteArrayOutputStream();

        TarWriter.Stats stats = TarWriter.write(items, tar, null, TarWriter.Hooks.NONE);

        assertThat(stats.files()).isEqualTo(2);
        assertThat(stats.incomplete())
                .singleElement()
                .satisfies(i -> assertThat(i.path()).isEqualTo(b));
        String all = new String(tar.toByteArray(), StandardCharsets.UTF_8);
        assertThat(all).contains("alpha", "charlie").doesNotContain("BRAVO");
    }
}
