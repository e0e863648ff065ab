package dev.drkit.postgres;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.sun.management.ThreadMXBean;
import dev.drkit.ArtifactInfo;
import dev.drkit.BackupManifest;
import dev.drkit.BackupNotFoundException;
import dev.drkit.ConfigException;
import dev.drkit.DestinationNotEmptyException;
import dev.drkit.DrException;
import dev.drkit.Settings;
import dev.drkit.UnsafeArchiveException;
import dev.drkit.spi.RestoreContext;
import dev.drkit.testkit.Prerequisites;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.SequenceInputStream;
import java.lang.management.ManagementFactory;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.function.Supplier;
import java.util.stream.Stream;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveOutputStream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Where a physical restore puts the data directory and the tablespaces when the destination is
 * not a new directory on its parent's file system: an empty mounted volume (the usual way a data
 * directory is provisioned), a volume holding an old cluster a forced restore replaces, a
 * tablespace location that is a mount point, a destination that is the operator's link, and
 * what a killed restore left there; and what a backup forged by whoever can write the
 * repository may name: places outside the destination, links, files of any size.
 */
class PhysicalRestorePlacementTest {
    private static final String ID = "20261202T010000Z-aaaaaa";
    private static final String NAME = "base/5/16384";
    private static final byte[] PAGES = "restored relation".getBytes(StandardCharsets.UTF_8);

    @TempDir
    Path dir;

    private final Tmpfs tmpfs = new Tmpfs();
    private final Map<String, byte[]> artifacts = new LinkedHashMap<>();
    /** Artifacts made as they are read (too big to hold), by name. */
    private final Map<String, Supplier<InputStream>> streamed = new LinkedHashMap<>();

    private boolean force;
    private Settings options = Settings.empty();

    @AfterEach
    void unmount() throws Exception {
        tmpfs.unmountAll();
    }

    /** The usual disaster-recovery destination: a new, empty volume mounted where the data directory goes. */
    @Test
    void aRestoreIntoAnEmptyMountedVolumeFillsTheVolume() throws Exception {
        backup(tar("base/", "base/5/"));
        Path volume = mountTmpfs(dir.resolve("volume"), "64m");

        PhysicalRestore.into(context(), volume, List.of("# recovery"), Map.of(), null, 1);

        assertThat(volume.resolve(NAME)).hasBinaryContent(PAGES);
        assertThat(volume.resolve("global/pg_control")).exists();
        assertThat(volume.resolve("backup_label")).hasContent("label");
        assertThat(volume.resolve("recovery.signal")).exists();
        assertThat(device(volume)).as("still the mounted volume").isNotEqualTo(device(dir));
        assertThat(Files.getPosixFilePermissions(volume)).isEqualTo(PosixFilePermissions.fromString("rwx------"));
        assertThat(names(volume)).as("nothing of the restore's own left").noneMatch(n -> n.contains("drkit"));
        assertThat(names(dir)).noneMatch(n -> n.contains("drkit"));
    }

    /** A forced restore over a volume holding an old cluster: the volume then holds the restored one only. */
    @Test
    void aForcedRestoreOverAMountedVolumeReplacesWhatItHeld() throws Exception {
        backup(tar("base/", "base/5/"));
        Path volume = mountTmpfs(dir.resolve("volume"), "64m");
        Files.writeString(Files.createDirectories(volume.resolve("base/1")).resolve("old"), "old");
        Files.writeString(volume.resolve("postmaster.opts"), "old");
        force = true;

        PhysicalRestore.into(context(), volume, List.of(), Map.of(), null, 1);

        assertThat(volume.resolve(NAME)).hasBinaryContent(PAGES);
        assertThat(volume.resolve("base/1")).doesNotExist();
        assertThat(volume.resolve("postmaster.opts")).doesNotExist();
        assertThat(device(volume)).isNotEqualTo(device(dir));
        assertThat(names(volume)).noneMatch(n -> n.contains("drkit"));
    }

