package dev.drkit.files;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

import dev.drkit.BackupResult;
import dev.drkit.DrKit;
import dev.drkit.RestoreRequest;
import dev.drkit.Settings;
import dev.drkit.TargetSpec;
import dev.drkit.spi.BackupTarget;
import dev.drkit.spi.BackupTargetProvider;
import dev.drkit.spi.support.TarWriter;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.FileTime;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The files target against a source that changes under the backup in ways the incomplete-file
 * checks do not see, and restores into destinations that are not a plain new directory on the
 * same file system as their parent.
 */
class FilesRestoreRacesTest {
    private static final String HOOKED = "files-hooked";
    private static volatile FilesBackupTarget.BeforeOpen hook;

    @TempDir
    Path dir;

    Path tree;
    Path steady;
    Path mounted;

    static final class HookedProvider implements BackupTargetProvider {
        @Override
        public String type() {
            return HOOKED;
        }

        @Override
        public BackupTarget create(Settings settings) {
            return new FilesBackupTarget(
                    settings.getAll("path").stream().map(Path::of).toList(), settings.getAll("exclude"), hook);
        }
    }

    @BeforeEach
    void makeTree() throws IOException {
        tree = Files.createDirectories(dir.resolve("app"));
        steady = Files.writeString(tree.resolve("steady.conf"), "listen 443;\n");
    }

    @AfterEach
    void cleanUp() throws Exception {
        hook = null;
        if (mounted != null) {
            run("umount", mounted.toString());
        }
    }

    private DrKit kit() {
        return DrKit.builder()
                .repository(dir.resolve("repo").toString())
                .register(new HookedProvider())
                .build();
    }

    private static TargetSpec spec(Path path) {
        return new TargetSpec(
                "app", HOOKED, Settings.builder().add("path", path.toString()).build());
    }

    private static int run(String... command) throws Exception {
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        assertThat(p.waitFor(30, TimeUnit.SECONDS)).isTrue();
        return p.exitValue();
    }

    /** Mounts an empty tmpfs at {@code at} (made if missing); skips the test where this host cannot. */
    private Path mountTmpfs(Path at) throws Exception {
        Files.createDirectories(at);
        boolean mountedHere = run("mount", "-t", "tmpfs", "drkit-test", at.toString()) == 0;
        // CI runs as root: a green run must mean these restores onto a volume ran
        CiRequirement.require(mountedHere, "cannot mount a tmpfs here (needs root)");
        mounted = at;
        return at;
    }

    /**
     * Another user who may write in the backed-up tree swaps a directory for a symbolic link
     * after the scan, just before a file in it is opened: the backup must not read the file the
     * link leads to (here one the attacker gave the same size and time, so the size and time
     * check does not notice) and store it, silently, as the file of the tree.
     */
    @Test
    void aDirectorySwappedForALinkAfterTheScanIsNotFollowedOutOfTheTree() throws IOException {
        Swap swap = Swap.plant(tree, dir);
        hook = item -> {
            if (item.path().equals(swap.mine())) {
                swap.out();
            }
        };
        try (DrKit kit = kit()) {
            BackupResult r = kit.backup(spec(tree));

            Path dest = dir.resolve("restored");
            kit.restore(RestoreRequest.files("app", r.id(), dest));
            assertThat(dest.resolve(swap.mine().toString().substring(1)))
                    .as("left out, not stored with the bytes the link led to")
                    .doesNotExist();
            assertThat(r.incompleteFiles()).containsExactly(swap.mine().toString());
        }
    }

    /**
     * The same swap, undone just after the open: a check of the path after the open then finds
     * the file it scanned, though the open went through the link. Files are opened in a handle
     * on their verified directory, so the swap cannot lead the read out of the tree.
     */
    @Test
    void aDirectorySwappedForALinkAroundTheOpenIsNotReadThrough() throws IOException {
        Swap swap = Swap.plant(tree, dir);
        List<TarWriter.Item> items = List.of(
                TarWriter.Item.of(tree, "app"),
                TarWriter.Item.of(swap.sub(), "app/sub"),
                TarWriter.Item.of(swap.mine(), "app/sub/secret.txt"));
        TarWriter.Hooks swapping = new TarWriter.Hooks() {
            @Override
            public void beforeOpen(TarWriter.Item item) throws IOException {
                swap.out();
            }

            @Override
            public void afterOpen(TarWriter.Item item) throws IOException {
                swap.back();
            }
        };
        ByteArrayOutputStream tar = new ByteArrayOutputStream();

        TarWriter.Stats stats = TarWriter.write(items, tar, null, swapping);

        assertThat(tar.toString(StandardCharsets.ISO_8859_1)).doesNotContain("TOPSECRET");
        assertThat(stats.files()).isZero();
        assertThat(stats.incomplete())
                .singleElement()
                .satisfies(i -> assertThat(i.reason())
                        .isEqualTo("was replaced, or a directory above it, after the scan; left out"));
    }

    /**
     * Another user who may write in the tree: {@code mine} in their directory {@code sub}, and
     * a file of the same size and time outside the tree that they would have the backup read.
     */
    private record Swap(Path sub, Path mine, Path outside) {
        static Swap plant(Path tree, Path dir) throws IOException {
            Path sub = Files.createDirectories(tree.resolve("sub"));
            Path mine = Files.writeString(sub.resolve("secret.txt"), "harmless!");
            Path outside = Files.createDirectories(dir.resolve("outside"));
            Path theirs = Files.writeString(outside.resolve("secret.txt"), "TOPSECRET");
            FileTime t = FileTime.fromMillis(1_600_000_000_000L);
            Files.setLastModifiedTime(mine, t);
            Files.setLastModifiedTime(theirs, t);
            return new Swap(sub, mine, outside);
        }

