package dev.drkit.postgres;

import dev.drkit.ArtifactInfo;
import dev.drkit.BackupManifest;
import dev.drkit.Capability;
import dev.drkit.ConfigException;
import dev.drkit.DrException;
import dev.drkit.DrException.ErrorCode;
import dev.drkit.Settings;
import dev.drkit.spi.BackupContext;
import dev.drkit.spi.BackupTarget;
import dev.drkit.spi.RestoreContext;
import dev.drkit.spi.support.FileTrees;
import dev.drkit.spi.support.TarEntryReader;
import dev.drkit.spi.support.TarWriter;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.SQLException;
import java.time.Duration;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Physical base backups of a PostgreSQL cluster without {@code pg_basebackup}, and restores
 * for point-in-time recovery.
 *
 * <p>Backup: {@code pg_backup_start} on a JDBC session held open for the whole copy; the data
 * directory is read directly (this process must be able to read it: run as the cluster's
 * owner) into {@code jobs} tar artifacts ({@code data-N.tar}) written in parallel, leaving out
 * what PostgreSQL leaves out of base backups (WAL, replication slots, statistics temp files,
 * unlogged and temporary relations, {@code postmaster.pid}, signal files, ...). Each file is
 * read up to the size it had when listed; a file that vanishes is skipped (WAL replay
 * recreates both). {@code global/pg_control} is stored apart ({@code pg_control}) so a restore
 * writes it last. {@code pg_backup_stop} returns the backup label (and tablespace map), stored
 * as artifacts; the on-disk copies are never used. The backup is complete only once every WAL
 * segment from its start to its stop is in the repository's WAL archive.
 *
 * <p>Restore: into a new or empty directory ({@code to}; an existing one with force), then
 * {@code backup_label}, {@code recovery.signal}, the recovery settings (a
 * {@code restore_command} and {@code time}/{@code lsn}/{@code xid}/{@code target-name}/
 * {@code immediate}) and, last, {@code global/pg_control}. With {@code wal-spool} the
 * restore_command first moves a segment read ahead into that directory ({@link WalPrefetch})
 * and runs {@code restore-command} (which must fill that spool) only for the others; the spool
 * is created empty and private to the data directory's owner.
 */
public final class PostgresPhysicalTarget implements BackupTarget {
    public static final String PG_CONTROL = "pg_control";
    public static final String BACKUP_LABEL = "backup_label";
    public static final String TABLESPACE_MAP = "tablespace_map";
    /** Every data file of the backup: name, size, mtime, the backup holding its bytes and in which tar. */
    public static final String FILE_LIST = "files.tsv";

    private static final Logger LOG = LoggerFactory.getLogger(PostgresPhysicalTarget.class);

    private final Settings settings;

    PostgresPhysicalTarget(Settings settings) {
        this.settings = settings;
    }

    @Override
    public String type() {
        return PostgresPhysicalTargetProvider.TYPE;
    }

    @Override
    public Set<Capability> capabilities() {
        return EnumSet.of(Capability.FULL, Capability.INCREMENTAL, Capability.POINT_IN_TIME);
    }

