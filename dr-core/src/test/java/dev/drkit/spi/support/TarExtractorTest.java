package dev.drkit.spi.support;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.drkit.ConfigException;
import dev.drkit.CorruptDataException;
import dev.drkit.DestinationNotEmptyException;
import dev.drkit.UnsafeArchiveException;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.SecureDirectoryStream;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.FileTime;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.UUID;
import java.util.stream.Stream;
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
                if (value.startsWith("->") || value.startsWith("=>")) {
                    e = new TarArchiveEntry(
                            name, value.startsWith("->") ? TarConstants.LF_SYMLINK : TarConstants.LF_LINK);
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
        assertThatThrownBy(() -> TarExtractor.safeName("/etc/evil"))
                .isInstanceOf(UnsafeArchiveException.class)
                .hasMessageContaining("/etc/evil");
        Path dest = dir.resolve("dest");
        extract(dest, false, tar("/tmp/drkit-test-evil-" + System.nanoTime(), "x"));
        try (var s = Files.walk(dest)) {
            assertThat(s.filter(Files::isRegularFile))
                    .singleElement()
                    .satisfies(p -> assertThat(p).startsWith(dest));
        }
    }

    @Test
    void aBackslashIsPartOfAFileNameNotADirectorySeparator() throws IOException {
        // a name Linux allows (a Windows share's copy, a literal in a config directory): it came back
        // as the directory 'back' holding 'slash.txt'
        Path dest = dir.resolve("dest");
        extract(dest, false, tar("etc/back\\slash.txt", "x", "etc/..\\..\\up.txt", "y"));
        assertThat(dest.resolve("etc").resolve("back\\slash.txt"))
                .isRegularFile()
                .hasContent("x");
        assertThat(dest.resolve("etc").resolve("back")).doesNotExist();
        assertThat(dest.resolve("etc").resolve("..\\..\\up.txt"))
                .as("on this platform '..\\' is a name, which stays inside the destination")
                .isRegularFile()
                .hasContent("y");
        assertThat(dir.resolve("up.txt")).doesNotExist();
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
    void aContentWriterTakesTheFilesItNamesAndTheEntryKeepsItsAttributes() throws IOException {
        Path staging = Files.createDirectories(dir.resolve("staging"));
        byte[] archive = tar("a/taken.txt", "for the writer", "a/plain.txt", "for the extractor");
        List<String> seen = new ArrayList<>();
        new TarExtractor(staging, true, List.of())
                .unpack(
                        new ByteArrayInputStream(archive),
                        staging,
                        n -> true,
                        name -> name.equals("a/taken.txt")
                                ? (target, content) -> {
                                    // reads only part of the entry: the extractor reads past the rest
                                    seen.add(new String(content.readNBytes(3), StandardCharsets.UTF_8));
                                    Files.writeString(target, "written by the writer");
                                }
                                : null);
        assertThat(seen).containsExactly("for");
        assertThat(Files.readString(staging.resolve("a/taken.txt"))).isEqualTo("written by the writer");
        assertThat(Files.readString(staging.resolve("a/plain.txt"))).isEqualTo("for the extractor");
        // and nothing is written for it through a link standing at its place
        Path outside = Files.writeString(dir.resolve("outside.txt"), "keep");
        Path other = Files.createDirectories(dir.resolve("other/a"));
        Files.createSymbolicLink(other.resolve("taken.txt"), outside);
        assertThatThrownBy(() -> new TarExtractor(dir.resolve("other"), true, List.of())
                        .unpack(
                                new ByteArrayInputStream(tar("a/taken.txt", "x")),
                                dir.resolve("other"),
                                n -> true,
                                name -> (target, content) -> Files.writeString(target, "pwned")))
                .isInstanceOf(UnsafeArchiveException.class);
        assertThat(Files.readString(outside)).isEqualTo("keep");
    }

    @Test
    void theWrittenSinkHearsOfEachFileTheExtractorWroteOnceItIsComplete() throws IOException {
        Path staging = Files.createDirectories(dir.resolve("staging"));
        byte[] archive = tar(
                "d/one.txt", "first content",
                "d/built.txt", "for the writer",
                "d/link", "->one.txt",
                "d/hard", "=>d/one.txt",
                "two.txt", "second");
        List<String> heard = new ArrayList<>();
        new TarExtractor(staging, true, List.of())
                .onFileWritten(p -> {
                    try { // complete and closed: the whole content is there when the sink hears of it
                        heard.add(staging.relativize(p) + "=" + Files.readString(p));
                    } catch (IOException e) {
                        throw new UncheckedIOException(e);
                    }
                })
                .unpack(
                        new ByteArrayInputStream(archive),
                        staging,
                        n -> true,
                        name -> name.equals("d/built.txt")
                                ? (target, content) -> Files.writeString(target, "built")
                                : null);
        // not of the file a content writer built, nor of links (no data of their own)
        assertThat(heard).containsExactly("d/one.txt=first content", "two.txt=second");
    }

    @Test
    void aHardLinkCannotTakeThePlaceOfAFileAContentWriterBuilt() throws IOException {
        Path staging = Files.createDirectories(dir.resolve("staging"));
        // the file the writer builds, then the same name again as a hard link to another file
        byte[] archive = tar("a/built", "base", "a/other", "other", "a/built", "=>a/other");
        assertThatThrownBy(() -> new TarExtractor(staging, true, List.of())
                        .unpack(
                                new ByteArrayInputStream(archive),
                                staging,
                                n -> true,
                                name -> name.equals("a/built")
                                        ? (target, content) -> Files.writeString(
                                                target,
                                                "built",
                                                StandardOpenOption.CREATE_NEW,
                                                LinkOption.NOFOLLOW_LINKS)
                                        : null))
                .isInstanceOf(UnsafeArchiveException.class)
                .hasMessageContaining("a/built");
        assertThat(Files.readString(staging.resolve("a/built"))).isEqualTo("built");
        assertThat(Files.readString(staging.resolve("a/other"))).isEqualTo("other");
    }

    @Test
    void linksToOutsideAreKeptAsLinksWithoutBeingFollowed() throws IOException {
        Path dest = dir.resolve("dest");
        extract(dest, false, tar("etc/ssl/cert.pem", "->/etc/ssl/certs/ca.pem", "etc/app.conf", "a=1"));
        assertThat(Files.readSymbolicLink(dest.resolve("etc/ssl/cert.pem")))
                .isEqualTo(Path.of("/etc/ssl/certs/ca.pem"));
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
                .isInstanceOf(DestinationNotEmptyException.class)
                .hasMessageContaining("RestoreRequest.force");
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
    void anIncludeGlobThatIsNotAGlobIsASettingErrorThatNamesIt() {
        // a PatternSyntaxException reached the operator as "restore failed: java.util.regex...."
        assertThatThrownBy(() -> new TarExtractor(dir.resolve("dest"), false, List.of("etc/[nginx")))
                .isInstanceOf(ConfigException.class)
                .hasMessageContaining("setting 'include'")
                .hasMessageContaining("'etc/[nginx'")
                .hasMessageNotContaining("java.")
                .hasMessageNotContaining("Exception");
    }

    @Test
    void includeGlobsThatMatchNothingFailTheRestoreAndLeaveNoDestination() throws IOException {
        // with the leading '/' an operator types for /etc/nginx: it matched nothing, and an empty
        // destination was reported as restored
        Path dest = dir.resolve("dest");
        TarExtractor x = new TarExtractor(dest, false, List.of("/etc/nginx/**"));
        byte[] archive = tar("etc/nginx/site.conf", "s", "etc/other.conf", "o");
        assertThatThrownBy(() -> x.extract(new ByteArrayInputStream(archive)))
                .isInstanceOf(ConfigException.class)
                .hasMessageContaining("no entry of the backup matches setting 'include' [/etc/nginx/**]")
                .hasMessageContaining("etc/nginx/**");
        assertThat(dest).doesNotExist();
        try (var s = Files.list(dir)) {
            assertThat(s).as("no staging left").isEmpty();
        }
    }

    @Test
    void truncatedStreamLeavesNoDestinationBehind() throws IOException {
        byte[] whole = tar("big.txt", "x".repeat(100_000));
        byte[] cut = Arrays.copyOf(whole, 50_000);
        Path dest = dir.resolve("dest");
        assertThatThrownBy(() -> extract(dest, false, cut))
                .isInstanceOf(CorruptDataException.class)
                .hasMessageContaining("Truncated");
        assertThat(dest).doesNotExist();
        try (var s = Files.list(dir)) {
            assertThat(s).isEmpty();
        }
    }

    @Test
    void stagingLeftByAKilledRestoreIsRemovedOnceADayOld() throws IOException {
        Path dest = dir.resolve("dest");
        Path old = Files.createDirectories(dir.resolve(".dest" + TarExtractor.STAGING_MARK + "old/deep"))
                .getParent();
        Files.writeString(old.resolve("deep/half.txt"), "half");
        Files.setLastModifiedTime(old, FileTime.from(Instant.now().minus(Duration.ofHours(25))));
        Path recent = Files.createDirectories(dir.resolve(".dest" + TarExtractor.STAGING_MARK + "running"));
        Path otherDest = Files.createDirectories(dir.resolve(".other" + TarExtractor.STAGING_MARK + "old"));
        Files.setLastModifiedTime(otherDest, FileTime.from(Instant.now().minus(Duration.ofDays(3))));

        extract(dest, false, tar("a.txt", "a"));

        assertThat(old).doesNotExist();
        assertThat(recent).as("possibly a restore still running").isDirectory();
        assertThat(otherDest).as("another destination's").isDirectory();
        assertThat(dest.resolve("a.txt")).hasContent("a");
    }

    /**
     * A restore into an existing directory (an empty mounted volume) stages inside it; killed
     * (kill -9), it left its staging there, and the next restore, not forced, took the directory
     * for one that holds data and refused it. What a killed restore left is not data.
     */
    @Test
    void aRestoreRunAgainIntoADirectoryWhereOneWasKilledIsNotRefused() throws IOException {
        Path dest = Files.createDirectories(dir.resolve("volume"));
        Path left = Files.createDirectories(dest.resolve(TarExtractor.STAGING_MARK + UUID.randomUUID()));
        Files.writeString(left.resolve("half"), "x");
        Files.setLastModifiedTime(left, FileTime.from(Instant.now().minus(Duration.ofDays(2))));

        extract(dest, false, tar("a.txt", "a"));

        assertThat(dest.resolve("a.txt")).hasContent("a");
        assertThat(left).as("the killed restore's staging").doesNotExist();
    }

    /**
     * A staging directory names the process that made it: on this host a restore still running
     * keeps its staging however old (a restore of terabytes can take more than a day), and one
     * whose process is gone is removed at once; others keep the day-old rule.
     */
    @Test
    void stagingOfThisHostIsRemovedWhenItsProcessIsGoneAndKeptWhileItRuns() throws Exception {
        Path dest = dir.resolve("dest");
        String start = PrivateScratch.processStart();
        long self = ProcessHandle.current().pid();
        Path running = Files.createDirectories(
                dir.resolve(".dest" + TarExtractor.STAGING_MARK + self + "-" + start + "-" + UUID.randomUUID()));
        Files.setLastModifiedTime(running, FileTime.from(Instant.now().minus(Duration.ofDays(3))));
        Process gone = new ProcessBuilder("true").start();
        gone.waitFor();
        // a start token of this boot that no live process has (for a token of epoch
        // milliseconds, where /proc cannot be read, the dead pid alone tells)
        String goneStart = start.startsWith("b") ? start.substring(0, start.indexOf('t') + 1) + "1" : "1";
        Path killed = Files.createDirectories(dir.resolve(
                ".dest" + TarExtractor.STAGING_MARK + gone.pid() + "-" + goneStart + "-" + UUID.randomUUID()));
        Path otherHost = Files.createDirectories(
                dir.resolve(".dest" + TarExtractor.STAGING_MARK + "1-bffffffft1-" + UUID.randomUUID()));

        extract(dest, false, tar("a.txt", "a"));

        assertThat(running).as("this process's, three days old").isDirectory();
        assertThat(killed).as("a fresh one whose process is gone").doesNotExist();
        assertThat(otherHost).as("another boot's, not a day old").isDirectory();
        assertThat(dest.resolve("a.txt")).hasContent("a");
    }

    @Test
    void aRefusedArchiveLeavesNeitherDestinationNorStaging() throws IOException {
        Path dest = dir.resolve("dest");
        assertThatThrownBy(() -> extract(dest, false, tar("ok.txt", "fine", "link", "->/etc", "link/x", "x")))
                .isInstanceOf(UnsafeArchiveException.class);
        try (var s = Files.list(dir)) {
            assertThat(s).isEmpty();
        }
    }

    @Test
    void modesTimesAndLinksAreRestoredWithoutFollowingLinks() throws IOException {
        Path dest = dir.resolve("dest");
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        FileTime mtime = FileTime.from(Instant.parse("2021-03-04T05:06:07Z"));
        try (TarArchiveOutputStream tar = new TarArchiveOutputStream(bytes)) {
            TarArchiveEntry d = new TarArchiveEntry("conf/", TarConstants.LF_DIR);
            d.setMode(0750);
            d.setModTime(mtime);
            tar.putArchiveEntry(d);
            tar.closeArchiveEntry();
            TarArchiveEntry f = new TarArchiveEntry("conf/app.conf");
            f.setMode(0640);
            f.setSize(1);
            f.setModTime(mtime);
            tar.putArchiveEntry(f);
            tar.write('x');
            tar.closeArchiveEntry();
            TarArchiveEntry l = new TarArchiveEntry("conf/current", TarConstants.LF_SYMLINK);
            l.setLinkName("app.conf");
            tar.putArchiveEntry(l);
            tar.closeArchiveEntry();
        }
        TarExtractor x = new TarExtractor(dest, false, List.of());
        x.extract(new ByteArrayInputStream(bytes.toByteArray()));
        assertThat(Files.getAttribute(dest.resolve("conf"), "unix:mode", LinkOption.NOFOLLOW_LINKS))
                .isEqualTo(040750);
        assertThat(Files.getLastModifiedTime(dest.resolve("conf"), LinkOption.NOFOLLOW_LINKS))
                .isEqualTo(mtime);
        assertThat(Files.getAttribute(dest.resolve("conf/app.conf"), "unix:mode"))
                .isEqualTo(0100640);
        assertThat(Files.getLastModifiedTime(dest.resolve("conf/app.conf"))).isEqualTo(mtime);
        assertThat(Files.readSymbolicLink(dest.resolve("conf/current"))).isEqualTo(Path.of("app.conf"));
        assertThat(x.files()).isEqualTo(1);
        assertThat(x.bytes()).isEqualTo(1);
    }

    @Test
    void everyFileModeIsRestoredExactlyWhateverTheUmaskTakes() throws IOException {
        // modes the umask (022 here) leaves whole are given at creation, the others set after
        int[] modes = {0644, 0755, 0600, 0400, 0000, 0666, 0777, 0640, 0707, 01755};
        Path dest = dir.resolve("dest");
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        FileTime mtime = FileTime.from(Instant.parse("2020-01-02T03:04:05Z"));
        try (TarArchiveOutputStream tar = new TarArchiveOutputStream(bytes)) {
            for (int mode : modes) {
                TarArchiveEntry f = new TarArchiveEntry("m/" + Integer.toOctalString(mode));
                f.setMode(mode);
                f.setSize(2);
                f.setModTime(mtime);
                tar.putArchiveEntry(f);
                tar.write(new byte[] {'o', 'k'});
                tar.closeArchiveEntry();
            }
        }
        TarExtractor x = new TarExtractor(dest, false, List.of());
        x.extract(new ByteArrayInputStream(bytes.toByteArray()));
        for (int mode : modes) {
            Path f = dest.resolve("m/" + Integer.toOctalString(mode));
            assertThat(Files.getAttribute(f, "unix:mode", LinkOption.NOFOLLOW_LINKS))
                    .as(Integer.toOctalString(mode))
                    .isEqualTo(0100000 | mode);
            assertThat(Files.getLastModifiedTime(f, LinkOption.NOFOLLOW_LINKS)).isEqualTo(mtime);
            assertThat(Files.size(f)).isEqualTo(2);
        }
        try (var left = Files.list(dest)) {
            assertThat(left.map(p -> p.getFileName().toString())).containsExactly("m"); // no probe left behind
        }
    }

    @Test
    void devicesAndFifosAreSkippedAndCounted() throws IOException {
        Path dest = dir.resolve("dest");
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (TarArchiveOutputStream tar = new TarArchiveOutputStream(bytes)) {
            for (byte type : new byte[] {TarConstants.LF_CHR, TarConstants.LF_BLK, TarConstants.LF_FIFO}) {
                tar.putArchiveEntry(new TarArchiveEntry("special-" + (char) type, type));
                tar.closeArchiveEntry();
            }
        }
        TarExtractor x = new TarExtractor(dest, false, List.of());
        x.extract(new ByteArrayInputStream(bytes.toByteArray()));
        assertThat(x.skippedSpecial()).isEqualTo(3);
        try (var s = Files.list(dest)) {
            assertThat(s).isEmpty();
        }
    }

    /**
     * Two tars unpacked into one tree at once: after a link entry's checks, another stream may
     * make a directory at its name and write into it. The link used to take its place by
     * deleting what stood there (an empty directory went), so those writes went wherever the
     * link pointed. A link is now renamed into place, which never replaces a directory.
     */
    @Test
    void aLinkNeverTakesThePlaceOfADirectoryThatAppearedAfterItsChecks() throws Exception {
        Path tree = Files.createDirectories(dir.resolve("tree"));
        Path target = Files.createDirectory(tree.resolve("d"));
        Path made = Files.createSymbolicLink(tree.resolve(".made"), dir.resolve("outside"));
        TarEntryReader.Entry entry = new TarEntryReader.Entry(
                "d",
                "d",
                TarEntryReader.Kind.SYMLINK,
                0,
                0777,
                false,
                null,
                0,
                0,
                dir.resolve("outside").toString());

        assertThatThrownBy(() -> TarExtractor.renameIntoPlace(made, target, entry))
                .isInstanceOf(UnsafeArchiveException.class)
                .hasMessageContaining("'d'");
        assertThat(target).isDirectory();
        assertThat(Files.isSymbolicLink(target)).isFalse();
        assertThat(made).doesNotExist();

        // a link or a file of the same name is replaced (the later entry wins)
        Path file = Files.writeString(tree.resolve("f"), "x");
        Path again = Files.createSymbolicLink(tree.resolve(".again"), Path.of("elsewhere"));
        TarExtractor.renameIntoPlace(again, file, entry);
        assertThat(Files.readSymbolicLink(file)).isEqualTo(Path.of("elsewhere"));
        assertThat(again).doesNotExist();
    }

    /**
     * A forced restore into a destination another user may write: while the restore moves its
     * files into {@code d}, that user swaps {@code d} for a link to a directory outside, again
     * and again. Whatever the restore then does (it may fail), nothing may land outside.
     */
    @Test
    void aDirectorySwappedForALinkWhileTheRestoreMovesFilesIntoItSendsNothingOutside() throws Exception {
        Path outside = Files.createDirectories(dir.resolve("outside"));
        Path dest = Files.createDirectories(dir.resolve("dest"));
        Path d = Files.createDirectories(dest.resolve("d"));
        Files.writeString(d.resolve("old"), "old");
        List<Object> entries = new ArrayList<>();
        for (int i = 0; i < 200; i++) {
            entries.add("d/f" + i);
            entries.add("new");
        }
        byte[] tar = tar(entries.toArray());
        try (LinkSwapper swapper = new LinkSwapper(d, outside)) {
            for (int round = 0; round < 30; round++) {
                try {
                    extract(dest, true, tar);
                } catch (IOException | RuntimeException refused) {
                    // refusing is fine; writing outside is not
                }
                try (Stream<Path> s = Files.list(outside)) {
                    assertThat(s).as("written outside in round " + round).isEmpty();
                }
            }
        }
    }

    /** A restore into {@code /} (where a files backup's entries belong) opens the root itself and keeps it open. */
    @Test
    void theRootDirectoryOpensForTheStepsOfARestoreIntoIt() throws Exception {
        try (SecureDirectoryStream<Path> root = FileTrees.openSecure(Path.of("/"))) {
            assertThat(FileTrees.attributes(root, Path.of("tmp")).isDirectory()).isTrue();
        }
    }
}