        /** The directory moves aside, a link to the outside takes its place. */
        void out() throws IOException {
            Files.move(sub, sub.resolveSibling("sub.old"));
            Files.createSymbolicLink(sub, outside);
        }

        /** The link goes, the directory comes back. */
        void back() throws IOException {
            Files.delete(sub);
            Files.move(sub.resolveSibling("sub.old"), sub);
        }
    }

    /**
     * The type check before a file is opened and the open are two steps: a FIFO put in the
     * file's place between them must not block the backup for good.
     */
    @Test
    void aFileSwappedForAFifoJustBeforeItIsOpenedDoesNotHangTheBackup() throws Exception {
        hook = item -> {
            if (item.path().equals(steady)) {
                Files.delete(steady);
                try {
                    assertThat(run("mkfifo", steady.toString())).isZero();
                } catch (Exception e) {
                    throw new IOException(e);
                }
            }
        };
        try (DrKit kit = kit()) {
            try {
                BackupResult r = assertTimeoutPreemptively(Duration.ofSeconds(30), () -> kit.backup(spec(tree)));
                assertThat(r.incompleteFiles()).containsExactly(steady.toString());
            } finally {
                // release a backup stuck in open(): a read-write open of a FIFO does not block on Linux
                if (Files.exists(steady)) {
                    try (FileChannel release =
                            FileChannel.open(steady, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
                        assertThat(release.isOpen()).isTrue();
                    }
                }
            }
        }
    }

    /**
     * A path set to back up that is a symbolic link to a directory (a config directory moved to
     * a data volume and linked back) is taken: the backup holds the directory's files, not the
     * link alone.
     */
    @Test
    void aPathThatIsALinkToADirectoryIsBackedUpWithWhatItHolds() throws IOException {
        Path link = Files.createSymbolicLink(dir.resolve("config"), tree);
        try (DrKit kit = kit()) {
            BackupResult r = kit.backup(spec(link));
            Path dest = dir.resolve("restored");
            kit.restore(RestoreRequest.files("app", r.id(), dest));
            try (Stream<Path> s = Files.walk(dest)) {
                assertThat(s.filter(p -> p.getFileName().toString().equals("steady.conf")))
                        .as("steady.conf restored from a backup of %s", link)
                        .isNotEmpty();
            }
        }
    }

    /** The usual disaster-recovery destination: a new, empty volume mounted where the data goes. */
    @Test
    void aRestoreIntoAnEmptyMountPointSucceeds() throws Exception {
        Path volume = mountTmpfs(dir.resolve("volume"));
        try (DrKit kit = kit()) {
            BackupResult r = kit.backup(spec(tree));

            kit.restore(RestoreRequest.files("app", r.id(), volume));

            assertThat(volume.resolve(steady.toString().substring(1))).hasContent("listen 443;");
        }
    }

    /**
     * A forced restore over a tree where the file's directory is a mount point (a config volume):
     * whatever it cannot put in place it must not have deleted first.
     */
    @Test
    void aForcedRestoreDoesNotDeleteAFileItCannotReplace() throws Exception {
        try (DrKit kit = kit()) {
            BackupResult r = kit.backup(spec(tree));
            Path dest = dir.resolve("live");
            Path volume = mountTmpfs(dest.resolve(tree.toString().substring(1)));
            Path current = Files.writeString(volume.resolve("steady.conf"), "listen 8443;\n");

            try {
                kit.restore(RestoreRequest.files("app", r.id(), dest).withForce(true));
            } catch (RuntimeException failed) {
                assertThat(current)
                        .as(
                                "the restore failed (%s) and must have left the file it did not replace",
                                failed.getMessage())
                        .exists();
                return;
            }
            assertThat(current).hasContent("listen 443;");
        }
    }

    /** A directory of the archive placed on a volume mounted inside the destination: copied there whole, with its mode. */
    @Test
    void aDirectoryRestoredOntoAVolumeMountedInsideTheDestinationKeepsItsFilesAndMode() throws Exception {
        Path confd = Files.createDirectories(tree.resolve("conf.d"));
        Files.writeString(confd.resolve("tls.conf"), "ssl on;\n");
        Files.setPosixFilePermissions(confd, PosixFilePermissions.fromString("rwxr-x---"));
        try (DrKit kit = kit()) {
            BackupResult r = kit.backup(spec(tree));
            Path dest = dir.resolve("live");
            Path volume = mountTmpfs(dest.resolve(tree.toString().substring(1)));

            kit.restore(RestoreRequest.files("app", r.id(), dest).withForce(true));

            assertThat(volume.resolve("conf.d/tls.conf")).hasContent("ssl on;");
            assertThat(Files.getPosixFilePermissions(volume.resolve("conf.d")))
                    .isEqualTo(PosixFilePermissions.fromString("rwxr-x---"));
            assertThat(volume.resolve("steady.conf")).hasContent("listen 443;");
            try (Stream<Path> left = Files.list(volume)) {
                assertThat(left.map(p -> p.getFileName().toString()))
                        .as("nothing of the restore's own left beside what it put in place")
                        .containsExactlyInAnyOrder("conf.d", "steady.conf");
            }
        }
    }
}