    @Override
    public void backup(BackupContext context) throws IOException {
        PgConnection conn = PgConnection.from(settings);
        int jobs = Math.max(
                1, settings.integer("jobs", Math.min(4, Runtime.getRuntime().availableProcessors())));
        Duration walTimeout = settings.duration("wal-timeout").orElse(Duration.ofMinutes(5));
        boolean streamed = "stream".equals(settings.get("wal-source", "archive"));
        if (context.synthesize() || settings.bool("synthetic-full", false)) {
            SyntheticFull.build(context, jobs, settings.path("scratch-dir")); // from the repository alone
            return;
        }
        try (Connection jdbc = conn.open()) {
            BaseBackup.Cluster cluster = inspect(jdbc, conn, streamed, context);
            BaseBackup backup = new BaseBackup(context, jdbc, conn, cluster);
            backup.start(settings.bool("fast", true));
            long t0 = System.nanoTime();
            try {
                List<TarWriter.Item> items = DataDirectoryScan.scan(cluster.dataDir());
                PageVerification pages = PageVerification.forCluster(
                        cluster.dataChecksums(),
                        cluster.blockSize(),
                        cluster.relationSegmentBlocks(),
                        backup.startLsn());
                Set<String> unchanged = copyFiles(context, cluster, items, jobs, t0, pages);
                backup.stop(items, jobs);
                pages.afterStop(backup.stopLsn());
                reportChecksumFailures(context, pages, unchanged);
                backup.awaitWal(streamed, walTimeout);
            } finally {
                if (!backup.stopped()) {
                    backup.abort();
                }
            }
        } catch (SQLException e) {
            throw PgSql.sqlError("base backup of " + conn, conn, e);
        }
    }

    /** Checks that the cluster can be backed up this way and records what it is. */
    private BaseBackup.Cluster inspect(Connection jdbc, PgConnection conn, boolean streamed, BackupContext context)
            throws SQLException, IOException {
        int version = Integer.parseInt(PgSql.single(jdbc, "SHOW server_version_num"));
        if (version < 150000) {
            throw new ConfigException("physical backups need PostgreSQL 15 or newer (pg_backup_start); " + conn
                    + " runs " + PgSql.single(jdbc, "SHOW server_version") + "; use postgres-logical");
        }
        Path dataDir = settings.path("data-dir").orElse(Path.of(PgSql.single(jdbc, "SHOW data_directory")));
        if (!Files.isReadable(dataDir.resolve("global").resolve("pg_control"))) {
            throw new ConfigException("cannot read " + dataDir + ": physical backups read the data directory "
                    + "directly; run the backup on the database host as the cluster's owner (or give "
                    + "setting 'data-dir')");
        }
        String archiveMode = PgSql.single(jdbc, "SHOW archive_mode");
        if ("off".equals(archiveMode) && !streamed) {
            throw new ConfigException(conn + " does not archive WAL (archive_mode = off), so a base backup "
                    + "could never be restored; set archive_mode = on and an archive_command that runs "
                    + "WalArchive.push for this repository, then restart PostgreSQL (or stream WAL with "
                    + "PostgresWalStreamer and give setting 'wal-source' the value stream)");
        }
        long systemId = Long.parseLong(PgSql.single(jdbc, "SELECT system_identifier FROM pg_control_system()"));
        long segmentSize = Long.parseLong(
                PgSql.single(jdbc, "SELECT setting::bigint FROM pg_settings WHERE name = 'wal_segment_size'"));
        context.metadata("serverVersion", PgSql.single(jdbc, "SHOW server_version"));
        context.metadata("systemIdentifier", Long.toUnsignedString(systemId));
        context.metadata("dataDirectory", dataDir.toString());
        context.metadata("walSegmentSize", segmentSize);
        context.metadata("tablespaces", DataDirectoryScan.tablespaces(dataDir));
        boolean checksums = "on".equals(PgSql.single(jdbc, "SHOW data_checksums"));
        context.metadata("dataChecksums", checksums);
        int blockSize = Integer.parseInt(PgSql.single(jdbc, "SHOW block_size"));
        long relationSegment = Long.parseLong( // in blocks
                PgSql.single(jdbc, "SELECT setting::bigint FROM pg_settings WHERE name = 'segment_size'"));
        return new BaseBackup.Cluster(
                dataDir, archiveMode, systemId, segmentSize, checksums, blockSize, relationSegment);
    }