    /**
     * A forced restore that cannot put the new cluster in place (here the old cluster's
     * {@code pg_wal} is a volume of its own, which no rename moves) deleted the old cluster
     * first and then failed: now nothing of it is removed before the new one is in.
     */
    @Test
    void aForcedRestoreThatCannotPlaceTheClusterKeepsTheOldOne() throws Exception {
        backup(tar("base/", "base/5/"));
        Path volume = mountTmpfs(dir.resolve("volume"), "64m");
        Files.writeString(Files.createDirectories(volume.resolve("base/1")).resolve("old"), "old");
        Path wal = mountTmpfs(volume.resolve("pg_wal"), "16m");
        Files.writeString(wal.resolve("000000010000000000000001"), "wal");
        force = true;

        assertThatThrownBy(() -> PhysicalRestore.into(context(), volume, List.of(), Map.of(), null, 1))
                .isInstanceOf(DrException.class)
                .hasMessageContaining("pg_wal")
                .hasMessageContaining("nothing was removed");

        assertThat(volume.resolve("base/1/old")).hasContent("old");
        assertThat(wal.resolve("000000010000000000000001")).hasContent("wal");
        assertThat(volume.resolve(NAME)).doesNotExist();
        assertThat(names(volume)).noneMatch(n -> n.contains("drkit"));
    }

    /**
     * A full volume: the restore fails while it writes, and what stood there stays (the restore
     * needs room for the new cluster beside the old one until it is in place).
     */
    @Test
    void aRestoreThatFillsTheVolumeFailsAndLeavesTheOldClusterAsItWas() throws Exception {
        byte[] big = new byte[3 << 20];
        backup(tar("base/", "base/5/"), "base/5/16385", big);
        Path volume = mountTmpfs(dir.resolve("volume"), "2m");
        Files.writeString(Files.createDirectories(volume.resolve("base/1")).resolve("old"), "old");
        force = true;

        assertThatThrownBy(() -> PhysicalRestore.into(context(), volume, List.of(), Map.of(), null, 1))
                .isInstanceOf(IOException.class)
                .hasMessageContaining("No space left");

        assertThat(volume.resolve("base/1/old")).hasContent("old");
        assertThat(names(volume)).containsExactly("base");
    }

    /** A tablespace whose location is a mounted volume: its contents go onto the volume, which stays mounted. */
    @Test
    void aTablespaceLocationThatIsAMountPointIsFilled() throws Exception {
        backup(tar("base/", "base/5/", "pg_tblspc/", "pg_tblspc/16400/", "pg_tblspc/16400/PG_15_1/"));
        Path location = mountTmpfs(dir.resolve("fast"), "16m");
        Files.writeString(Files.createDirectories(location.resolve("PG_15_1")).resolve("stale"), "old");
        force = true;
        Path dest = dir.resolve("dest");

        PhysicalRestore.into(context(), dest, List.of(), Map.of("16400", location), null, 1);

        assertThat(dest.resolve("pg_tblspc/16400")).isSymbolicLink();
        assertThat(Files.readSymbolicLink(dest.resolve("pg_tblspc/16400"))).isEqualTo(location);
        assertThat(location.resolve("PG_15_1")).isDirectory();
        assertThat(location.resolve("PG_15_1/stale")).doesNotExist();
        assertThat(device(location)).isNotEqualTo(device(dir));
        assertThat(names(location)).containsExactly("PG_15_1");
        assertThat(dest.resolve("tablespace_map")).hasContent("16400 " + location + "\n");
    }

    /**
     * A restore killed (kill -9) while it filled an empty volume left its staging directory in
     * the volume; the next restore, not forced, takes the volume as the empty one it was.
     */
    @Test
    void aRestoreRunAgainAfterOneWasKilledInAVolumeFillsIt() throws Exception {
        backup(tar("base/", "base/5/"));
        Path volume = mountTmpfs(dir.resolve("volume"), "64m");
        Path left = Files.createDirectories(volume.resolve(".drkit-restore-" + UUID.randomUUID()));
        Files.write(left.resolve("big"), new byte[1 << 20]);
        Files.setLastModifiedTime(left, FileTime.from(Instant.now().minusSeconds(2 * 86400)));

        PhysicalRestore.into(context(), volume, List.of(), Map.of(), null, 1);

        assertThat(volume.resolve(NAME)).hasBinaryContent(PAGES);
        assertThat(left).as("the killed restore's staging").doesNotExist();
    }

    /**
     * A volume is mounted as root's, often open to all (a tmpfs: mode 1777): restored into as
     * root, the volume itself (which the restore does not make) takes the cluster's owner and a
     * mode PostgreSQL accepts for a data directory, as a directory the restore made would.
     */
    @Test
    void aMountedVolumeTakesTheClusterOwnerAndAPrivateMode() throws Exception {
        requireRoot("the owner of a restore as root");
        ByteArrayOutputStream tar = new ByteArrayOutputStream();
        try (TarArchiveOutputStream out = new TarArchiveOutputStream(tar)) {
            byte[] version = "15\n".getBytes(StandardCharsets.UTF_8);
            TarArchiveEntry e = new TarArchiveEntry("PG_VERSION");
            e.setSize(version.length);
            out.putArchiveEntry(e);
            out.write(version);
            out.closeArchiveEntry();
        }
        backup(tar.toByteArray());
        options = Settings.builder().set("cluster-owner", "nobody").build();
        Path volume = mountTmpfs(dir.resolve("volume"), "16m");
        assertThat(Files.getOwner(volume).getName()).isEqualTo("root");

        PhysicalRestore.into(context(), volume, List.of(), Map.of(), null, 1);

        assertThat(Files.getOwner(volume).getName()).isEqualTo("nobody");
        assertThat(Files.getOwner(volume.resolve("PG_VERSION")).getName()).isEqualTo("nobody");
        assertThat(Files.getPosixFilePermissions(volume)).isEqualTo(PosixFilePermissions.fromString("rwx------"));
    }

