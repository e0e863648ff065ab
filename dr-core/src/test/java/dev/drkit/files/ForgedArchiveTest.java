package dev.drkit.files;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;

import dev.drkit.CorruptDataException;
import dev.drkit.DrException;
import dev.drkit.UnsafeArchiveException;
import dev.drkit.spi.support.TarExtractor;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.Consumer;
import java.util.stream.Stream;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveOutputStream;
import org.apache.commons.compress.archivers.tar.TarConstants;
import org.apache.commons.compress.archivers.zip.ZipEncodingHelper;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.api.io.TempDir;

/**
 * Hostile archives, each restored beside a sentinel tree (files, a directory, a symbolic link)
 * that must come out byte-, mode-, owner- and mtime-identical, with nothing new outside the
 * destination. A refused archive leaves no destination; a decode-level verify refuses exactly
 * the archives that a restore refuses.
 */
class ForgedArchiveTest {
    private static final FileTime OLD = FileTime.from(Instant.parse("2020-01-02T03:04:05Z"));
    private static int tried;
    private static int contained;

    @TempDir
    Path dir;

    private Path outside;
    private Path dest;

    /** One forged archive and what must become of it. */
    private record Case(
            String name,
            Build build,
            Class<? extends DrException> refusal,
            String mentions,
            Consumer<Path> restored,
            Prepare existing) {}

    /** What a destination holds before a forced restore into it. */
    private interface Prepare {
        void into(Path dest, Path outside) throws IOException;
    }

    private interface Build {
        byte[] tar(ForgedArchiveTest t) throws IOException;
    }

    private static Case refused(String name, Class<? extends DrException> refusal, String mentions, Build build) {
        return new Case(name, build, refusal, mentions, null, null);
    }

    private static Case contained(String name, Build build, Consumer<Path> restored) {
        return new Case(name, build, null, null, restored, null);
    }

    private static Case forcedOver(String name, Prepare existing, Build build, Consumer<Path> restored) {
        return new Case(name, build, null, null, restored, existing);
    }

    @TestFactory
    Stream<DynamicTest> everyForgedArchiveIsContained() {
        return cases().stream().map(c -> DynamicTest.dynamicTest(c.name(), () -> run(c)));
    }

    @AfterAll
    static void figure() {
        System.out.println("forged archives: " + tried + " tried, " + contained + " contained");
    }

    private void run(Case c) throws Exception {
        tried++;
        outside = Files.createDirectories(
                dir.resolve(c.name().toLowerCase(Locale.ROOT).replaceAll("[^a-z0-9]+", "-"))
                        .resolve("outside"));
        dest = outside.resolveSibling("work").resolve("dest");
        Files.createDirectories(dest.getParent());
        sentinel(outside);
        if (c.existing() != null) {
            Files.createDirectories(dest);
            c.existing().into(dest, outside);
        }
        byte[] tar = c.build().tar(this);
        Path root = outside.getParent();
        Map<String, String> before = snapshot(root);

        Throwable thrown = catchThrowable(
                () -> new TarExtractor(dest, c.existing() != null, List.of()).extract(new ByteArrayInputStream(tar)));
        Throwable verified = catchThrowable(() -> FilesArchiveVerifier.walk(new ByteArrayInputStream(tar), "forged"));

        assertThat(snapshot(root)).as("everything outside the destination").isEqualTo(before);
        if (c.refusal() != null) {
            assertThat(thrown).as("restore").isInstanceOf(c.refusal()).hasMessageContaining(c.mentions());
            assertThat(verified).as("verify").isInstanceOf(c.refusal());
            assertThat(dest).as("a refused archive leaves no destination").doesNotExist();
            assertThat(c.existing())
                    .as("refusals are tried on new destinations")
                    .isNull();
        } else {
            assertThat(thrown).as("restore").isNull();
            assertThat(verified).as("verify").isNull();
            c.restored().accept(dest);
        }
        contained++;
    }

    /** Files, a directory and a symbolic link, all with modes and times of their own. */
    private static void sentinel(Path outside) throws IOException {
        Files.writeString(outside.resolve("secret"), "do not touch");
        Files.setPosixFilePermissions(outside.resolve("secret"), TarExtractor.permissions(0600));
        Files.createDirectories(outside.resolve("dir"));
        Files.writeString(outside.resolve("dir/inner"), "inner");
        Files.setPosixFilePermissions(outside.resolve("dir"), TarExtractor.permissions(0750));
        Files.createSymbolicLink(outside.resolve("link"), outside.resolve("secret"));
        for (String p : List.of("secret", "dir/inner", "dir", "")) {
            Files.setLastModifiedTime(outside.resolve(p), OLD);
        }
    }

