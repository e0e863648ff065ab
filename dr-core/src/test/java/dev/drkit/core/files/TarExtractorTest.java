package dev.drkit.core.files;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.drkit.DestinationNotEmptyException;
import dev.drkit.UnsafeArchiveException;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveOutputStream;
import org.apache.commons.compress.archivers.tar.TarConstants;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TarExtractorTest {
    @TempDir
    Path dir;

    private static byte[] tar(Object... entries) throws IOException {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (TarArchiveOutputStream tar = new TarArchiveOutputStream(bytes)) {
            tar.setLongFileMode(TarArchiveOutputStream.LONGFILE_POSIX);
            for (int i = 0; i < entries.length; i += 2) {
                String name = (String) entries[i];
                String value = (String) entries[i + 1];
                TarArchiveEntry e;
                if (value.startsWith("->")) {
                    e = new TarArchiveEntry(name, TarConstants.LF_SYMLINK);
                    e.setLinkName(value.substring(2));
                    tar.putArchiveEntry(e);
                } else {
                    e = new TarArchiveEntry(name);
                    byte[] content = value.getBytes(StandardCharsets.UTF_8);
                    e.setSize(content.length);
                    tar.putArchiveEntry(e);
                    tar.write(content);
                }
                tar.closeArchiveEntry();
            }
        }
        return bytes.toByteArray();
    }

    private void extract(Path dest, boolean force, byte[] tar) throws IOException {
        TarExtractor x = new TarExtractor(dest, force, List.of());
        x.checkDestination();
        x.extract(new ByteArrayInputStream(tar));
    }

    @Test
    void absoluteNamesAreRefusedOrKeptInside() throws IOException {
        assertThatThrownBy(() -> TarExtractor.safeName("/etc/evil")).isInstanceOf(UnsafeArchiveException.class)
                .hasMessageContaining("/etc/evil");
        Path dest = dir.resolve("dest");
        extract(dest, false, tar("/tmp/drkit-test-evil-" + System.nanoTime(), "x"));
        try (var s = Files.walk(dest)) {
            assertThat(s.filter(Files::isRegularFile)).singleElement().satisfies(p -> assertThat(p).startsWith(dest));
        }
    }

    @Test
    void dotDotIsRefused() {
        Path dest = dir.resolve("dest");
        assertThatThrownBy(() -> extract(dest, false, tar("ok.txt", "fine", "a/../../escape.txt", "x")))
                .isInstanceOf(UnsafeArchiveException.class);
        assertThat(dir.resolve("escape.txt")).doesNotExist();
        assertThat(dest).doesNotExist();
    }

    @Test
    void nothingIsWrittenThroughALinkThatPointsOut() throws IOException {
        Path outside = Files.createDirectories(dir.resolve("outside"));
        Path dest = dir.resolve("dest");
        byte[] evil = tar("link", "->" + outside, "link/pwned.txt", "x");

        assertThatThrownBy(() -> extract(dest, false, evil)).isInstanceOf(UnsafeArchiveException.class);
        assertThat(dest).doesNotExist();
        assertThat(outside.resolve("pwned.txt")).doesNotExist();
    }

    @Test
    void linksToOutsideAreKeptAsLinksWithoutBeingFollowed() throws IOException {
        Path dest = dir.resolve("dest");
        extract(dest, false, tar("etc/ssl/cert.pem", "->/etc/ssl/certs/ca.pem", "etc/app.conf", "a=1"));
        assertThat(Files.readSymbolicLink(dest.resolve("etc/ssl/cert.pem"))).isEqualTo(Path.of("/etc/ssl/certs/ca.pem"));
        assertThat(dest.resolve("etc/app.conf")).hasContent("a=1");
    }

    @Test
    void leadingDotSlashIsHarmless() throws IOException {
        Path dest = dir.resolve("dest");
        extract(dest, false, tar("./a/b.txt", "b"));
        assertThat(dest.resolve("a/b.txt")).hasContent("b");
    }

    @Test
    void nonEmptyDestinationNeedsForceAndForceOverwrites() throws IOException {
        Path dest = Files.createDirectories(dir.resolve("dest"));
        Files.writeString(dest.resolve("keep.txt"), "live");
        Files.createDirectories(dest.resolve("a"));
        Files.writeString(dest.resolve("a/b.txt"), "old");

        assertThatThrownBy(() -> extract(dest, false, tar("a/b.txt", "new")))
                .isInstanceOf(DestinationNotEmptyException.class).hasMessageContaining("--force");
        assertThat(dest.resolve("a/b.txt")).hasContent("old");

        extract(dest, true, tar("a/b.txt", "new"));
        assertThat(dest.resolve("a/b.txt")).hasContent("new");
        assertThat(dest.resolve("keep.txt")).hasContent("live");
    }

    @Test
    void includeGlobsRestoreOnlyMatchingEntries() throws IOException {
        Path dest = dir.resolve("dest");
        TarExtractor x = new TarExtractor(dest, false, List.of("etc/nginx"));
        x.extract(new ByteArrayInputStream(tar("etc/nginx/site.conf", "s", "etc/other.conf", "o")));
        assertThat(dest.resolve("etc/nginx/site.conf")).hasContent("s");
        assertThat(dest.resolve("etc/other.conf")).doesNotExist();
    }

    @Test
    void truncatedStreamLeavesNoDestinationBehind() throws IOException {
        byte[] whole = tar("big.txt", "x".repeat(100_000));
        byte[] cut = java.util.Arrays.copyOf(whole, 50_000);
        Path dest = dir.resolve("dest");
        assertThatThrownBy(() -> extract(dest, false, cut)).isInstanceOf(IOException.class);
        assertThat(dest).doesNotExist();
        try (var s = Files.list(dir)) {
            assertThat(s).isEmpty();
        }
    }
}