    /**
     * Not run as root, a restore into a directory of another user (a volume provisioned for the
     * database's user) could not give it to the cluster's owner: it failed once everything was
     * restored, when the tree was placed. It is now refused before anything is restored.
     */
    @Test
    void aDirectoryOfAnotherUserIsRefusedBeforeAnythingIsRestoredWhenNotRunAsRoot() throws Exception {
        requireRoot("gives a directory to another user");
        Path volume = Files.createDirectories(dir.resolve("volume"));
        Files.setOwner(
                volume, volume.getFileSystem().getUserPrincipalLookupService().lookupPrincipalByName("nobody"));

        assertThatThrownBy(() -> StagedDirectory.create(volume, "the data directory", false))
                .isInstanceOf(ConfigException.class)
                .hasMessageContaining("belongs to user nobody")
                .hasMessageContaining("setting 'cluster-owner'");

        assertThat(names(volume)).isEmpty();
        assertThat(StagedDirectory.create(volume, "the data directory", true).staging())
                .as("as root it is taken")
                .isDirectory();
    }

    /** The operator's layout, a link where the data directory goes to an empty volume: filled through the link, which stays. */
    @Test
    void aDestinationThatIsALinkToAnEmptyDirectoryIsFilledThroughIt() throws Exception {
        backup(tar("base/", "base/5/"));
        Path volume = Files.createDirectories(dir.resolve("volume"));
        Path data = Files.createSymbolicLink(dir.resolve("data"), volume);

        PhysicalRestore.into(context(), data, List.of(), Map.of(), null, 1);

        assertThat(data).isSymbolicLink();
        assertThat(volume.resolve(NAME)).hasBinaryContent(PAGES);
        assertThat(names(dir)).containsExactlyInAnyOrder("data", "volume");
    }

    /**
     * A link planted where the data directory goes, leading to someone's data: a forced restore
     * must not replace that data through it (nor remove the link and fill the parent's disk).
     */
    @Test
    void aForcedRestoreDoesNotReplaceDataThroughALinkAtTheDestination() throws Exception {
        backup(tar("base/", "base/5/"));
        Path victim = Files.createDirectories(dir.resolve("victim"));
        Files.writeString(victim.resolve("precious"), "keep");
        Path data = Files.createSymbolicLink(dir.resolve("data"), victim);
        force = true;

        assertThatThrownBy(() -> PhysicalRestore.into(context(), data, List.of(), Map.of(), null, 1))
                .isInstanceOf(DestinationNotEmptyException.class)
                .hasMessageContaining("symbolic link")
                .hasMessageContaining("setting 'to'");

        assertThat(data).isSymbolicLink();
        assertThat(victim.resolve("precious")).hasContent("keep");
        assertThat(names(victim)).containsExactly("precious");
    }

    /**
     * A forged backup records a tablespace at a place of its choosing (one that does not exist,
     * so no check of what stands there applies) and puts any file in the tablespace's data: the
     * restore wrote it there, outside its destination. A tablespace holds only PostgreSQL's
     * version directories, and anything else is now refused before the location is made.
     */
    @Test
    void aTablespaceHoldingMoreThanVersionDirectoriesIsRefusedBeforeItsLocationIsMade() throws Exception {
        ByteArrayOutputStream tar = new ByteArrayOutputStream();
        try (TarArchiveOutputStream out = new TarArchiveOutputStream(tar)) {
            for (String d : List.of("base/", "base/5/", "pg_tblspc/", "pg_tblspc/16400/", "pg_tblspc/16400/PG_15_1/")) {
                out.putArchiveEntry(new TarArchiveEntry(d));
                out.closeArchiveEntry();
            }
            byte[] key = "ssh-ed25519 AAAA attacker".getBytes(StandardCharsets.UTF_8);
            TarArchiveEntry e = new TarArchiveEntry("pg_tblspc/16400/authorized_keys");
            e.setSize(key.length);
            out.putArchiveEntry(e);
            out.write(key);
            out.closeArchiveEntry();
        }
        backup(tar.toByteArray());
        Path ssh = dir.resolve("home/.ssh");
        Path dest = dir.resolve("dest");

        assertThatThrownBy(() -> PhysicalRestore.into(context(), dest, List.of(), Map.of("16400", ssh), null, 1))
                .isInstanceOf(UnsafeArchiveException.class)
                .hasMessageContaining("tablespace 16400")
                .hasMessageContaining("restore another one");

        assertThat(ssh).doesNotExist();
        assertThat(dest).doesNotExist();
    }

