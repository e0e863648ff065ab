package dev.drkit.postgres;

import static dev.drkit.postgres.PageDeltasTest.crc;
import static dev.drkit.postgres.PageDeltasTest.fillPage;
import static dev.drkit.postgres.PageDeltasTest.forged;
import static dev.drkit.postgres.PageDeltasTest.pages;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.sun.management.ThreadMXBean;
import dev.drkit.ArtifactInfo;
import dev.drkit.BackupManifest;
import dev.drkit.BackupNotFoundException;
import dev.drkit.ConfigException;
import dev.drkit.CorruptDataException;
import dev.drkit.DestinationNotEmptyException;
import dev.drkit.Settings;
import dev.drkit.UnsafeArchiveException;
import dev.drkit.spi.RestoreContext;
import dev.drkit.spi.support.TarWriter;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.nio.file.attribute.PosixFilePermission;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.UnaryOperator;
import java.util.stream.Stream;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveOutputStream;
import org.apache.commons.compress.archivers.tar.TarConstants;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * A block-level incremental chain read from a repository an attacker could write: forged file
 * lists and page deltas must give a clear error, never write outside the staging directory, and
 * never make the restore grow a file to a size nothing recorded; the source changing under the
 * backup must not hang or fail it.
 */
class IncrementalChainAttackTest {
    private static final int PAGE = PageMaps.PAGE;
    private static final String NAME = "base/5/16384";
    private static final String FULL = "20261202T010000Z-aaaaaa";
    private static final String INCR = "20261202T020000Z-bbbbbb";

    @TempDir
    Path dir;

    /** Backup id to its artifacts, and the manifests. */
    private final Map<String, Map<String, byte[]>> artifacts = new HashMap<>();

    private final Map<String, BackupManifest> manifests = new HashMap<>();

    /** Whether the restores of a test replace what is there (RestoreRequest.force). */
    private boolean force;

    @Test
    void anHonestChainRebuildsTheNewBytes() throws IOException {
        byte[] old = pages(3, 1);
        byte[] now = old.clone();
        now[PAGE + 7] ^= 1;
        chain(old, now, null);
        Path staging = restore();
        assertThat(Files.readAllBytes(staging.resolve(NAME))).isEqualTo(now);
    }

