package dev.drkit.examples.drill;

import dev.drkit.spi.support.Sha256;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.MessageDigest;
import java.util.List;
import java.util.stream.Stream;

/** A digest of a directory tree: names, types, permissions, link targets and contents. */
final class TreeDigest {
    private TreeDigest() {}

    static String of(Path root) throws IOException {
        MessageDigest md = Sha256.newDigest();
        List<Path> entries;
        try (Stream<Path> s = Files.walk(root)) {
            entries = s.sorted().toList();
        }
        byte[] buf = new byte[64 * 1024];
        for (Path p : entries) {
            String rel = root.relativize(p).toString();
            md.update(rel.getBytes(StandardCharsets.UTF_8));
            if (Files.isSymbolicLink(p)) {
                md.update(("L" + Files.readSymbolicLink(p)).getBytes(StandardCharsets.UTF_8));
                continue;
            }
            md.update(PosixFilePermissions.toString(Files.getPosixFilePermissions(p, LinkOption.NOFOLLOW_LINKS))
                    .getBytes(StandardCharsets.UTF_8));
            if (Files.isRegularFile(p, LinkOption.NOFOLLOW_LINKS)) {
                try (InputStream in = Files.newInputStream(p)) {
                    int n;
                    while ((n = in.read(buf)) >= 0) {
                        md.update(buf, 0, n);
                    }
                }
            }
        }
        return Sha256.hex(md.digest());
    }
}