    /**
     * The backup's own tablespace map was copied into the restored cluster when the backup
     * records no tablespace: PostgreSQL, recovering, links every tablespace the map names where
     * it says, so a forged map sent the recovery's writes anywhere. The restore writes the map
     * of the locations it checked, or none.
     */
    @Test
    void aTablespaceMapOfTheBackupIsNotRestored() throws Exception {
        backup(tar("base/", "base/5/"));
        artifacts.put("tablespace_map", ("16400 " + dir.resolve("outside") + "\n").getBytes(StandardCharsets.UTF_8));
        Path dest = dir.resolve("dest");

        PhysicalRestore.into(context(), dest, List.of(), Map.of(), null, 1);

        assertThat(dest.resolve(NAME)).hasBinaryContent(PAGES);
        assertThat(dest.resolve("tablespace_map")).doesNotExist();
    }

    /**
     * A forged backup's {@code postgresql.auto.conf} may be of any size: the restore read it
     * whole into memory (twice over) to append the recovery settings; it now appends them.
     */
    @Test
    void aHugePostgresqlAutoConfIsNotReadIntoMemory() throws Exception {
        long size = 64L << 20;
        backup(tar("base/", "base/5/"));
        streamed.put("data-1.tar", () -> lazyTar("postgresql.auto.conf", size));
        Path dest = dir.resolve("dest");
        ThreadMXBean threads = (ThreadMXBean) ManagementFactory.getThreadMXBean();
        long before = threads.getCurrentThreadAllocatedBytes();

        PhysicalRestore.into(context(), dest, List.of("restore_command = 'x'"), Map.of(), null, 1);

        long allocated = threads.getCurrentThreadAllocatedBytes() - before;
        assertThat(allocated).as("bytes allocated by the restoring thread").isLessThan(size / 4);
        Path auto = dest.resolve("postgresql.auto.conf");
        String tail = "\n# added by drkit restore of backup " + ID + "\nrestore_command = 'x'\n";
        assertThat(Files.size(auto)).isEqualTo(size + tail.length());
        try (FileChannel ch = FileChannel.open(auto)) {
            ByteBuffer end = ByteBuffer.allocate(tail.length());
            ch.read(end, size);
            assertThat(new String(end.array(), StandardCharsets.UTF_8)).isEqualTo(tail);
        }
    }

    /**
     * A tablespace location whose path reads as outside the destination but leads into it through
     * a link: the lexical check let it through, and the tablespace was made inside the data
     * directory. Locations are now compared where they really are.
     */
    @Test
    void aTablespaceLocationReachedThroughALinkIntoTheDestinationOverlapsIt() throws Exception {
        backup(tar("base/", "base/5/", "pg_tblspc/", "pg_tblspc/16400/", "pg_tblspc/16400/PG_15_1/"));
        Path dest = Files.createDirectories(dir.resolve("dest"));
        Path alias = Files.createSymbolicLink(dir.resolve("alias"), dest);

        assertThatThrownBy(() ->
                        PhysicalRestore.into(context(), dest, List.of(), Map.of("16400", alias.resolve("ts")), null, 1))
                .isInstanceOf(ConfigException.class)
                .hasMessageContaining("overlaps");

        assertThat(names(dest)).isEmpty();
    }

    /** A tablespace location that is a link to an empty directory (a faster disk): filled through it, and the link stays. */
    @Test
    void aTablespaceLocationThatIsALinkToAnEmptyDirectoryIsFilledThroughIt() throws Exception {
        backup(tar("base/", "base/5/", "pg_tblspc/", "pg_tblspc/16400/", "pg_tblspc/16400/PG_15_1/"));
        Path fast = Files.createDirectories(dir.resolve("ssd/ts"));
        Path location = Files.createSymbolicLink(dir.resolve("ts"), fast);
        Path dest = dir.resolve("dest");

        PhysicalRestore.into(context(), dest, List.of(), Map.of("16400", location), null, 1);

        assertThat(location).isSymbolicLink();
        assertThat(fast.resolve("PG_15_1")).isDirectory();
        assertThat(Files.readSymbolicLink(dest.resolve("pg_tblspc/16400"))).isEqualTo(location);
        assertThat(dest.resolve("tablespace_map")).hasContent("16400 " + location + "\n");
    }