    @Test
    @Timeout(value = 60, unit = TimeUnit.SECONDS, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
    void aForgedHugeSizeIsRefusedBeforeAFileGrowsToIt() throws IOException {
        chain(pages(2, 1), pages(2, 2), null);
        long huge = 1L << 40; // a 1 TiB sparse file in staging, read through for its CRC
        artifacts.get(INCR).put("pages-0.bin", forged(NAME, huge, -1));
        artifacts.get(INCR).put("files.tsv", line(NAME, huge, "00000000", FULL, INCR + "/pages-0.bin"));
        Path staging = stagingDir();
        assertThatThrownBy(() -> PhysicalRestore.materialize(context(), staging))
                .isInstanceOf(CorruptDataException.class)
                .hasMessageContaining(NAME)
                .hasMessageContaining("size");
        assertThat(staging.resolve(NAME)).doesNotExist(); // refused before anything was written
    }

    @Test
    void deltasWhoseSizeDisagreesWithTheFileListAreRefusedWithoutReadingTheFile() throws IOException {
        chain(pages(2, 1), pages(2, 2), null);
        artifacts.get(INCR).put("pages-0.bin", forged(NAME, 64L * PAGE, -1));
        assertThatThrownBy(() -> PhysicalRestore.materialize(context(), stagingDir()))
                .isInstanceOf(CorruptDataException.class)
                .hasMessageContaining(NAME)
                .hasMessageContaining(String.valueOf(2 * PAGE))
                .hasMessageNotContaining("Exception");
    }

    @Test
    void fileListNamesOutsideTheDataDirectoryAreRefused() throws IOException {
        Path outside = Files.writeString(dir.resolve("outside"), "keep");
        for (String forged : List.of(outside.toString(), "base/../../outside", "../outside", "base//5", "./base/5")) {
            chain(pages(2, 1), pages(2, 2), null);
            String list = new String(artifacts.get(INCR).get("files.tsv"), StandardCharsets.UTF_8)
                    + new String(line(forged, 4, "00000000", FULL, null), StandardCharsets.UTF_8);
            artifacts.get(INCR).put("files.tsv", list.getBytes(StandardCharsets.UTF_8));
            assertThatThrownBy(() -> PhysicalRestore.materialize(context(), stagingDir()))
                    .as(forged)
                    .isInstanceOf(CorruptDataException.class)
                    .hasMessageContaining("file list")
                    .hasMessageContaining("damaged");
        }
        for (String where : List.of(FULL + "/x\tdata-0.tar", FULL + "\t../data-0.tar", FULL + "\tpages-0.bin")) {
            String forged = NAME + "\t4\t1000\t00000000\t" + where;
            assertThatThrownBy(() -> FileList.FileEntry.parse(forged))
                    .as(where)
                    .isInstanceOf(CorruptDataException.class)
                    .hasMessageContaining("no data tar");
        }
        assertThat(Files.readString(outside)).isEqualTo("keep");
    }

    /**
     * A file list is read from the repository: one forged as a single endless line was read
     * whole into memory (and copied twice) before any of it was parsed.
     */
    @Test
    void aFileListOfOneEndlessLineIsRefusedWithoutBeingHeldInMemory() {
        long size = 64L << 20;
        InputStream endless = new InputStream() {
            private long left = size;

            @Override
            public int read() {
                return left-- > 0 ? 'a' : -1;
            }

            @Override
            public int read(byte[] b, int off, int len) {
                if (left <= 0) {
                    return -1;
                }
                int n = (int) Math.min(len, left);
                Arrays.fill(b, off, off + n, (byte) 'a');
                left -= n;
                return n;
            }
        };
        ThreadMXBean threads = (ThreadMXBean) ManagementFactory.getThreadMXBean();
        long before = threads.getCurrentThreadAllocatedBytes();

        assertThatThrownBy(() -> FileList.parse(endless))
                .isInstanceOf(CorruptDataException.class)
                .hasMessageContaining("line longer than");

        assertThat(threads.getCurrentThreadAllocatedBytes() - before)
                .as("bytes allocated reading it")
                .isLessThan(size / 2);
    }

    @Test
    void aFileListedTwiceIsRefused() throws IOException {
        chain(pages(2, 1), pages(2, 2), null);
        String list = new String(artifacts.get(INCR).get("files.tsv"), StandardCharsets.UTF_8);
        artifacts.get(INCR).put("files.tsv", (list + list).getBytes(StandardCharsets.UTF_8));
        assertThatThrownBy(() -> PhysicalRestore.materialize(context(), stagingDir()))
                .isInstanceOf(CorruptDataException.class)
                .hasMessageContaining(NAME)
                .hasMessageContaining("twice");
    }

    @Test
    void aDeltaArtifactOfAnotherFileIsRefused() throws IOException {
        chain(pages(2, 1), pages(2, 2), null);
        artifacts.get(INCR).put("pages-0.bin", forged("base/5/99999", 2L * PAGE, -1));
        assertThatThrownBy(() -> PhysicalRestore.materialize(context(), stagingDir()))
                .isInstanceOf(CorruptDataException.class)
                .hasMessageContaining("pages-0.bin")
                .hasMessageContaining("backup chain is damaged");
    }

    @Test
    void deltasOverABaseThatIsADirectoryOrASymlinkAreRefused() throws IOException {
        Path victim = Files.write(dir.resolve("victim"), new byte[2 * PAGE]);
        for (boolean symlink : new boolean[] {false, true}) {
            chain(pages(2, 1), pages(2, 2), null);
            ByteArrayOutputStream tar = new ByteArrayOutputStream();
            try (TarArchiveOutputStream out = new TarArchiveOutputStream(tar)) {
                TarArchiveEntry e = symlink
                        ? new TarArchiveEntry(NAME, TarArchiveEntry.LF_SYMLINK)
                        : new TarArchiveEntry(NAME + "/");
                if (symlink) {
                    e.setLinkName(victim.toString());
                }
                out.putArchiveEntry(e);
                out.closeArchiveEntry();
            }
            artifacts.get(FULL).put("data-0.tar", tar.toByteArray());
            // refused by the tar's placement rules (the deltas made a regular file there first)
            assertThatThrownBy(() -> PhysicalRestore.materialize(context(), stagingDir()))
                    .isInstanceOfAny(CorruptDataException.class, UnsafeArchiveException.class)
                    .hasMessageContaining(NAME);
            assertThat(Files.readAllBytes(victim)).isEqualTo(new byte[2 * PAGE]);
        }
    }

    @Test
    void aBaseTarHoldingTheRebuiltFileTwiceOrAgainAsAHardLinkIsRefused() throws IOException {
        byte[] old = pages(2, 1);
        byte[] other = pages(2, 3);
        for (boolean hardLink : new boolean[] {false, true}) {
            chain(old, pages(2, 2), null);
            ByteArrayOutputStream tar = new ByteArrayOutputStream();
            try (TarArchiveOutputStream out = new TarArchiveOutputStream(tar)) {
                out.putArchiveEntry(new TarArchiveEntry("base/5/"));
                out.closeArchiveEntry();
                for (String name : List.of(NAME, "base/5/other")) {
                    TarArchiveEntry e = new TarArchiveEntry(name);
                    e.setSize(old.length);
                    out.putArchiveEntry(e);
                    out.write(name.equals(NAME) ? old : other);
                    out.closeArchiveEntry();
                }
                TarArchiveEntry again =
                        hardLink ? new TarArchiveEntry(NAME, TarArchiveEntry.LF_LINK) : new TarArchiveEntry(NAME);
                if (hardLink) {
                    again.setLinkName("base/5/other");
                } else {
                    again.setSize(other.length);
                }
                out.putArchiveEntry(again);
                if (!hardLink) {
                    out.write(other);
                }
                out.closeArchiveEntry();
            }
            artifacts.get(FULL).put("data-0.tar", tar.toByteArray());
            editFileList(list -> list
                    + new String(line("base/5/other", other.length, crc(other), FULL, null), StandardCharsets.UTF_8));
            assertThatThrownBy(() -> PhysicalRestore.materialize(context(), stagingDir()))
                    .as(hardLink ? "a hard link" : "a second copy")
                    .isInstanceOfAny(CorruptDataException.class, UnsafeArchiveException.class)
                    .hasMessageContaining(NAME);
        }
    }

    @Test
    void aPagedFileWhoseBaseIsSaidToBeInTheRestoredBackupItselfIsRefused() throws IOException {
        for (boolean there : new boolean[] {false, true}) {
            chain(pages(2, 1), pages(2, 2), null);
            editFileList(list -> list.replace("\t" + FULL + "\t", "\t" + INCR + "\t"));
            if (there) {
                artifacts.get(INCR).put("data-0.tar", tar(NAME, pages(2, 1)));
            }
            assertThatThrownBy(() -> PhysicalRestore.materialize(context(), stagingDir()))
                    .isInstanceOf(CorruptDataException.class)
                    .hasMessageContaining(NAME)
                    .hasMessageContaining("restore a full backup");
        }
    }

    @Test
    void anInterruptedChainRestoreEndsAndLeavesNoThreadRunning() throws Exception {
        byte[] old = pages(3000, 1);
        byte[] now = pages(3000, 2); // every page changed: a frame for each window
        chain(old, now, null);
        for (long delay : new long[] {0, 20, 80}) {
            AtomicReference<Throwable> failed = new AtomicReference<>();
            Thread restore = new Thread(() -> {
                try {
                    PhysicalRestore.materialize(context(), stagingDir());
                } catch (IOException | RuntimeException e) {
                    failed.set(e);
                }
            });
            restore.start();
            Thread.sleep(delay);
            restore.interrupt();
            restore.join(60_000);
            assertThat(restore.isAlive())
                    .as("still restoring after %d ms", delay)
                    .isFalse();
            if (failed.get() != null) {
                assertThat(failed.get().getMessage()).as("after %d ms", delay).contains("interrupted");
            }
            assertThat(Thread.getAllStackTraces().keySet())
                    .as("threads left after %d ms", delay)
                    .noneMatch(t -> t.getName().startsWith("drkit-pg-"));
        }
    }

    @Test
    void aDeltaNamingABackupThatIsNoDependencyIsRefused() throws IOException {
        chain(pages(2, 1), pages(2, 2), null);
        editFileList(list -> list.replace(INCR + "/", "20261202T030000Z-cccccc/"));
        // refused before any artifact is opened (the repository would refuse the open too)
        assertThatThrownBy(() -> PhysicalRestore.materialize(context(), stagingDir()))
                .isInstanceOf(CorruptDataException.class)
                .hasMessageContaining("page deltas of backup 20261202T030000Z-cccccc, which it does not depend on");
    }

    @Test
    void aParentPageMapForgedToHideAChangedPageIsCaughtByTheRestore() throws IOException {
        byte[] old = pages(3, 1);
        byte[] now = old.clone();
        fillPage(now, 2, 9);
        // the forged parent map claims page 2 already holds the new bytes: the writer skips it
        chain(old, now, now);
        assertThatThrownBy(() -> PhysicalRestore.materialize(context(), stagingDir()))
                .isInstanceOf(CorruptDataException.class)
                .hasMessageContaining(NAME)
                .hasMessageContaining("restore a full backup");
    }

    @Test
    @Timeout(value = 60, unit = TimeUnit.SECONDS, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
    void aRelationFileReplacedByAFifoOrADirectoryOrASymlinkAfterTheScanDoesNotHangOrFailTheBackup() throws Exception {
        for (String kind : List.of("fifo", "directory", "symlink")) {
            Path file = Files.write(dir.resolve("rel-" + kind), pages(2, 3));
            TarWriter.Item item = TarWriter.Item.of(file, NAME);
            Files.delete(file);
            switch (kind) {
                case "fifo" ->
                    assertThat(new ProcessBuilder("mkfifo", file.toString())
                                    .start()
                                    .waitFor())
                            .isZero();
                case "directory" -> Files.createDirectory(file);
                default -> Files.createSymbolicLink(file, dir.resolve("victim-" + kind));
            }
            ByteArrayOutputStream map = new ByteArrayOutputStream();
            try (PageMaps.Writer m = new PageMaps.Writer(map);
                    PageDeltas.Writer w =
                            new PageDeltas.Writer(new ByteArrayOutputStream(), m, new PageVerification(false, 0))) {
                assertThat(w.write(item, null)).as(kind).isNull(); // left out, as a vanished file
            }
        }
    }

    @Test
    void aParentPageMapClaimingMorePagesThanTheFileHasKeepsOnlyThePagesCompared() throws IOException {
        ByteArrayOutputStream map = new ByteArrayOutputStream();
        try (PageMaps.Writer w = new PageMaps.Writer(map)) {
            w.begin(NAME, 4096L * PAGE); // the parent claims 32 MiB: 4096 hashes
            for (int i = 0; i < 4096; i++) {
                w.hash(i);
            }
            w.begin("base/5/2", PAGE);
            w.hash(7);
        }
        Map<String, long[]> kept = PageMaps.read(
                new ByteArrayInputStream(map.toByteArray()),
                "pagemap-0.bin",
                name -> name.equals(NAME) ? 3 : 1,
                null,
                null);
        assertThat(kept.get(NAME)).containsExactly(0, 1, 2);
        assertThat(kept.get("base/5/2")).containsExactly(7);
        // and pages past the parent's (short) map are stored, whatever the map claims
        byte[] now = pages(5, 4);
        Path file = Files.write(dir.resolve("live"), now);
        ByteArrayOutputStream deltas = new ByteArrayOutputStream();
        try (PageMaps.Writer m = new PageMaps.Writer(new ByteArrayOutputStream());
                PageDeltas.Writer w = new PageDeltas.Writer(deltas, m, new PageVerification(false, 0))) {
            long[] parent = hashes(Arrays.copyOf(now, 2 * PAGE));
            assertThat(w.write(TarWriter.Item.of(file, NAME), parent).pages()).isEqualTo(3);
        }
    }

    @Test
    @Timeout(value = 120, unit = TimeUnit.SECONDS, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
    void aFileListNamingThousandsOfMissingDeltaArtifactsStartsNoThreadForEach() throws IOException {
        chain(pages(2, 1), pages(2, 2), null);
        int forged = 3000;
        editFileList(list -> {
            StringBuilder b = new StringBuilder(list);
            for (int i = 1; i <= forged; i++) {
                b.append(new String(
                        line("base/5/" + (20000 + i), PAGE, "00000000", FULL, INCR + "/pages-" + i + ".bin"),
                        StandardCharsets.UTF_8));
            }
            return b.toString();
        });
        ThreadMXBean mx = (ThreadMXBean) ManagementFactory.getThreadMXBean();
        int before = mx.getThreadCount();
        mx.resetPeakThreadCount();
        assertThatThrownBy(() -> PhysicalRestore.materialize(context(), stagingDir()))
                .isInstanceOf(BackupNotFoundException.class);
        assertThat(mx.getPeakThreadCount() - before)
                .as("threads started at once for a forged file list")
                .isLessThan(100);
    }

    // --- the chain: a full backup with the old file, an incremental with its page deltas ---

    /** A paged file given a negative size by the file list: refused as damaged, not with a JVM exception's words. */
    @Test
    void aNegativeSizeForAPagedFileIsRefusedAsDamaged() throws IOException {
        chain(pages(2, 1), pages(2, 2), null);
        editFileList(list -> list.replace(NAME + "\t" + (2 * PAGE) + "\t", NAME + "\t-16384\t"));
        assertThatThrownBy(this::restore)
                .isInstanceOf(CorruptDataException.class)
                .hasMessageContaining(NAME)
                .hasMessageContaining("negative size");
    }

    /**
     * A file list naming tens of thousands of page deltas for one file: the chain's order was
     * worked out from every earlier delta of each (quadratic in time and memory: the restore ran
     * out of heap); now from neighbours only, and the restore fails before it reads anything when
     * the list names a backup the restored one does not depend on.
     */
    @Test
    @Timeout(value = 30, unit = TimeUnit.SECONDS, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
    void aFileListNamingTensOfThousandsOfDeltasForOneFileFailsAtOnce() throws IOException {
        chain(pages(2, 1), pages(2, 2), null);
        StringBuilder deltas = new StringBuilder();
        for (int i = 0; i < 40_000; i++) {
            deltas.append(i == 0 ? "" : ",").append("B").append(i).append("/pages-0.bin");
        }
        editFileList(list -> list.replace(INCR + "/pages-0.bin", deltas.toString()));
        assertThatThrownBy(this::restore)
                .isInstanceOf(CorruptDataException.class)
                .hasMessageContaining("names page deltas of backup B")
                .hasMessageContaining("which it does not depend on");
    }

    @Test
    void theChainOrderFollowsEachFilesDeltasAndRefusesACircle() {
        FileList.FileEntry one = entry("a", "B1/pages-0.bin", "B3/pages-0.bin");
        FileList.FileEntry two = entry("b", "B2/pages-0.bin", "B3/pages-0.bin", "B4/pages-1.bin");
        FileList.FileEntry three = entry("c", "B1/pages-0.bin", "B2/pages-0.bin");
        assertThat(PhysicalRestore.chainOrder(List.of(one, two, three))).containsExactly("B1", "B2", "B3", "B4");
        assertThatThrownBy(() -> PhysicalRestore.chainOrder(List.of(
                        entry("a", "B1/pages-0.bin", "B2/pages-0.bin"),
                        entry("b", "B2/pages-0.bin", "B1/pages-0.bin"))))
                .isInstanceOf(CorruptDataException.class)
                .hasMessageContaining("circle");
    }

    private static FileList.FileEntry entry(String name, String... deltas) {
        return new FileList.FileEntry(name, 0, 0, "00000000", FULL, "data-0.tar", List.of(deltas));
    }

    /**
     * A link planted by a backup's data tar where the restore writes its own file (here the
     * label): the restore wrote through it, outside its destination, and made the file there
     * private. Now the data files are refused before the restore writes its own.
     */
    @Test
    void aLinkPlantedWhereTheRestoreWritesItsOwnFileIsRefused() throws IOException {
        for (String at : List.of("backup_label", "postgresql.auto.conf", "global", "pg_wal", "pg_tblspc/16400")) {
            Path outside = Files.createDirectories(dir.resolve("outside-" + System.nanoTime()));
            Path target = Files.writeString(outside.resolve("authorized_keys"), "keep");
            Path link = at.equals("backup_label") || at.equals("postgresql.auto.conf") ? target : outside;
            restorableChain(tarWithLink(at, link.toString()), "attacker's bytes");
            Path dest = dir.resolve("dest-" + System.nanoTime());

            assertThatThrownBy(() -> PhysicalRestore.into(context(), dest, List.of("# recovery"), Map.of(), null, 1))
                    .as(at)
                    .isInstanceOf(UnsafeArchiveException.class)
                    .hasMessageContaining(at)
                    .hasMessageContaining("restore another one");
            assertThat(Files.readString(target)).as(at).isEqualTo("keep");
            try (var left = Files.list(outside)) {
                assertThat(left.toList()).as(at).containsExactly(target);
            }
            assertThat(Files.getPosixFilePermissions(target)).as(at).contains(PosixFilePermission.OTHERS_READ);
            assertThat(dest).as(at).doesNotExist();
        }
    }

    /**
     * A forged backup's links where the restored server writes (a relation file, the options
     * file it writes at start, a directory of its own): the restore made them, and PostgreSQL,
     * started there, wrote through them as its user wherever they led. A link at the top to a
     * file the server only reads (a certificate) stays, as a real data directory may hold one.
     */
    @Test
    void aLinkPlantedWhereTheRestoredServerWritesIsRefused() throws IOException {
        for (String at : List.of("base/5/16385", "postmaster.opts", "pg_xact", "pg_logical/snapshots")) {
            Path outside = Files.createDirectories(dir.resolve("outside-" + System.nanoTime()));
            Path target = Files.writeString(outside.resolve(".bashrc"), "keep");
            restorableChain(tarWithLink(at, target.toString()), "label");
            Path dest = dir.resolve("dest-" + System.nanoTime());

            assertThatThrownBy(() -> PhysicalRestore.into(context(), dest, List.of("# recovery"), Map.of(), null, 1))
                    .as(at)
                    .isInstanceOf(UnsafeArchiveException.class)
                    .hasMessageContaining(at)
                    .hasMessageContaining("restore another one");
            assertThat(dest).as(at).doesNotExist();
        }
        Path cert = Files.writeString(dir.resolve("server.crt"), "certificate");
        restorableChain(tarWithLink("server.crt", cert.toString()), "label");
        Path dest = dir.resolve("dest-crt");
        PhysicalRestore.into(context(), dest, List.of("# recovery"), Map.of(), null, 1);
        assertThat(Files.readSymbolicLink(dest.resolve("server.crt"))).isEqualTo(cert);
    }

    /**
     * A synthetic full rebuilds the chain and stores what it rebuilt: a tablespace link planted
     * by a forged tar pulled a directory of the host into the new backup (which whoever can read
     * the repository reads). The rebuild now refuses it.
     */
    @Test
    void aTablespaceLinkPlantedByAForgedTarIsRefusedBeforeAnythingIsScanned() throws IOException {
        chain(pages(2, 1), pages(2, 2), null);
        Path outside = Files.createDirectories(dir.resolve("host-secrets"));
        Files.writeString(outside.resolve("id_rsa"), "secret");
        artifacts.get(INCR).put("data-0.tar", tarWithLink("pg_tblspc/16400", outside.toString()));
        manifests.put(INCR, manifest(INCR, FULL));
        assertThatThrownBy(this::restore)
                .isInstanceOf(UnsafeArchiveException.class)
                .hasMessageContaining("pg_tblspc/16400");
    }

    /** A tablespace OID with ".." (from the manifest): a sibling of the destination was moved away and linked. */
    @Test
    void aTablespaceOidThatIsNoNumberIsRefused() throws IOException {
        restorableChain(tar(null, null), "label");
        Path victim = Files.createDirectories(dir.resolve("victim"));
        Files.writeString(victim.resolve("secret"), "keep");
        Path loot = dir.resolve("loot");
        assertThatThrownBy(() -> PhysicalRestore.into(
                        context(), dir.resolve("dest"), List.of(), Map.of("../../victim", loot), null, 1))
                .isInstanceOf(CorruptDataException.class)
                .hasMessageContaining("no tablespace OID");
        assertThat(Files.isSymbolicLink(victim)).isFalse();
        assertThat(victim.resolve("secret")).hasContent("keep");
        assertThat(loot).doesNotExist();
    }

    /**
     * A tablespace location the manifest records (which whoever writes the repository can
     * forge) was deleted whole by a restore with force, whatever it held: now such a location
     * is replaced only when it holds nothing but PostgreSQL's version directories.
     */
    @Test
    void aRecordedTablespaceLocationIsReplacedUnderForceOnlyWhenItHoldsJustATablespace() throws IOException {
        force = true;
        Path home = Files.createDirectories(dir.resolve("home"));
        Files.writeString(home.resolve("precious"), "keep");
        restorableChain(tarWithDirs("pg_tblspc/16400/", "pg_tblspc/16400/PG_15_1/"), "label");
        assertThatThrownBy(() ->
                        PhysicalRestore.into(context(), dir.resolve("dest"), List.of(), Map.of("16400", home), null, 1))
                .isInstanceOf(DestinationNotEmptyException.class)
                .hasMessageContaining("holds more than a PostgreSQL tablespace")
                .hasMessageContaining("setting 'tablespace-16400'");
        assertThat(home.resolve("precious")).hasContent("keep");

        Path old = Files.createDirectories(dir.resolve("old-ts").resolve("PG_15_1"));
        Files.writeString(old.resolve("stale"), "old");
        PhysicalRestore.into(context(), dir.resolve("dest"), List.of(), Map.of("16400", old.getParent()), null, 1);
        assertThat(old.resolve("stale")).doesNotExist();
        assertThat(dir.resolve("dest/pg_tblspc/16400")).isSymbolicLink();
        assertThat(dir.resolve("dest/tablespace_map")).hasContent("16400 " + old.getParent() + "\n");
    }

    /** Every tablespace is checked before any location is touched: a bad one after a good one leaves both as they were. */
    @Test
    void tablespaceLocationsAreAllCheckedBeforeAnyIsTouched() throws IOException {
        restorableChain(tarWithDirs("pg_tblspc/16400/", "pg_tblspc/16401/"), "label");
        Path first = dir.resolve("first");
        Map<String, Path> locations = new LinkedHashMap<>();
        locations.put("16400", first);
        locations.put("16401", dir.resolve("dest").resolve("inside"));
        assertThatThrownBy(() -> PhysicalRestore.into(context(), dir.resolve("dest"), List.of(), locations, null, 1))
                .isInstanceOf(ConfigException.class)
                .hasMessageContaining("overlaps");
        assertThat(first).doesNotExist();
        for (Path bad : List.of(Path.of("relative/ts"), dir.resolve("a/../b"), dir.resolve("new\nline"))) {
            assertThatThrownBy(() -> PhysicalRestore.into(
                            context(), dir.resolve("dest"), List.of(), Map.of("16400", bad), null, 1))
                    .as(bad.toString())
                    .isInstanceOf(ConfigException.class)
                    .hasMessageContaining("absolute, normalised path without control characters");
        }
    }

    /** What was put at the destination while a restore ran stays, unless the restore replaces it (force). */
    @Test
    void aDestinationFilledWhileTheRestoreRanIsNotReplacedWithoutForce() throws IOException {
        Path dest = Files.createDirectories(dir.resolve("dest"));
        StagedDirectory data = StagedDirectory.create(dest, "the data directory");
        Files.writeString(data.staging().resolve("PG_VERSION"), "15");
        Files.writeString(dest.resolve("theirs"), "keep");
        assertThatThrownBy(() -> PhysicalRestore.install(List.of(data), false))
                .isInstanceOf(DestinationNotEmptyException.class)
                .hasMessageContaining("was filled while the restore ran");
        assertThat(dest.resolve("theirs")).hasContent("keep");
        PhysicalRestore.install(List.of(data), true);
        data.finish();
        assertThat(dest.resolve("PG_VERSION")).hasContent("15");
        assertThat(dest.resolve("theirs")).doesNotExist();
        try (Stream<Path> left = Files.list(dest)) {
            assertThat(left.toList()).containsExactly(dest.resolve("PG_VERSION"));
        }
        Path later = dir.resolve("later");
        StagedDirectory beside = StagedDirectory.create(later, "the data directory");
        Files.writeString(beside.staging().resolve("PG_VERSION"), "15");
        Files.createDirectories(later); // made empty meanwhile: taken as free
        PhysicalRestore.install(List.of(beside), false);
        beside.finish();
        assertThat(later.resolve("PG_VERSION")).hasContent("15");
    }

    /** A restore killed (kill -9) leaves its staging copy; the next restore to the same place removes it. */
    @Test
    void aStagingCopyLeftByAKilledRestoreIsRemovedByTheNextOne() throws IOException {
        restorableChain(tar(null, null), "label");
        Path dest = dir.resolve("dest");
        Path left = Files.createDirectories(dir.resolve(".dest.drkit-restore-" + UUID.randomUUID()));
        Files.write(left.resolve("big"), new byte[1 << 20]);
        Files.setLastModifiedTime(left, FileTime.from(Instant.now().minusSeconds(2 * 86400)));
        Path recent = Files.createDirectories(dir.resolve(".dest.drkit-restore-" + UUID.randomUUID()));

        PhysicalRestore.into(context(), dest, List.of(), Map.of(), null, 1);

        assertThat(dest.resolve(NAME)).exists();
        assertThat(left).as("a two-day-old staging copy of a killed restore").doesNotExist();
        assertThat(recent).as("perhaps another restore's, still running").exists();
    }

    /** The chain, its incremental with this data tar and the label and control file a restore into a directory needs. */
    private void restorableChain(byte[] dataTar, String label) throws IOException {
        chain(pages(2, 1), pages(2, 2), null);
        artifacts.get(INCR).put("data-0.tar", dataTar);
        artifacts.get(INCR).put("backup_label", label.getBytes(StandardCharsets.UTF_8));
        artifacts.get(INCR).put("pg_control", new byte[8192]);
        manifests.put(INCR, manifest(INCR, FULL));
    }

    private static byte[] tarWithDirs(String... dirs) throws IOException {
        ByteArrayOutputStream tar = new ByteArrayOutputStream();
        try (TarArchiveOutputStream out = new TarArchiveOutputStream(tar)) {
            for (String d : Stream.concat(Stream.of("base/", "base/5/", "pg_tblspc/"), Stream.of(dirs))
                    .toList()) {
                out.putArchiveEntry(new TarArchiveEntry(d));
                out.closeArchiveEntry();
            }
        }
        return tar.toByteArray();
    }

    private static byte[] tarWithLink(String name, String to) throws IOException {
        ByteArrayOutputStream tar = new ByteArrayOutputStream();
        try (TarArchiveOutputStream out = new TarArchiveOutputStream(tar)) {
            for (String d : List.of("base/", "base/5/", "pg_tblspc/")) {
                out.putArchiveEntry(new TarArchiveEntry(d));
                out.closeArchiveEntry();
            }
            TarArchiveEntry link = new TarArchiveEntry(name, TarConstants.LF_SYMLINK);
            link.setLinkName(to);
            out.putArchiveEntry(link);
            out.closeArchiveEntry();
        }
        return tar.toByteArray();
    }

    /** Builds FULL (holding {@code old}) and INCR (page deltas to {@code now}); {@code mapped} forges FULL's map. */
    private void chain(byte[] old, byte[] now, byte[] mapped) throws IOException {
        artifacts.clear();
        manifests.clear();
        Map<String, byte[]> full = new LinkedHashMap<>();
        full.put("data-0.tar", tar(NAME, old));
        full.put("files.tsv", line(NAME, old.length, crc(old), FULL, null));
        artifacts.put(FULL, full);
        Path file = Files.write(dir.resolve("now-" + System.nanoTime()), now);
        ByteArrayOutputStream deltas = new ByteArrayOutputStream();
        PageDeltas.Stored stored;
        try (PageMaps.Writer m = new PageMaps.Writer(new ByteArrayOutputStream());
                PageDeltas.Writer w = new PageDeltas.Writer(deltas, m, new PageVerification(false, 0))) {
            stored = w.write(TarWriter.Item.of(file, NAME), hashes(mapped == null ? old : mapped));
        }
        Map<String, byte[]> incr = new LinkedHashMap<>();
        incr.put("data-0.tar", tar(null, null));
        incr.put("pages-0.bin", deltas.toByteArray());
        incr.put("files.tsv", line(NAME, now.length, stored.crc32c(), FULL, INCR + "/pages-0.bin"));
        artifacts.put(INCR, incr);
        manifests.put(FULL, manifest(FULL, null));
        manifests.put(INCR, manifest(INCR, FULL));
    }

    /** Rewrites INCR's file list. */
    private void editFileList(UnaryOperator<String> edit) {
        String list = new String(artifacts.get(INCR).get("files.tsv"), StandardCharsets.UTF_8);
        artifacts.get(INCR).put("files.tsv", edit.apply(list).getBytes(StandardCharsets.UTF_8));
    }

    private BackupManifest manifest(String id, String parent) {
        return manifest(id, parent, artifacts.get(id).keySet(), Map.of());
    }

    /** A manifest of target pg with these artifacts (sizes and checksums left empty). */
    static BackupManifest manifest(
            String id, String parent, Collection<String> artifacts, Map<String, Object> metadata) {
        List<ArtifactInfo> infos = new ArrayList<>();
        for (String a : artifacts) {
            infos.add(new ArtifactInfo(a, a, 0, 0, "0", null, List.of(), List.of()));
        }
        return new BackupManifest(
                2,
                id,
                "pg",
                "postgres",
                parent == null ? "full" : "incremental",
                parent,
                List.of(),
                Instant.EPOCH,
                Instant.EPOCH,
                "test",
                "host",
                infos,
                metadata);
    }

    private Path restore() throws IOException {
        Path staging = stagingDir();
        PhysicalRestore.materialize(context(), staging);
        return staging;
    }

    private Path stagingDir() throws IOException {
        return Files.createDirectories(dir.resolve("staging-" + System.nanoTime()));
    }

    /** Reads INCR and, like the restore operation, only the backups it depends on. */
    private RestoreContext context() {
        BackupManifest head = manifests.get(INCR);
        return new RestoreContext() {
            @Override
            public BackupManifest manifest() {
                return head;
            }

            @Override
            public InputStream openArtifact(String name) {
                byte[] bytes = artifacts.get(INCR).get(name);
                if (bytes == null) {
                    throw new BackupNotFoundException("backup " + INCR + " has no artifact '" + name + "'");
                }
                return new ByteArrayInputStream(bytes);
            }

            @Override
            public InputStream openArtifact(String backupId, String name) {
                if (!backupId.equals(head.parent()) && !head.dependsOn().contains(backupId)) {
                    throw new BackupNotFoundException(backupId + " is not a dependency of backup " + head.id());
                }
                byte[] bytes = artifacts.get(backupId).get(name);
                if (bytes == null) {
                    throw new BackupNotFoundException("backup " + backupId + " has no artifact '" + name + "'");
                }
                return new ByteArrayInputStream(bytes);
            }

            @Override
            public boolean force() {
                return force;
            }

            @Override
            public Settings options() {
                return Settings.empty();
            }
        };
    }

    private static byte[] line(String name, long size, String crc, String backup, String delta) {
        String l = name + "\t" + size + "\t1000\t" + crc + "\t" + backup + "\tdata-0.tar"
                + (delta == null ? "" : "\t" + delta) + "\n";
        return l.getBytes(StandardCharsets.UTF_8);
    }

    private static byte[] tar(String name, byte[] bytes) throws IOException {
        ByteArrayOutputStream tar = new ByteArrayOutputStream();
        try (TarArchiveOutputStream out = new TarArchiveOutputStream(tar)) {
            out.putArchiveEntry(new TarArchiveEntry("base/"));
            out.closeArchiveEntry();
            out.putArchiveEntry(new TarArchiveEntry("base/5/")); // every backup's tars hold the directories
            out.closeArchiveEntry();
            if (name != null) {
                TarArchiveEntry e = new TarArchiveEntry(name);
                e.setSize(bytes.length);
                out.putArchiveEntry(e);
                out.write(bytes);
                out.closeArchiveEntry();
            }
        }
        return tar.toByteArray();
    }

    private static long[] hashes(byte[] bytes) {
        PageMaps.Hasher h = new PageMaps.Hasher();
        long[] out = new long[bytes.length / PAGE];
        for (int p = 0; p < out.length; p++) {
            out[p] = h.hash(bytes, p * PAGE);
        }
        return out;
    }
}
