package dev.drkit.postgres;

import dev.drkit.BackupManifest;
import dev.drkit.ConfigException;
import dev.drkit.CorruptDataException;
import dev.drkit.Settings;
import dev.drkit.spi.BackupContext;
import dev.drkit.spi.RestoreContext;
import dev.drkit.spi.support.FileTrees;
import dev.drkit.spi.support.PrivateScratch;
import dev.drkit.spi.support.TarWriter;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A synthetic full backup: the newest backup of the target, with the files and page deltas of
 * the backups it depends on, rebuilt in a private scratch directory (every rebuilt file checked
 * against its recorded CRC-32C) and stored again as a full backup, without reading the cluster.
 * It stands for the same moment as the backup it was built from (same label, start and stop,
 * same WAL), so restores and point-in-time recovery use it like that one, and the next
 * incremental builds on it: the chain a restore reads stays short while the cluster is only
 * ever read for incrementals. Needs free space the size of the cluster in the scratch area
 * (setting {@code scratch-dir}, else drkit's private directory under {@code java.io.tmpdir}).
 */
final class SyntheticFull {
    private static final Logger LOG = LoggerFactory.getLogger(SyntheticFull.class);
    /**
     * What the synthetic full takes over from the backup it is built from; the pages that backup
     * found damaged too: the synthetic full holds them as that backup read them and reads nothing
     * of the cluster, so as the newest backup it must not clear them from status.
     */
    private static final List<String> SAME_MOMENT = List.of(
            "serverVersion",
            "systemIdentifier",
            "dataDirectory",
            "walSegmentSize",
            "tablespaces",
            "dataChecksums",
            "timeline",
            "startLsn",
            "stopLsn",
            "walStart",
            "walStop",
            "startTime",
            "stopTime",
            "pageChecksumFailures",
            BackupManifest.SOURCE_CORRUPTION);

    private SyntheticFull() {}

    /**
     * Builds the synthetic full backup from the newest backup of the context's target, rebuilding
     * the cluster in a new private directory under {@code scratchDir} (default: drkit's private
     * temporary directory), which it removes again.
     */
    static void build(BackupContext context, int jobs, Optional<Path> scratchDir) throws IOException {
        BackupManifest head = context.previous()
                .orElseThrow(() -> new ConfigException("a synthetic full backup is built from the newest backup of "
                        + context.targetName() + ", and there is none; take a full backup first"));
        if (head.artifact(PostgresPhysicalTarget.FILE_LIST).isEmpty()) {
            throw new ConfigException("backup " + head.id() + " has no file list (a backup from an older drkit), so "
                    + "no synthetic full backup can be built from it; take a full backup instead");
        }
        long t0 = System.nanoTime();
        Path scratch = scratch(scratchDir, clusterSize(context, head));
        try {
            Path data = scratch.resolve("data");
            Files.createDirectory(
                    data, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
            Chain chain = new Chain(context, head);
            PhysicalRestore.materialize(chain, data);
            Files.createDirectories(data.resolve("global"));
            PhysicalRestore.copyArtifact(
                    chain,
                    PostgresPhysicalTarget.PG_CONTROL,
                    data.resolve("global").resolve("pg_control"));
            for (String key : SAME_MOMENT) {
                Object value = head.metadata().get(key);
                if (value != null) {
                    context.metadata(key, value);
                }
            }
            context.metadata("synthetic", true);
            context.metadata("builtFrom", head.id());
            context.metadata("chainLength", 0);
            List<TarWriter.Item> items = DataDirectoryScan.scan(data);
            FileList.Selection all = new FileList.Selection(items, Map.of(), Map.of());
            context.expectBytes(BaseBackup.total(items));
            Map<String, ParallelTarWriter.Stored> stored =
                    ParallelTarWriter.write(context, data, all, jobs, new PageVerification(false, 0));
            BaseBackup.writeText(
                    context,
                    PostgresPhysicalTarget.FILE_LIST,
                    FileList.format(FileList.entries(context.backupId(), all, stored, Map.of())));
            for (String name : List.of(PostgresPhysicalTarget.BACKUP_LABEL, PostgresPhysicalTarget.TABLESPACE_MAP)) {
                if (head.artifact(name).isPresent()) {
                    try (InputStream in = context.openArtifact(head, name);
                            OutputStream out = context.newArtifact(name)) {
                        in.transferTo(out);
                    }
                }
            }
            context.metadata(
                    "files",
                    items.stream()
                            .filter(i -> i.kind() == TarWriter.Item.Kind.FILE)
                            .count());
            context.metadata("bytes", BaseBackup.total(items));
            context.metadata("jobs", jobs);
            LOG.info(
                    "built a synthetic full backup of {} from backup {} and the {} it depends on in {} ms",
                    context.targetName(),
                    head.id(),
                    head.dependsOn().size() + (head.parent() == null ? 0 : 1),
                    (System.nanoTime() - t0) / 1_000_000);
        } finally {
            FileTrees.delete(scratch);
        }
    }

    /** The bytes of the files the cluster of backup {@code head} holds, from its file list. */
    private static long clusterSize(BackupContext context, BackupManifest head) throws IOException {
        try (InputStream in = context.openArtifact(head, PostgresPhysicalTarget.FILE_LIST)) {
            return FileList.parse(in).stream()
                    .mapToLong(FileList.FileEntry::size)
                    .sum();
        }
    }

    /** A new private directory (mode 0700, removed at exit at the latest) with room for {@code needed} bytes. */
    private static Path scratch(Optional<Path> scratchDir, long needed) throws IOException {
        if (scratchDir.isPresent() && !Files.isDirectory(scratchDir.get())) {
            throw new ConfigException("setting 'scratch-dir' names " + scratchDir.get() + ", which is not a "
                    + "directory; create it or give another place for the synthetic full backup's rebuilt cluster");
        }
        PrivateScratch area = scratchDir.isPresent()
                ? PrivateScratch.under(scratchDir.get(), "setting 'scratch-dir'")
                : PrivateScratch.current();
        checkRoom(area.directory(), needed, Files.getFileStore(area.directory()).getUsableSpace());
        return area.createDirectory("synthetic-");
    }

    /** Refuses to start a rebuild of {@code needed} bytes where only {@code usable} are free. */
    static void checkRoom(Path parent, long needed, long usable) {
        if (usable < needed) {
            throw new ConfigException("a synthetic full backup rebuilds the cluster (" + mib(needed) + " MiB) in "
                    + parent + ", which has " + mib(usable) + " MiB free; give setting 'scratch-dir' a place with "
                    + "room for the cluster");
        }
    }

    private static long mib(long bytes) {
        return (bytes + (1 << 20) - 1) >> 20;
    }

    /** The newest backup and the backups it depends on, read through the backup's context. */
    private static final class Chain implements RestoreContext {
        private final BackupContext context;
        private final BackupManifest head;

        Chain(BackupContext context, BackupManifest head) {
            this.context = context;
            this.head = head;
        }

        @Override
        public BackupManifest manifest() {
            return head;
        }

        @Override
        public InputStream openArtifact(String name) throws IOException {
            return context.openArtifact(head, name);
        }

        @Override
        public InputStream openArtifact(String backupId, String name) throws IOException {
            if (!backupId.equals(head.parent()) && !head.dependsOn().contains(backupId)) {
                throw new CorruptDataException("backup " + head.id() + " names backup " + backupId + " in its file "
                        + "list without depending on it; the backup is damaged, take a full backup");
            }
            BackupManifest earlier = context.earlier(backupId)
                    .orElseThrow(() -> new CorruptDataException("backup " + head.id() + " needs backup " + backupId
                            + ", which is gone or damaged; take a full backup"));
            return context.openArtifact(earlier, name);
        }

        @Override
        public Settings options() {
            return Settings.empty();
        }

        @Override
        public boolean force() {
            return false;
        }
    }
}