    /**
     * Copies the files (only those changed since the previous backup, when incremental) into the
     * data tars, and writes the file list.
     *
     * @return the files taken unchanged from the previous backup, not read again
     */
    private Set<String> copyFiles(
            BackupContext context,
            BaseBackup.Cluster cluster,
            List<TarWriter.Item> items,
            int jobs,
            long t0,
            PageVerification pages)
            throws IOException {
        Map<String, FileList.FileEntry> previous = settings.bool("incremental", false)
                ? FileList.previousFiles(context, Long.toUnsignedString(cluster.systemId()))
                : Map.of();
        Instant previousStart = previous.isEmpty()
                ? Instant.EPOCH
                : Instant.parse(String.valueOf(
                        context.previous().orElseThrow().metadata().get("startTime")));
        FileList.Selection selection =
                FileList.select(items, previous, previousStart, settings.bool("checksum", false));
        if (!previous.isEmpty()) {
            selection = byPage(context, selection, previous);
        }
        context.expectBytes(
                selection.copy().stream().mapToLong(TarWriter.Item::size).sum()
                        + selection.paged().keySet().stream()
                                .mapToLong(TarWriter.Item::size)
                                .sum());
        Map<String, ParallelTarWriter.Stored> stored =
                ParallelTarWriter.write(context, cluster.dataDir(), selection, jobs, pages);
        List<FileList.FileEntry> entries = FileList.entries(context.backupId(), selection, stored, previous);
        BaseBackup.writeText(context, FILE_LIST, FileList.format(entries));
        if (previous.isEmpty()) {
            context.metadata("chainLength", 0);
        } else {
            recordParents(context, selection, entries, stored);
            recordChain(context, settings.integer("max-chain", 0));
        }
        LOG.info(
                "copied {} files, {} MiB, in {} ms with {} streams",
                items.size(),
                BaseBackup.total(items) >> 20,
                (System.nanoTime() - t0) / 1_000_000,
                jobs);
        return selection.referenced().keySet();
    }

    /**
     * The changed relation files the parent's page maps cover are stored page by page; the
     * page map entries of the unchanged files are carried over into {@code pagemap-ref.bin}.
     */
    private static FileList.Selection byPage(
            BackupContext context, FileList.Selection selection, Map<String, FileList.FileEntry> previous)
            throws IOException {
        BackupManifest parent = context.previous().orElseThrow();
        Map<String, Long> changed = new HashMap<>(); // name -> pages now
        for (TarWriter.Item item : selection.copy()) {
            // only files the parent lists: their entry names where the rest of the file comes from
            if (item.kind() == TarWriter.Item.Kind.FILE
                    && PageMaps.relationFile(item.name())
                    && previous.containsKey(item.name())) {
                changed.put(item.name(), item.size() / PageMaps.PAGE);
            }
        }
        Map<String, long[]> parentPages = new HashMap<>();
        try (PageMaps.Writer carried = new PageMaps.Writer(context.newArtifact(PageMaps.artifact("ref")))) {
            for (ArtifactInfo a : parent.artifacts()) {
                if (a.name().startsWith(PageMaps.PREFIX)) {
                    try (InputStream in = context.openArtifact(parent, a.name())) {
                        parentPages.putAll(PageMaps.read(
                                in,
                                a.name() + " of backup " + parent.id(),
                                name -> changed.getOrDefault(name, -1L),
                                selection.referenced()::containsKey,
                                carried));
                    }
                }
            }
        }
        return selection.byPage(parentPages);
    }