    /**
     * Every path below {@code root} but inside the destination, with kind, content hash, mode,
     * owner and mtime; the mtime of {@code work} (where staging directories come and go) is left out.
     */
    private Map<String, String> snapshot(Path root) throws IOException {
        Map<String, String> m = new TreeMap<>();
        try (Stream<Path> walk = Files.walk(root)) {
            for (Path p : walk.toList()) {
                if (p.startsWith(dest)) {
                    continue;
                }
                Map<String, Object> a =
                        Files.readAttributes(p, "unix:mode,uid,gid,lastModifiedTime", LinkOption.NOFOLLOW_LINKS);
                String what = Files.isSymbolicLink(p)
                        ? "link " + Files.readSymbolicLink(p)
                        : Files.isRegularFile(p, LinkOption.NOFOLLOW_LINKS)
                                ? "file " + sha256(Files.readAllBytes(p))
                                : "dir";
                boolean work = p.equals(dest.getParent());
                m.put(
                        root.relativize(p).toString(),
                        what + " mode " + Integer.toOctalString((Integer) a.get("mode")) + " owner " + a.get("uid")
                                + ":" + a.get("gid") + (work ? "" : " mtime " + a.get("lastModifiedTime")));
            }
        }
        return m;
    }

    private static String sha256(byte[] b) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(b));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    // ---------------------------------------------------------------- building archives

    /** Writes entries with commons-compress as a hostile producer would. */
    private static final class Forger {
        private final ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        private final TarArchiveOutputStream tar = new TarArchiveOutputStream(bytes);

        Forger() {
            tar.setLongFileMode(TarArchiveOutputStream.LONGFILE_POSIX);
            tar.setBigNumberMode(TarArchiveOutputStream.BIGNUMBER_POSIX);
        }

        Forger dir(String name, int mode) throws IOException {
            TarArchiveEntry e = new TarArchiveEntry(name.endsWith("/") ? name : name + "/", TarConstants.LF_DIR);
            e.setMode(mode);
            return put(e, null);
        }

        Forger file(String name, String content) throws IOException {
            return file(name, content, 0644);
        }

        Forger file(String name, String content, int mode) throws IOException {
            TarArchiveEntry e = new TarArchiveEntry(name, TarConstants.LF_NORMAL, true);
            e.setMode(mode);
            return put(e, content.getBytes(StandardCharsets.UTF_8));
        }

        Forger symlink(String name, String target) throws IOException {
            TarArchiveEntry e = new TarArchiveEntry(name, TarConstants.LF_SYMLINK, true);
            e.setLinkName(target);
            return put(e, null);
        }

        Forger hardlink(String name, String target) throws IOException {
            TarArchiveEntry e = new TarArchiveEntry(name, TarConstants.LF_LINK, true);
            e.setLinkName(target);
            return put(e, null);
        }

        Forger special(String name, byte type) throws IOException {
            TarArchiveEntry e = new TarArchiveEntry(name, type, true);
            e.setMode(0666);
            return put(e, null);
        }

        Forger put(TarArchiveEntry e, byte[] content) throws IOException {
            e.setModTime(FileTime.from(Instant.parse("2024-05-06T07:08:09Z")));
            if (content != null) {
                e.setSize(content.length);
            }
            tar.putArchiveEntry(e);
            if (content != null) {
                tar.write(content);
            }
            tar.closeArchiveEntry();
            return this;
        }

        byte[] done() throws IOException {
            tar.close();
            return bytes.toByteArray();
        }
    }

    private static Forger forge() {
        return new Forger();
    }

    /** A raw header of {@code e}, for entries a well-behaved writer refuses to produce. */
    private static byte[] header(TarArchiveEntry e) throws IOException {
        byte[] h = new byte[512];
        e.writeEntryHeader(h, ZipEncodingHelper.getZipEncoding("UTF-8"), true);
        return h;
    }

    /** One PAX extended header record: {@code "<length> <key>=<value>\n"}, the length counting itself. */
    private static byte[] paxRecord(String key, String value) {
        byte[] body = (" " + key + "=" + value + "\n").getBytes(StandardCharsets.UTF_8);
        int length = body.length + 1;
        while (String.valueOf(length).length() + body.length != length) {
            length++;
        }
        return concat(String.valueOf(length).getBytes(StandardCharsets.UTF_8), body);
    }

    private static byte[] padded(byte[] data) {
        return Arrays.copyOf(data, (data.length + 511) / 512 * 512);
    }

    private static byte[] concat(byte[]... parts) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (byte[] p : parts) {
            out.writeBytes(p);
        }
        return out.toByteArray();
    }

    // ---------------------------------------------------------------- the cases

    private static List<Case> cases() {
        List<Case> l = new ArrayList<>();
        Class<UnsafeArchiveException> unsafe = UnsafeArchiveException.class;
        Class<CorruptDataException> corrupt = CorruptDataException.class;
        l.add(refused(
                "absolute path",
                unsafe,
                "absolute path",
                t -> forge().file(t.outside.resolve("pwned").toString(), "x").done()));
        l.add(refused(
                "dot dot",
                unsafe,
                "..",
                t -> forge().file("../../outside/pwned", "x").done()));
        l.add(refused(
                "dot dot deep",
                unsafe,
                "..",
                t -> forge().file("a/b/../../../outside/pwned", "x").done()));
        l.add(refused(
                "write through a symlink to a directory",
                unsafe,
                "'link'",
                t -> forge().symlink("link", t.outside.toString())
                        .file("link/pwned", "x")
                        .done()));
        l.add(refused(
                "file over a symlink to a file",
                unsafe,
                "'link'",
                t -> forge().symlink("link", t.outside.resolve("secret").toString())
                        .file("link", "x")
                        .done()));
        l.add(refused(
                "symlink swapped in after a directory",
                unsafe,
                "'d'",
                t -> forge().dir("d", 0777)
                        .file("d/x", "x")
                        .symlink("d", t.outside.toString())
                        .done()));
        l.add(refused(
                "directory, file, symlink of one name",
                unsafe,
                "'a'",
                t -> forge().dir("a", 0777)
                        .file("a", "")
                        .symlink("a", t.outside.resolve("secret").toString())
                        .done()));
        l.add(refused(
                "directory then symlink of one name",
                unsafe,
                "'a'",
                t -> forge().dir("a", 0777)
                        .symlink("a", t.outside.resolve("dir").toString())
                        .done()));
        l.add(refused(
                "directory, symlink of one name, file under it",
                unsafe,
                "a",
                t -> forge().dir("a", 0777)
                        .symlink("a", t.outside.toString())
                        .file("a/pwned", "x")
                        .done()));
        l.add(refused(
                "file then directory of one name",
                unsafe,
                "'x/'",
                t -> forge().file("x", "1").dir("x", 0777).done()));
        l.add(refused(
                "file under a file",
                unsafe,
                "f/x",
                t -> forge().file("f", "1").file("f/x", "2").done()));
        l.add(refused(
                "hardlink out with dot dot",
                unsafe,
                "..",
                t -> forge().hardlink("h", "../../outside/secret").done()));
        l.add(refused(
                "hardlink out by absolute path",
                unsafe,
                "absolute path",
                t -> forge().hardlink("h", t.outside.resolve("secret").toString())
                        .done()));
        l.add(refused(
                "hardlink to a symlink out",
                unsafe,
                "'h'",
                t -> forge().symlink("s", t.outside.resolve("secret").toString())
                        .hardlink("h", "s")
                        .done()));
        l.add(refused(
                "hardlink through a symlinked directory",
                unsafe,
                "'h'",
                t -> forge().symlink("s", t.outside.resolve("dir").toString())
                        .hardlink("h", "s/inner")
                        .done()));
        l.add(refused(
                "hardlink to a file not in the archive",
                unsafe,
                "'h'",
                t -> forge().hardlink("h", "nothing").done()));
        l.add(refused("NUL in a PAX path", unsafe, "NUL", t -> {
            // a writer puts a short name in the ustar header, where NUL ends it: the PAX record is made by hand
            byte[] record = paxRecord("path", "a\0/../../outside/pwned");
            TarArchiveEntry pax = new TarArchiveEntry("././@PaxHeader", TarConstants.LF_PAX_EXTENDED_HEADER_LC, true);
            pax.setSize(record.length);
            TarArchiveEntry file = new TarArchiveEntry("harmless", TarConstants.LF_NORMAL, true);
            file.setSize(1);
            return concat(header(pax), padded(record), header(file), padded(new byte[] {'x'}), new byte[1024]);
        }));
        l.add(refused(
                "name longer than a path may be",
                unsafe,
                "longer than",
                t -> forge().file("d/".repeat(2100) + "f", "x").done()));
        l.add(refused(
                "name component longer than 255 bytes",
                unsafe,
                "longer than",
                t -> forge().file("x".repeat(300), "x").done()));
        l.add(refused("huge declared size, truncated", corrupt, "Truncated", t -> {
            TarArchiveEntry e = new TarArchiveEntry("huge", TarConstants.LF_NORMAL, true);
            e.setSize(1L << 40);
            return concat(header(e), new byte[4096]);
        }));
        l.add(refused("huge declared size, end blocks after a little data", corrupt, "Truncated", t -> {
            TarArchiveEntry e = new TarArchiveEntry("huge", TarConstants.LF_NORMAL, true);
            e.setSize(1L << 40);
            byte[] data = new byte[2048];
            Arrays.fill(data, (byte) 'x');
            return concat(header(e), data, new byte[1024]);
        }));
        l.add(refused("directory declaring data", unsafe, "'d/'", t -> {
            TarArchiveEntry e = new TarArchiveEntry("d/", TarConstants.LF_DIR, true);
            e.setSize(512);
            return concat(header(e), new byte[512], new byte[1024]);
        }));
        l.add(refused(
                "trailing garbage after the end blocks",
                corrupt,
                "after its end-of-archive",
                t -> concat(forge().file("ok", "fine").done(), "garbage".getBytes(StandardCharsets.UTF_8))));
        l.add(refused("truncated at an entry boundary", corrupt, "truncated", t -> {
            byte[] whole = forge().file("ok", "fine").file("second", "x").done();
            return Arrays.copyOf(whole, 512 + 512); // first header and its data, nothing more
        }));
        l.add(refused("truncated inside a header", corrupt, "damaged header", t -> {
            byte[] whole = forge().file("ok", "fine").file("second", "x").done();
            return Arrays.copyOf(whole, 1024 + 100);
        }));
        l.add(refused("oversized GNU long name header", unsafe, "header", t -> {
            int size = 3 << 20;
            TarArchiveEntry e = new TarArchiveEntry(TarConstants.GNU_LONGLINK, TarConstants.LF_GNUTYPE_LONGNAME, true);
            e.setSize(size);
            byte[] name = new byte[size];
            Arrays.fill(name, (byte) 'n');
            return concat(header(e), name, new byte[1024]);
        }));
        l.add(refused("oversized PAX header", unsafe, "header", t -> {
            byte[] record = paxRecord("comment", "c".repeat(2 << 20));
            TarArchiveEntry pax = new TarArchiveEntry("././@PaxHeader", TarConstants.LF_PAX_EXTENDED_HEADER_LC, true);
            pax.setSize(1L << 40);
            return concat(header(pax), record, new byte[1024]);
        }));
        l.add(refused("PAX record claiming more than its header", corrupt, "not a readable tar", t -> {
            byte[] record = "999999999 path=x\n".getBytes(StandardCharsets.UTF_8);
            TarArchiveEntry pax = new TarArchiveEntry("././@PaxHeader", TarConstants.LF_PAX_EXTENDED_HEADER_LC, true);
            pax.setSize(record.length);
            return concat(header(pax), padded(record), new byte[1024]);
        }));
        l.add(refused(
                "symbolic link target longer than a path may be",
                unsafe,
                "longer than",
                t -> forge().symlink("s", "l".repeat(5000)).done()));
        l.add(refused("global PAX headers piling up", unsafe, "header", t -> {
            // each global header is within the limit of one header, but a parser keeps them all
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            for (int i = 0; i < 3; i++) {
                byte[] record = paxRecord("comment" + i, "c".repeat(600_000));
                TarArchiveEntry global =
                        new TarArchiveEntry("././@PaxHeader", TarConstants.LF_PAX_GLOBAL_EXTENDED_HEADER, true);
                global.setSize(record.length);
                TarArchiveEntry file = new TarArchiveEntry("f" + i, TarConstants.LF_NORMAL, true);
                file.setSize(1);
                out.writeBytes(concat(header(global), padded(record), header(file), padded(new byte[] {'x'})));
            }
            out.writeBytes(new byte[1024]);
            return out.toByteArray();
        }));
        l.add(refused(
                "unknown entry type",
                unsafe,
                "entry type",
                t -> forge().special("odd", (byte) 'Z').done()));
        l.add(refused(
                "empty name", unsafe, "no name", t -> forge().file(".", "x").done()));

        l.add(contained(
                "character device skipped",
                t -> forge().special("dev/null2", TarConstants.LF_CHR)
                        .file("kept", "k")
                        .done(),
                d -> {
                    assertThat(d.resolve("dev/null2")).doesNotExist();
                    assertThat(d.resolve("kept")).hasContent("k");
                }));
        l.add(contained(
                "block device skipped",
                t -> forge().special("sda", TarConstants.LF_BLK).done(),
                d -> assertThat(d.resolve("sda")).doesNotExist()));
        l.add(contained(
                "FIFO skipped",
                t -> forge().special("fifo", TarConstants.LF_FIFO).done(),
                d -> assertThat(d.resolve("fifo")).doesNotExist()));
        l.add(contained(
                "setuid and setgid stripped",
                t -> forge().file("suid", "#!/bin/sh\n", 06755)
                        .dir("sgid", 02775)
                        .done(),
                d -> {
                    assertThat(mode(d.resolve("suid"))).isEqualTo(0755);
                    assertThat(mode(d.resolve("sgid"))).isEqualTo(0775);
                }));
        l.add(contained(
                "duplicate file names: the later wins",
                t -> forge().file("dup", "first").file("dup", "second").done(),
                d -> assertThat(d.resolve("dup")).hasContent("second")));
        l.add(contained(
                "duplicate directory names",
                t -> forge().dir("d", 0700).file("d/f", "f").dir("d", 0755).done(),
                d -> assertThat(mode(d.resolve("d"))).isEqualTo(0755)));
        l.add(contained(
                "symlinks out are kept as links, not followed",
                t -> forge().symlink("etc/secret", t.outside.resolve("secret").toString())
                        .dir("etc", 0777)
                        .done(),
                d -> {
                    assertThat(Files.isSymbolicLink(d.resolve("etc/secret"))).isTrue();
                    assertThat(mode(d.resolve("etc"))).isEqualTo(0777);
                }));
        l.add(contained(
                "long names through PAX",
                t -> forge().file(("x".repeat(200) + "/").repeat(5) + "f", "deep")
                        .done(),
                d -> assertThat(d.resolve(("x".repeat(200) + "/").repeat(5) + "f"))
                        .hasContent("deep")));
        l.add(contained(
                "hardlink inside",
                t -> forge().file("a", "same").hardlink("b", "a").done(),
                d -> assertThat(d.resolve("b")).hasContent("same")));
        l.add(contained(
                "read-only directory with files",
                t -> forge().dir("ro", 0500).file("ro/f", "f", 0400).done(),
                d -> assertThat(mode(d.resolve("ro"))).isEqualTo(0500)));
        l.add(forcedOver(
                "forced over a destination holding a symlink out",
                (d, o) -> Files.createSymbolicLink(d.resolve("etc"), o.resolve("dir")),
                t -> forge().dir("etc", 0777).file("etc/inner", "replaced").done(),
                d -> {
                    assertThat(Files.isSymbolicLink(d.resolve("etc"))).isFalse();
                    assertThat(d.resolve("etc/inner")).hasContent("replaced");
                }));
        l.add(forcedOver(
                "forced over a destination holding a symlink to a file out",
                (d, o) -> Files.createSymbolicLink(d.resolve("secret"), o.resolve("secret")),
                t -> forge().file("secret", "replaced", 0666).done(),
                d -> {
                    assertThat(Files.isSymbolicLink(d.resolve("secret"))).isFalse();
                    assertThat(d.resolve("secret")).hasContent("replaced");
                }));
        return l;
    }

    private static int mode(Path p) {
        try {
            return (Integer) Files.getAttribute(p, "unix:mode", LinkOption.NOFOLLOW_LINKS) & 07777;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
