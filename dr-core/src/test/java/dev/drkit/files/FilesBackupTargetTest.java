package dev.drkit.files;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.drkit.BackupResult;
import dev.drkit.ConfigException;
import dev.drkit.DrException;
import dev.drkit.DrKit;
import dev.drkit.DrStatus;
import dev.drkit.RestoreRequest;
import dev.drkit.Settings;
import dev.drkit.StorageException;
import dev.drkit.TargetSpec;
import dev.drkit.spi.BackupTarget;
import dev.drkit.spi.BackupTargetProvider;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.AccessDeniedException;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.FileTime;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The files target's honesty about its source: files that change while they are copied,
 * sources that cannot be read, and paths that are not files. The tree changes through the
 * target's hook, which runs just before a file is opened, so nothing depends on timing.
 */
class FilesBackupTargetTest {
    private static final String HOOKED = "files-hooked";
    private static volatile FilesBackupTarget.BeforeOpen hook;

    @TempDir
    Path dir;

    Path tree;
    Path changing;
    Path steady;
    Path deep;

    /** The files target with this test's hook; its backups are of type {@code files}. */
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
        changing = Files.writeString(tree.resolve("changing.log"), "0123456789".repeat(1000));
        steady = Files.writeString(tree.resolve("steady.conf"), "listen 443;\n");
    }

    @AfterEach
    void removeDeepTree() throws Exception {
        hook = null;
        if (deep != null) {
            // deeper than PATH_MAX: the JDK's delete cannot reach it, rm works relative to each directory
            assertThat(new ProcessBuilder("rm", "-rf", deep.toString()).start().waitFor())
                    .isZero();
        }
    }

    private DrKit kit() {
        return DrKit.builder()
                .repository(dir.resolve("repo").toString())
                .register(new HookedProvider())
                .build();
    }

    private static TargetSpec spec(Path path, String... excludes) {
        return new TargetSpec(
                "app",
                HOOKED,
                Settings.builder()
                        .add("path", path.toString())
                        .addAll("exclude", List.of(excludes))
                        .build());
    }

    /** Runs {@code change} once, when the file about to be opened is {@code file}. */
    private static void onOpen(Path file, IoAction change) {
        hook = item -> {
            if (item.path().equals(file)) {
                change.run();
            }
        };
    }

    @FunctionalInterface
    interface IoAction {
        void run() throws IOException;
    }

    private Path restore(DrKit kit, BackupResult r) {
        Path dest = dir.resolve("restored");
        kit.restore(RestoreRequest.files("app", r.id(), dest));
        return dest.resolve(tree.toString().substring(1));
    }

    @Test
    void aFileThatShrinksWhileCopiedIsRecordedAsIncompleteAndTheArchiveStaysValid() throws IOException {
        onOpen(changing, () -> Files.writeString(changing, "012"));
        try (DrKit kit = kit()) {
            BackupResult r = kit.backup(spec(tree));

            assertThat(r.incomplete()).isTrue();
            assertThat(r.incompleteFiles()).containsExactly(changing.toString());
            assertThat(r.incompleteFileCount()).isEqualTo(1);
            BackupResult stored = new BackupResult(kit.manifest("app", r.id()));
            assertThat(stored.incompleteFiles()).containsExactly(changing.toString());
            assertThat(stored.manifest().metadata()).containsEntry(BackupResult.INCOMPLETE_FILE_COUNT, 1);

            Path back = restore(kit, r);
            byte[] restored = Files.readAllBytes(back.resolve("changing.log"));
            assertThat(restored).hasSize(10_000).startsWith("012".getBytes(StandardCharsets.US_ASCII));
            assertThat(restored[3]).isZero();
            assertThat(back.resolve("steady.conf")).hasContent("listen 443;");
        }
    }

    @Test
    void aFileThatGrowsWhileCopiedKeepsItsFirstBytesAndIsIncomplete() throws IOException {
        onOpen(changing, () -> Files.writeString(changing, "appended", StandardOpenOption.APPEND));
        try (DrKit kit = kit()) {
            BackupResult r = kit.backup(spec(tree));

            assertThat(r.incompleteFiles()).containsExactly(changing.toString());
            assertThat(restore(kit, r).resolve("changing.log")).hasContent("0123456789".repeat(1000));
        }
    }

    @Test
    void aFileRewrittenAtTheSameSizeIsIncomplete() throws IOException {
        onOpen(changing, () -> Files.setLastModifiedTime(changing, FileTime.fromMillis(0)));
        try (DrKit kit = kit()) {
            assertThat(kit.backup(spec(tree)).incompleteFiles()).containsExactly(changing.toString());
        }
    }

    @Test
    void aFileDeletedAfterTheScanIsLeftOutAndIncomplete() throws IOException {
        onOpen(changing, () -> Files.delete(changing));
        try (DrKit kit = kit()) {
            BackupResult r = kit.backup(spec(tree));

            assertThat(r.incompleteFiles()).containsExactly(changing.toString());
            Path back = restore(kit, r);
            assertThat(back.resolve("changing.log")).doesNotExist();
            assertThat(back.resolve("steady.conf")).hasContent("listen 443;");
        }
    }

    @Test
    void aConsistentBackupIsCompleteAndStatusHasNoProblem() {
        try (DrKit kit = kit()) {
            BackupResult r = kit.backup(spec(tree));

            assertThat(r.incomplete()).isFalse();
            assertThat(r.incompleteFiles()).isEmpty();
            assertThat(r.manifest().metadata())
                    .doesNotContainKeys(BackupResult.INCOMPLETE_FILES, BackupResult.INCOMPLETE_FILE_COUNT, "skipped");
            DrStatus.Target status = kit.status(Map.of()).targets().get(0);
            assertThat(status.problems()).isEmpty();
            assertThat(status.healthy()).isTrue();
        }
    }

    @Test
    void statusReportsAnIncompleteNewestBackupWithItsFiles() {
        onOpen(changing, () -> Files.writeString(changing, ""));
        try (DrKit kit = kit()) {
            BackupResult r = kit.backup(spec(tree));

            DrStatus status = kit.status(Map.of());
            assertThat(status.healthy()).isFalse();
            assertThat(status.targets().get(0).problems())
                    .singleElement()
                    .asString()
                    .contains("newest backup " + r.id() + " is incomplete", "1 file(s)", changing.toString());
        }
    }

    @Test
    void aFileThatCannotBeReadFailsTheBackupAsASourceErrorNamingIt() throws IOException {
        // root reads any file whatever its permissions; a symbolic link put in the file's place just
        // before it is opened without following links fails for root too
        onOpen(changing, () -> {
            Files.delete(changing);
            Files.createSymbolicLink(changing, steady);
        });
        try (DrKit kit = kit()) {
            assertThatThrownBy(() -> kit.backup(spec(tree)))
                    .isInstanceOf(DrException.class)
                    .isNotInstanceOf(StorageException.class)
                    .hasMessageContaining("cannot read " + changing)
                    .hasMessageContaining("check that the user running the backup may read it")
                    .hasMessageContaining("setting 'exclude'")
                    .hasMessageNotContaining("repository")
                    .satisfies(e -> {
                        assertThat(((DrException) e).code()).isEqualTo(DrException.ErrorCode.TARGET);
                        assertThat(((DrException) e).retryable()).isFalse();
                    });
            assertThat(kit.list("app")).isEmpty();
        }
    }

    /**
     * A tree deeper than PATH_MAX (4096 bytes with its terminating zero): even root cannot stat
     * its deepest directory, named {@code prefix...}, by its absolute path.
     */
    private Path tooDeep(Path under, String prefix) throws Exception {
        deep = under.resolve("deep");
        Path p = deep;
        while (4096 - p.toString().length() - 1 > 255) {
            p = p.resolve("d".repeat(200));
        }
        Files.createDirectories(p);
        String last = prefix + "u".repeat(4096 - p.toString().length() - 1 - prefix.length());
        Process mkdir = new ProcessBuilder("mkdir", last).directory(p.toFile()).start();
        assertThat(mkdir.waitFor(30, TimeUnit.SECONDS)).isTrue();
        assertThat(mkdir.exitValue()).isZero();
        return p.resolve(last);
    }

    @Test
    void aDirectoryThatCannotBeReadIsASourceErrorUnlessExcluded() throws Exception {
        Path unreadable = tooDeep(tree, "unreadable-");

        try (DrKit kit = kit()) {
            assertThatThrownBy(() -> kit.backup(spec(tree)))
                    .isInstanceOf(DrException.class)
                    .isNotInstanceOf(StorageException.class)
                    .hasMessageContaining("cannot read " + unreadable)
                    .hasMessageContaining("setting 'exclude'")
                    .hasMessageNotContaining("repository")
                    .extracting(e -> ((DrException) e).code())
                    .isEqualTo(DrException.ErrorCode.TARGET);

            BackupResult r = kit.backup(spec(tree, "unreadable-*"));
            assertThat(r.incomplete()).isFalse();
            assertThat(r.manifest().metadata()).containsEntry("files", 2L);
        }
    }

    @Test
    void anExcludedDirectoryIsNotFailedOnWhenItCannotBeOpened() throws IOException {
        // the JDK opens a directory before the visitor's preVisitDirectory sees it
        FilesBackupTarget target = new FilesBackupTarget(List.of(tree), List.of("private"));
        FilesBackupTarget.Scan scan = target.new Scan();
        scan.root = tree;

        assertThat(scan.visitFileFailed(tree.resolve("private"), new AccessDeniedException(tree + "/private")))
                .isEqualTo(FileVisitResult.CONTINUE);
        assertThatThrownBy(
                        () -> scan.visitFileFailed(tree.resolve("shared"), new AccessDeniedException(tree + "/shared")))
                .isInstanceOf(DrException.class)
                .hasMessage("cannot read " + tree.resolve("shared") + " to back it up (permission denied); check "
                        + "that the user running the backup may read it, or leave it out with setting 'exclude'");
    }

    @Test
    void aFifoSocketOrDeviceGivenAsAPathIsRefused() throws Exception {
        Path fifo = dir.resolve("pipe");
        assertThat(new ProcessBuilder("mkfifo", fifo.toString()).start().waitFor())
                .isZero();
        try (DrKit kit = kit()) {
            assertThatThrownBy(() -> kit.backup(spec(fifo)))
                    .isInstanceOf(ConfigException.class)
                    .hasMessageContaining(fifo + " is a named pipe (FIFO), not a file or directory");
            assertThatThrownBy(() -> kit.backup(spec(Path.of("/dev/zero"))))
                    .isInstanceOf(ConfigException.class)
                    .hasMessageContaining("/dev/zero is a character device");
            assertThat(kit.list("app")).isEmpty();
        }
    }

    @Test
    void aFifoInsideATreeIsSkippedAndCounted() throws Exception {
        assertThat(new ProcessBuilder("mkfifo", tree.resolve("pipe").toString())
                        .start()
                        .waitFor())
                .isZero();
        try (DrKit kit = kit()) {
            BackupResult r = kit.backup(spec(tree));

            assertThat(r.manifest().metadata()).containsEntry("skipped", 1L).containsEntry("files", 2L);
            assertThat(r.incomplete()).isFalse();
        }
    }
}