    /**
     * Pages of the live cluster whose checksum fails go into the manifest
     * ({@code pageChecksumFailures}, and {@code sourceCorruption}, which status reports) and a
     * warning: the backup holds them as read, but the database itself is damaged. So do the
     * pages the previous backup named in files this one takes from it {@code unchanged}: it did
     * not read them again, so they are still damaged as far as anyone knows (else a damaged page
     * of a file that does not change, as damage from the storage leaves it, would be reported
     * only until the next incremental).
     */
    private static void reportChecksumFailures(BackupContext context, PageVerification pages, Set<String> unchanged) {
        List<String> carried = unchanged.isEmpty()
                ? List.of()
                : PageVerification.inFiles(
                        context.previous().orElseThrow().metadata().get(BackupManifest.SOURCE_CORRUPTION), unchanged);
        context.metadata("pageChecksumFailures", pages.failures() + carried.size());
        List<String> own = pages.named();
        List<String> named = new ArrayList<>(own);
        named.addAll(carried.subList(0, Math.min(carried.size(), PageVerification.MAX_NAMED - own.size())));
        if (!named.isEmpty()) {
            context.metadata(BackupManifest.SOURCE_CORRUPTION, named);
        }
        if (!carried.isEmpty()) {
            LOG.warn(
                    "{} page(s) the previous backup found damaged are in files this one took unchanged: still "
                            + "reported, first {}",
                    carried.size(),
                    TarEntryReader.printable(carried.get(0))); // read from the repository
        }
        if (pages.failures() == 0) {
            return;
        }
        context.warn(pages.failures() + " page(s) of the live cluster fail their data checksum (read twice): "
                + String.join("; ", own.subList(0, Math.min(5, own.size())))
                + (pages.failures() > 5 ? "; ..." : "")
                + ". The database has corrupt pages: check the server's storage and restore or rebuild those "
                + "relations (an earlier backup may hold good copies)");
    }

    /**
     * How many incrementals follow the last full backup with this one; at {@code maxChain}
     * (when positive) the manifest asks drkit for a synthetic full backup right after it.
     */
    private static void recordChain(BackupContext context, int maxChain) {
        Object before = context.previous().orElseThrow().metadata().get("chainLength");
        int length = (before instanceof Number n ? n.intValue() : 0) + 1;
        context.metadata("chainLength", length);
        if (maxChain > 0 && length >= maxChain) {
            context.metadata(BackupManifest.SYNTHETIC_FULL_DUE, true);
            LOG.info(
                    "{} incrementals follow the last full backup (setting 'max-chain' is {}): a synthetic full "
                            + "backup follows this one",
                    length,
                    maxChain);
        }
    }

    /**
     * An incremental backup depends on the backups that hold its unchanged files and the earlier
     * pages of its changed ones; records what it took from them and what it stored by page.
     */
    private static void recordParents(
            BackupContext context,
            FileList.Selection selection,
            List<FileList.FileEntry> entries,
            Map<String, ParallelTarWriter.Stored> stored) {
        BackupManifest parent = context.previous().orElseThrow();
        context.kind("incremental");
        context.parent(parent.id());
        Set<String> needed = new TreeSet<>();
        for (FileList.FileEntry e : entries) {
            needed.add(e.backup());
            e.deltas().forEach(d -> needed.add(d.substring(0, d.indexOf('/'))));
        }
        needed.remove(parent.id());
        needed.remove(context.backupId());
        needed.forEach(context::dependsOn);
        context.metadata("referencedFiles", selection.referenced().size());
        context.metadata(
                "referencedBytes",
                selection.referenced().values().stream()
                        .mapToLong(FileList.FileEntry::size)
                        .sum());
        long pages = selection.paged().keySet().stream()
                .map(i -> stored.get(i.name()))
                .filter(s -> s != null)
                .mapToLong(ParallelTarWriter.Stored::pages)
                .sum();
        context.metadata("pagedFiles", selection.paged().size());
        context.metadata(
                "pagedBytes",
                selection.paged().keySet().stream()
                        .mapToLong(TarWriter.Item::size)
                        .sum());
        context.metadata("pagesStored", pages);
        context.metadata("pageSize", PageMaps.PAGE);
    }