    /** A tar of one file of {@code size} zero bytes, made as it is read. */
    private static InputStream lazyTar(String name, long size) {
        TarArchiveEntry e = new TarArchiveEntry(name);
        e.setSize(size);
        byte[] header = new byte[512];
        e.writeEntryHeader(header);
        long padded = (size + 511) / 512 * 512;
        InputStream zeros = new InputStream() {
            private long left = padded + 1024; // the content, its padding, the end-of-archive blocks

            @Override
            public int read() {
                return left-- > 0 ? 0 : -1;
            }

            @Override
            public int read(byte[] b, int off, int len) {
                if (left <= 0) {
                    return -1;
                }
                int n = (int) Math.min(len, left);
                Arrays.fill(b, off, off + n, (byte) 0);
                left -= n;
                return n;
            }
        };
        return new SequenceInputStream(new ByteArrayInputStream(header), zeros);
    }

    /** Builds a full backup whose data tar holds these directories and {@link #NAME}, and {@code more} files. */
    private void backup(byte[] dataTar) {
        artifacts.clear();
        artifacts.put("data-0.tar", dataTar);
        artifacts.put("backup_label", "label".getBytes(StandardCharsets.UTF_8));
        artifacts.put("pg_control", new byte[8192]);
    }

    private void backup(byte[] dataTar, String name, byte[] content) throws IOException {
        backup(dataTar);
        artifacts.put("data-1.tar", tarOf(List.of(), name, content));
    }

    private static byte[] tar(String... dirs) throws IOException {
        return tarOf(List.of(dirs), NAME, PAGES);
    }

    private static byte[] tarOf(List<String> dirs, String name, byte[] content) throws IOException {
        ByteArrayOutputStream tar = new ByteArrayOutputStream();
        try (TarArchiveOutputStream out = new TarArchiveOutputStream(tar)) {
            for (String d : dirs) {
                out.putArchiveEntry(new TarArchiveEntry(d));
                out.closeArchiveEntry();
            }
            TarArchiveEntry e = new TarArchiveEntry(name);
            e.setSize(content.length);
            out.putArchiveEntry(e);
            out.write(content);
            out.closeArchiveEntry();
        }
        return tar.toByteArray();
    }

    private RestoreContext context() {
        List<ArtifactInfo> infos = new ArrayList<>();
        for (String a : Stream.concat(artifacts.keySet().stream(), streamed.keySet().stream())
                .toList()) {
            infos.add(new ArtifactInfo(a, a, 0, 0, "0", null, List.of(), List.of()));
        }
        BackupManifest manifest = new BackupManifest(
                2,
                ID,
                "pg",
                "postgres",
                "full",
                null,
                List.of(),
                Instant.EPOCH,
                Instant.EPOCH,
                "test",
                "host",
                infos,
                Map.of());
        return new RestoreContext() {
            @Override
            public BackupManifest manifest() {
                return manifest;
            }

            @Override
            public InputStream openArtifact(String name) {
                if (streamed.containsKey(name)) {
                    return streamed.get(name).get();
                }
                byte[] bytes = artifacts.get(name);
                if (bytes == null) {
                    throw new BackupNotFoundException("backup " + ID + " has no artifact '" + name + "'");
                }
                return new ByteArrayInputStream(bytes);
            }

            @Override
            public InputStream openArtifact(String backupId, String name) {
                throw new BackupNotFoundException(backupId + " is not a dependency of backup " + ID);
            }

            @Override
            public boolean force() {
                return force;
            }

            @Override
            public Settings options() {
                return options;
            }
        };
    }

    private Path mountTmpfs(Path at, String size) throws Exception {
        return tmpfs.mount(at, size);
    }

    private static Object device(Path p) throws IOException {
        return Files.getAttribute(p, "unix:dev", LinkOption.NOFOLLOW_LINKS);
    }

    private static List<String> names(Path dir) throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            return s.map(p -> p.getFileName().toString()).sorted().toList();
        }
    }

    /** Skips a test that needs root where this is not root; under CI=true (which runs as root) fails instead. */
    private static void requireRoot(String why) {
        Prerequisites.require(PgProcesses.root(), "root (" + why + ")");
    }
}