    @Override
    public void restore(RestoreContext context) throws IOException {
        Settings o = context.options();
        Path dest = Path.of(o.get("to")
                .orElseThrow(() -> new ConfigException(
                        "postgres restore needs setting 'to': the new data directory (empty or new)")));
        Map<String, Object> meta = context.manifest().metadata();
        Path walStage = o.bool("stage-wal", false)
                ? dest.toAbsolutePath().resolveSibling(dest.getFileName() + ".drkit-wal")
                : null;
        Settings recoveryOptions = o;
        Path walSpool =
                o.get("wal-spool").map(Path::of).map(Path::toAbsolutePath).orElse(null);
        if (walSpool != null) {
            // read-ahead: spooled segments are moved in the shell; the fetch command fills the spool
            recoveryOptions = o.toBuilder()
                    .set("restore-command", WalPrefetch.restoreCommand(walSpool, o.get("restore-command", "false")))
                    .build();
        }
        if (walStage != null) {
            // the fast path: WAL copied next to the cluster before recovery, fetched one by one only when missing
            String fetch = o.get("restore-command").orElse("false");
            recoveryOptions = o.toBuilder()
                    .set(
                            "restore-command",
                            "cp '" + WalPrefetch.commandPath(walStage.toString()) + "/%f' '%p' 2>/dev/null || " + fetch)
                    .build();
        }
        List<String> recovery = recoverySettings(recoveryOptions, meta);
        long follow = WalArchive.timelineToFollow(o.get("target-timeline", "latest"), meta.get("timeline"));
        if (follow == WalArchive.LATEST) {
            refuseUnfollowableTimeline(context, meta);
        }
        PhysicalRestore.into(context, dest, recovery, tablespaceLocations(context), walStage, follow);
        if (walSpool != null) {
            // recovery's first calls (a history lookup, the label's segment) then need no Java
            WalPrefetch.resetAndPrime(context.archive(WalArchive.AREA), walSpool, dest, follow);
        }
        LOG.info(
                "restored base backup {} into {}; start PostgreSQL there to recover ({})",
                context.manifest().id(),
                dest,
                String.join(", ", recovery));
        if (o.has("start")) {
            start(dest, o, String.valueOf(meta.getOrDefault("serverVersion", "")));
            if (walSpool != null && "promote".equals(o.get("target-action", "promote"))) {
                FileTrees.delete(walSpool); // recovery has finished: what is left was read past the target
            }
        }
    }

    /**
     * Fails, before anything is written, a restore whose recovery along the newest timeline
     * PostgreSQL would refuse only once started, with a message about checkpoints (a copy restored
     * beside the live cluster, promoted, and archiving into its repository makes this happen).
     * Only where recovery reads this repository's archive through wal-fetch: a command of the
     * host's own (a restore test's staged copy) may hold other timelines, or none.
     */
    private static void refuseUnfollowableTimeline(RestoreContext context, Map<String, Object> meta)
            throws IOException {
        if (!context.options().get("restore-command", "").contains("wal-fetch")) {
            return;
        }
        Optional<String> problem;
        try {
            problem = WalContinuity.latestTimelineProblem(context.archive(WalArchive.AREA), meta);
        } catch (UnsupportedOperationException e) {
            problem = Optional.empty(); // a host's context without the repository's WAL archive
        }
        if (problem.isPresent()) {
            throw new DrException(ErrorCode.TARGET, problem.get() + ". Nothing was restored");
        }
    }

    /** Each recorded tablespace's new location: setting {@code tablespace-OID}, else where it was. */
    private static Map<String, Path> tablespaceLocations(RestoreContext context) {
        Map<String, Path> locations = new LinkedHashMap<>();
        if (context.manifest().metadata().get("tablespaces") instanceof Map<?, ?> recorded) {
            for (Map.Entry<?, ?> e : recorded.entrySet()) {
                String oid = String.valueOf(e.getKey());
                Settings o = context.options();
                // a location given by setting is the operator's (relative to here); a recorded one is
                // taken as it is, and the restore checks it (the manifest may be forged)
                locations.put(
                        oid,
                        o.has("tablespace-" + oid)
                                ? Path.of(o.require("tablespace-" + oid))
                                        .toAbsolutePath()
                                        .normalize()
                                : Path.of(String.valueOf(e.getValue())));
            }
        }
        return locations;
    }

    /**
     * {@code start}: starts the restored cluster with {@code pg_ctl} (binaries from the option's
     * directory, or found for the backup's major version), on {@code start-port} when given,
     * as the data's owner when run as root, and waits until recovery has finished (the control
     * file says "in production"); with {@code target-action} other than promote it waits only
     * for the start.
     */
    private static void start(Path dest, Settings o, String serverVersion) throws IOException {
        String given = o.require("start");
        Settings bins = Files.isExecutable(Path.of(given, "pg_ctl"))
                ? o.toBuilder().set("server-bin-dir", given).build()
                : o;
        Path bin = PhysicalRestoreTest.serverBinDir(bins, serverVersion);
        Integer port = o.has("start-port") ? Integer.parseInt(o.require("start-port")) : null;
        Duration promotion = "promote".equals(o.get("target-action", "promote"))
                ? o.duration("start-timeout").orElse(Duration.ofHours(1))
                : null;
        new PgCtl(bin, dest).startAndAwaitRecovery(port, promotion);
    }

    /** The recovery settings for the restored cluster, checked against the backup. */
    static List<String> recoverySettings(Settings o, Map<String, Object> meta) {
        List<String> lines = new ArrayList<>();
        String command = o.get("restore-command")
                .orElseThrow(() -> new ConfigException(
                        "postgres restore needs setting 'restore-command': the restore_command PostgreSQL will run to "
                                + "fetch WAL from this repository (WalArchive.fetch)"));
        lines.add("restore_command = " + quote(command));
        int targets = 0;
        if (o.has("time")) {
            OffsetDateTime t = parseTime(o.require("time"));
            Object stop = meta.get("stopTime");
            if (stop != null && t.toInstant().isBefore(Instant.parse(stop.toString()))) {
                throw new ConfigException("the backup ended at " + stop + ", after the target time " + t
                        + "; restore an earlier backup (DrKit.list) for that time");
            }
            // PostgreSQL takes numeric offsets here, not zone abbreviations such as Z
            lines.add("recovery_target_time = "
                    + quote(t.format(DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm:ss.SSSSSSxxx"))));
            targets++;
        }
        if (o.has("lsn")) {
            WalArchive.parseLsn(o.require("lsn"));
            lines.add("recovery_target_lsn = " + quote(o.require("lsn")));
            targets++;
        }
        if (o.has("xid")) {
            lines.add("recovery_target_xid = " + quote(o.require("xid")));
            targets++;
        }
        if (o.has("target-name")) {
            lines.add("recovery_target_name = " + quote(o.require("target-name")));
            targets++;
        }
        if (o.bool("immediate", false)) {
            lines.add("recovery_target = 'immediate'");
            targets++;
        }
        if (targets > 1) {
            throw new ConfigException("give at most one recovery target (setting 'time', setting 'lsn', setting 'xid', "
                    + "setting 'target-name' or setting 'immediate'); without one, recovery replays all archived WAL");
        }
        if (targets == 1) {
            lines.add("recovery_target_action = " + quote(o.get("target-action", "promote")));
        }
        lines.add("recovery_target_timeline = " + quote(o.get("target-timeline", "latest")));
        if ("off".equals(o.get("archive-mode", "preserve"))) {
            // a copy beside the live cluster: promoted, it would archive a new timeline into the live
            // cluster's repository, which later restores of the live cluster then follow and fail on
            lines.add("archive_mode = 'off'");
        }
        return lines;
    }

    static OffsetDateTime parseTime(String text) {
        String t = text.trim().replace(' ', 'T');
        try {
            return OffsetDateTime.parse(t);
        } catch (DateTimeParseException e) {
            try {
                return Instant.parse(t).atOffset(ZoneOffset.UTC);
            } catch (DateTimeParseException e2) {
                throw new ConfigException("setting 'time': " + text + " is not a timestamp with a zone, e.g. "
                        + "2025-01-03T14:05:00Z or 2025-01-03 14:05:00+01:00");
            }
        }
    }

    private static String quote(String s) {
        return "'" + s.replace("'", "''") + "'";
    }
}
