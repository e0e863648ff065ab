package dev.drkit.postgres;

import dev.drkit.BackupManifest;
import dev.drkit.Capability;
import dev.drkit.ConfigException;
import dev.drkit.CorruptDataException;
import dev.drkit.DestinationNotEmptyException;
import dev.drkit.DrException;
import dev.drkit.DrException.ErrorCode;
import dev.drkit.Settings;
import dev.drkit.spi.BackupContext;
import dev.drkit.spi.BackupTarget;
import dev.drkit.spi.FileArchive;
import dev.drkit.spi.RestoreContext;
import dev.drkit.spi.support.FileTrees;
import dev.drkit.spi.support.TarExtractor;
import dev.drkit.spi.support.TarWriter;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.EnumSet;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.function.Function;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import java.util.zip.CRC32C;
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
 * {@code immediate}) and, last, {@code global/pg_control}.
 */
public final class PostgresPhysicalTarget implements BackupTarget {
    public static final String PG_CONTROL = "pg_control";
    public static final String BACKUP_LABEL = "backup_label";
    public static final String TABLESPACE_MAP = "tablespace_map";
    /** Every data file of the backup: name, size, mtime, the backup holding its bytes and in which tar. */
    public static final String FILE_LIST = "files.tsv";
    /** Files changed this close to the previous backup's start are copied again: mtime granularity. */
    private static final Duration MTIME_SLACK = Duration.ofSeconds(2);

    private static final Logger LOG = LoggerFactory.getLogger(PostgresPhysicalTarget.class);

    /** Directories whose contents base backups leave out (the directories themselves are kept). */
    private static final Set<String> EMPTY_DIRS = Set.of(
            "pg_wal",
            "pg_replslot",
            "pg_stat_tmp",
            "pg_dynshmem",
            "pg_notify",
            "pg_serial",
            "pg_snapshots",
            "pg_subtrans");
    /** Files base backups leave out, wherever they are. */
    private static final Set<String> SKIP_FILES = Set.of(
            "postmaster.pid",
            "postmaster.opts",
            "backup_label",
            "tablespace_map",
            "backup_manifest",
            "recovery.signal",
            "standby.signal",
            "recovery.conf",
            "pg_internal.init",
            "current_logfiles");

    private static final Pattern TEMP_RELATION = Pattern.compile("t\\d+_\\d+(_\\w+)?(\\.\\d+)?");
    private static final Pattern RELATION_FILE = Pattern.compile("(\\d+)(_\\w+)?(\\.\\d+)?");

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
        return EnumSet.of(Capability.FULL, Capability.POINT_IN_TIME);
    }

    @Override
    public void backup(BackupContext context) throws IOException {
        PgConnection conn = PgConnection.from(settings);
        int jobs = Math.max(
                1, settings.integer("jobs", Math.min(4, Runtime.getRuntime().availableProcessors())));
        Duration walTimeout = settings.duration("wal-timeout").orElse(Duration.ofMinutes(5));
        try (Connection jdbc = conn.open()) {
            int version = Integer.parseInt(single(jdbc, "SHOW server_version_num"));
            if (version < 150000) {
                throw new ConfigException("physical backups need PostgreSQL 15 or newer (pg_backup_start); " + conn
                        + " runs " + single(jdbc, "SHOW server_version") + "; use postgres-logical");
            }
            Path dataDir = settings.path("data-dir").orElse(Path.of(single(jdbc, "SHOW data_directory")));
            if (!Files.isReadable(dataDir.resolve("global").resolve("pg_control"))) {
                throw new ConfigException("cannot read " + dataDir + ": physical backups read the data directory "
                        + "directly; run the backup on the database host as the cluster's owner (or give "
                        + "setting 'data-dir')");
            }
            String archiveMode = single(jdbc, "SHOW archive_mode");
            boolean streamed = "stream".equals(settings.get("wal-source", "archive"));
            if ("off".equals(archiveMode) && !streamed) {
                throw new ConfigException(conn + " does not archive WAL (archive_mode = off), so a base backup "
                        + "could never be restored; set archive_mode = on and an archive_command that runs "
                        + "WalArchive.push for this repository, then restart PostgreSQL (or stream WAL with "
                        + "PostgresWalStreamer and give setting 'wal-source' the value stream)");
            }
            long systemId = Long.parseLong(single(jdbc, "SELECT system_identifier FROM pg_control_system()"));
            long segmentSize = Long.parseLong(
                    single(jdbc, "SELECT setting::bigint FROM pg_settings WHERE name = 'wal_segment_size'"));
            context.metadata("serverVersion", single(jdbc, "SHOW server_version"));
            context.metadata("systemIdentifier", Long.toUnsignedString(systemId));
            context.metadata("dataDirectory", dataDir.toString());
            context.metadata("walSegmentSize", segmentSize);
            context.metadata("tablespaces", tablespaces(dataDir));

            String label = "drkit " + context.backupId();
            jdbc.setAutoCommit(true);
            Instant started = context.clock().instant();
            String startLsn = single(
                    jdbc,
                    "SELECT pg_backup_start('" + label.replace("'", "''") + "', " + settings.bool("fast", true)
                            + ")::text");
            int timeline = Integer.parseInt(single(jdbc, "SELECT timeline_id FROM pg_control_checkpoint()"));
            long t0 = System.nanoTime();
            LOG.info(
                    "base backup of {} started at {} on timeline {} (checkpoint took {} ms)",
                    conn,
                    startLsn,
                    timeline,
                    Duration.between(started, context.clock().instant()).toMillis());
            boolean stopped = false;
            try {
                List<TarWriter.Item> items = scan(dataDir);
                long total = items.stream().mapToLong(TarWriter.Item::size).sum();
                Map<String, FileEntry> previous = settings.bool("incremental", false)
                        ? previousFiles(context, Long.toUnsignedString(systemId))
                        : Map.of();
                Instant previousStart = previous.isEmpty()
                        ? Instant.EPOCH
                        : Instant.parse(String.valueOf(
                                context.previous().orElseThrow().metadata().get("startTime")));
                List<TarWriter.Item> copy = new ArrayList<>();
                Map<String, FileEntry> referenced = new TreeMap<>();
                boolean checksumCheck = settings.bool("checksum", false);
                for (TarWriter.Item item : items) {
                    FileEntry before = item.kind() == TarWriter.Item.Kind.FILE ? previous.get(item.name()) : null;
                    boolean same = before != null
                            && before.size() == item.size()
                            && before.mtime() == item.mtime().toMillis()
                            && item.mtime().toInstant().isBefore(previousStart.minus(MTIME_SLACK));
                    if (same && checksumCheck) {
                        // size and mtime can lie (a restored or touched file): compare the bytes too
                        same = before.crc32c().equals(crc32c(item.path(), item.size()));
                    }
                    if (same) {
                        referenced.put(item.name(), before);
                    } else {
                        copy.add(item);
                    }
                }
                if (!previous.isEmpty()) {
                    BackupManifest parent = context.previous().orElseThrow();
                    context.kind("incremental");
                    context.parent(parent.id());
                    referenced.values().stream()
                            .map(FileEntry::backup)
                            .distinct()
                            .filter(id -> !id.equals(parent.id()))
                            .forEach(context::dependsOn);
                    context.metadata("referencedFiles", referenced.size());
                    context.metadata(
                            "referencedBytes",
                            referenced.values().stream()
                                    .mapToLong(FileEntry::size)
                                    .sum());
                }
                context.expectBytes(
                        copy.stream().mapToLong(TarWriter.Item::size).sum());
                Map<String, Stored> stored = copyParallel(context, dataDir, copy, jobs);
                writeFileList(context, copy, stored, referenced);
                long t1 = System.nanoTime();
                LOG.info(
                        "copied {} files, {} MiB, in {} ms with {} streams",
                        items.size(),
                        total >> 20,
                        (t1 - t0) / 1_000_000,
                        jobs);
                try (ResultSet rs = jdbc.createStatement()
                        .executeQuery(
                                // PostgreSQL switches to a new segment either way; its own wait polls once a
                                // second, so the WAL is awaited here instead, in the repository itself
                                "SELECT lsn::text, labelfile, spcmapfile FROM pg_backup_stop(false)")) {
                    rs.next();
                    stopped = true;
                    String stopLsn = rs.getString(1);
                    writeText(context, BACKUP_LABEL, rs.getString(2));
                    String map = rs.getString(3);
                    if (map != null && !map.isEmpty()) {
                        writeText(context, TABLESPACE_MAP, map);
                    }
                    Instant stoppedAt = context.clock().instant();
                    if ("off".equals(archiveMode)) {
                        // streamed WAL: close the stop segment so that the streamer stores it whole
                        single(jdbc, "SELECT pg_switch_wal()::text");
                    }
                    String walStart = WalArchive.segmentName(timeline, WalArchive.parseLsn(startLsn), segmentSize);
                    String walStop = WalArchive.segmentName(timeline, WalArchive.parseLsn(stopLsn), segmentSize);
                    context.metadata("timeline", timeline);
                    context.metadata("startLsn", startLsn);
                    context.metadata("stopLsn", stopLsn);
                    context.metadata("walStart", walStart);
                    context.metadata("walStop", walStop);
                    context.metadata("startTime", started.toString());
                    context.metadata("stopTime", stoppedAt.toString());
                    context.metadata(
                            "files",
                            items.stream()
                                    .filter(i -> i.kind() == TarWriter.Item.Kind.FILE)
                                    .count());
                    context.metadata("bytes", total);
                    context.metadata("jobs", jobs);
                    long t2 = System.nanoTime();
                    // on a primary every segment up to the stop is complete now (pg_backup_stop switched WAL):
                    // drkit stores them itself rather than wait for archive_command to get round to it
                    Path ownWal = !streamed && "false".equals(single(jdbc, "SELECT pg_is_in_recovery()::text"))
                            ? dataDir.resolve("pg_wal")
                            : null;
                    awaitWal(
                            context,
                            systemId,
                            timeline,
                            WalArchive.parseLsn(startLsn),
                            WalArchive.parseLsn(stopLsn),
                            segmentSize,
                            walTimeout,
                            ownWal,
                            dataDir);
                    LOG.info(
                            "stopped at {}; WAL {} to {} in the repository after {} ms",
                            stopLsn,
                            walStart,
                            walStop,
                            (System.nanoTime() - t2) / 1_000_000);
                    if (!streamed
                            && "true"
                                    .equals(
                                            single(
                                                    jdbc,
                                                    "SELECT coalesce(last_failed_time > "
                                                            + "coalesce(last_archived_time, '-infinity'), false)::text FROM pg_stat_archiver"))) {
                        context.metadata("archiverFailing", true);
                        LOG.warn("archive_command is failing (pg_stat_archiver): this backup holds the WAL it needs, "
                                + "but recovery to any later point needs the WAL that is not being archived; fix "
                                + "archive_command and check the server log");
                    }
                }
            } finally {
                if (!stopped) {
                    try (Statement s = jdbc.createStatement()) {
                        s.execute("SELECT pg_backup_stop(false)");
                    } catch (SQLException e) {
                        LOG.warn("could not end the failed base backup: {}", conn.redact(e.getMessage()));
                    }
                }
            }
        } catch (SQLException e) {
            throw PostgresLogicalTarget.sqlError("base backup of " + conn, conn, e);
        }
    }

    /** Lists what goes into the backup, directories first, with the standard exclusions. */
    static List<TarWriter.Item> scan(Path dataDir) throws IOException {
        List<TarWriter.Item> items = new ArrayList<>();
        scanTree(dataDir, dataDir, "", items);
        Path links = dataDir.resolve("pg_tblspc");
        if (Files.isDirectory(links)) {
            try (Stream<Path> s = Files.list(links)) {
                for (Path link : s.sorted().toList()) {
                    // a tablespace: its directory's contents, under the name of its link
                    Path location = link.toRealPath();
                    String prefix = "pg_tblspc/" + link.getFileName();
                    items.add(TarWriter.Item.of(location, prefix));
                    scanTree(dataDir, location, prefix + "/", items);
                }
            }
        }
        return items;
    }

    /** The tablespaces of a data directory: OID to location. */
    static Map<String, String> tablespaces(Path dataDir) throws IOException {
        Map<String, String> out = new TreeMap<>();
        Path links = dataDir.resolve("pg_tblspc");
        if (Files.isDirectory(links)) {
            try (Stream<Path> s = Files.list(links)) {
                for (Path link : s.toList()) {
                    out.put(link.getFileName().toString(), link.toRealPath().toString());
                }
            }
        }
        return out;
    }

    private static void scanTree(Path dataDir, Path root, String prefix, List<TarWriter.Item> items)
            throws IOException {
        Set<String> unlogged = new HashSet<>();
        try (Stream<Path> walk = Files.walk(root)) {
            for (Path p : walk.filter(p -> p.getFileName().toString().endsWith("_init"))
                    .toList()) {
                Matcher m = RELATION_FILE.matcher(p.getFileName().toString());
                if (m.matches()) {
                    unlogged.add(p.getParent() + "/" + m.group(1));
                }
            }
        }
        try (Stream<Path> walk = Files.walk(root)) {
            for (Path p : walk.sorted().toList()) {
                if (p.equals(root)) {
                    continue;
                }
                String rel = prefix + root.relativize(p);
                boolean skip = prefix.isEmpty()
                        ? excluded(dataDir, p, unlogged) || rel.startsWith("pg_tblspc/")
                        : excludedRelation(p, unlogged);
                if (skip) {
                    continue;
                }
                try {
                    items.add(TarWriter.Item.of(p, rel));
                } catch (NoSuchFileException e) {
                    // dropped while we listed: WAL replay recreates what matters
                }
            }
        }
    }

    /** Temporary files and relations, and unlogged relations but for their init fork. */
    private static boolean excludedRelation(Path p, Set<String> unlogged) {
        String name = p.getFileName().toString();
        if (name.startsWith("pgsql_tmp") || TEMP_RELATION.matcher(name).matches()) {
            return true;
        }
        Matcher m = RELATION_FILE.matcher(name);
        return m.matches() && !"_init".equals(m.group(2)) && unlogged.contains(p.getParent() + "/" + m.group(1));
    }

    private static boolean excluded(Path dataDir, Path p, Set<String> unlogged) {
        Path rel = dataDir.relativize(p);
        String name = p.getFileName().toString();
        String top = rel.getName(0).toString();
        if (EMPTY_DIRS.contains(top)) {
            if (rel.getNameCount() == 1) {
                return Files.isSymbolicLink(p); // a linked pg_wal becomes a plain directory on restore
            }
            return !rel.toString().equals("pg_wal/archive_status"); // contents left out
        }
        if (rel.toString().equals("global/pg_control")) {
            return true; // stored apart, restored last
        }
        if (rel.getNameCount() == 1 && SKIP_FILES.contains(name) || name.equals("pg_internal.init")) {
            return true;
        }
        return excludedRelation(p, unlogged);
    }

    /** Splits the items into {@code jobs} tar artifacts of similar size and writes them in parallel. */
    /** Where a copied file went and the CRC32C of what was stored. */
    record Stored(String artifact, String crc32c) {}

    private static Map<String, Stored> copyParallel(
            BackupContext context, Path dataDir, List<TarWriter.Item> items, int jobs) throws IOException {
        Map<String, String> checksums = new ConcurrentHashMap<>();
        List<List<TarWriter.Item>> parts = new ArrayList<>();
        long[] sizes = new long[jobs];
        for (int i = 0; i < jobs; i++) {
            parts.add(new ArrayList<>());
        }
        List<TarWriter.Item> directories =
                items.stream().filter(i -> i.kind() != TarWriter.Item.Kind.FILE).toList();
        parts.get(0).addAll(directories);
        items.stream()
                .filter(i -> i.kind() == TarWriter.Item.Kind.FILE)
                .sorted(Comparator.comparingLong(TarWriter.Item::size).reversed())
                .forEach(item -> {
                    int least = 0;
                    for (int i = 1; i < jobs; i++) {
                        if (sizes[i] < sizes[least]) {
                            least = i;
                        }
                    }
                    parts.get(least).add(item);
                    sizes[least] += item.size();
                });
        List<IoTask> tasks = new ArrayList<>();
        for (int i = 0; i < jobs; i++) {
            List<TarWriter.Item> part = parts.get(i);
            String name = "data-" + i + ".tar";
            tasks.add(() -> {
                try (OutputStream out = context.newArtifact(name)) {
                    TarWriter.write(part, out, (item, crc) -> checksums.put(item.name(), crc));
                }
            });
        }
        runAll("drkit-pg-copy", tasks, "copying " + dataDir);
        try (OutputStream out = context.newArtifact(PG_CONTROL)) {
            Files.copy(dataDir.resolve("global").resolve("pg_control"), out);
        }
        Map<String, Stored> stored = new HashMap<>();
        for (int i = 0; i < jobs; i++) {
            for (TarWriter.Item item : parts.get(i)) {
                stored.put(item.name(), new Stored("data-" + i + ".tar", checksums.getOrDefault(item.name(), "")));
            }
        }
        return stored;
    }

    /** A piece of I/O work for {@link #runAll}. */
    @FunctionalInterface
    interface IoTask {
        void run() throws IOException;
    }

    /** Runs the tasks on a thread each and waits for all; the first failure is rethrown as it was. */
    private static void runAll(String threadName, List<IoTask> tasks, String doing) throws IOException {
        ExecutorService pool = Executors.newFixedThreadPool(Math.max(1, tasks.size()), r -> {
            Thread t = new Thread(r, threadName);
            t.setDaemon(true);
            return t;
        });
        try {
            List<Future<?>> running = new ArrayList<>();
            for (IoTask task : tasks) {
                running.add(pool.submit(() -> {
                    task.run();
                    return null;
                }));
            }
            for (Future<?> f : running) {
                f.get();
            }
        } catch (ExecutionException e) {
            Throwable c = e.getCause();
            if (c instanceof IOException io) {
                throw io;
            }
            if (c instanceof RuntimeException re) {
                throw re;
            }
            throw new IOException(c);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new DrException(ErrorCode.INTERRUPTED, "interrupted while " + doing);
        } finally {
            pool.shutdownNow();
        }
    }

    /** One line of {@link #FILE_LIST}. */
    record FileEntry(String name, long size, long mtime, String crc32c, String backup, String artifact) {
        String line() {
            return name + "\t" + size + "\t" + mtime + "\t" + crc32c + "\t" + backup + "\t" + artifact;
        }

        static FileEntry parse(String line) {
            String[] f = line.split("\t");
            return new FileEntry(f[0], Long.parseLong(f[1]), Long.parseLong(f[2]), f[3], f[4], f[5]);
        }
    }

    /** CRC32C (hex) of a file's first {@code size} bytes, zero-padded like the tar copy; null when it is gone. */
    private static String crc32c(Path file, long size) throws IOException {
        CRC32C crc = new CRC32C();
        byte[] buffer = new byte[1 << 16];
        long left = size;
        try (InputStream in = Files.newInputStream(file)) {
            while (left > 0) {
                int n = in.read(buffer, 0, (int) Math.min(buffer.length, left));
                if (n < 0) {
                    break;
                }
                crc.update(buffer, 0, n);
                left -= n;
            }
        } catch (NoSuchFileException e) {
            return null;
        }
        Arrays.fill(buffer, (byte) 0);
        while (left > 0) {
            int n = (int) Math.min(buffer.length, left);
            crc.update(buffer, 0, n);
            left -= n;
        }
        return String.format("%08x", crc.getValue());
    }

    /** The previous backup's files, when it can serve as the base of an incremental one. */
    private static Map<String, FileEntry> previousFiles(BackupContext context, String systemId) throws IOException {
        BackupManifest prev = context.previous().orElse(null);
        if (prev == null
                || prev.artifact(FILE_LIST).isEmpty()
                || !systemId.equals(String.valueOf(prev.metadata().get("systemIdentifier")))) {
            LOG.info("no earlier base backup of this cluster to build on: taking a full backup");
            return Map.of();
        }
        Map<String, FileEntry> files = new HashMap<>();
        try (InputStream in = context.openArtifact(prev, FILE_LIST)) {
            for (String line : new String(in.readAllBytes(), StandardCharsets.UTF_8).split("\n")) {
                if (!line.isBlank()) {
                    FileEntry e = FileEntry.parse(line);
                    files.put(e.name(), e);
                }
            }
        }
        return files;
    }

    private static void writeFileList(
            BackupContext context,
            List<TarWriter.Item> copied,
            Map<String, Stored> stored,
            Map<String, FileEntry> referenced)
            throws IOException {
        List<FileEntry> all = new ArrayList<>(referenced.values());
        for (TarWriter.Item item : copied) {
            if (item.kind() == TarWriter.Item.Kind.FILE) {
                Stored where = stored.get(item.name());
                all.add(new FileEntry(
                        item.name(),
                        item.size(),
                        item.mtime().toMillis(),
                        where.crc32c(),
                        context.backupId(),
                        where.artifact()));
            }
        }
        all.sort(Comparator.comparing(FileEntry::name));
        StringBuilder b = new StringBuilder();
        all.forEach(e -> b.append(e.line()).append('\n'));
        writeText(context, FILE_LIST, b.toString());
    }

    private static void writeText(BackupContext context, String name, String text) throws IOException {
        try (OutputStream out = context.newArtifact(name)) {
            out.write(text.getBytes(StandardCharsets.UTF_8));
        }
    }

    /**
     * Waits until every segment from start to stop is archived in the repository. With
     * {@code pgWal} (a primary's, after pg_backup_stop switched WAL, so that these segments are
     * complete and final), a segment still there is stored from it directly: the same bytes
     * archive_command will push, which the archive then accepts as already stored.
     */
    private static void awaitWal(
            BackupContext context,
            long systemId,
            int timeline,
            long start,
            long stop,
            long segmentSize,
            Duration timeout,
            Path pgWal,
            Path dataDir)
            throws IOException {
        WalArchive wal = new WalArchive(context.archive(WalArchive.AREA));
        long deadline = System.nanoTime() + timeout.toNanos();
        for (long lsn = start - start % segmentSize; Long.compareUnsigned(lsn, stop) <= 0; lsn += segmentSize) {
            String segment = WalArchive.segmentName(timeline, lsn, segmentSize);
            if (pgWal != null && !wal.contains(systemId, segment) && Files.isRegularFile(pgWal.resolve(segment))) {
                try {
                    wal.push(pgWal.resolve(segment), dataDir);
                } catch (NoSuchFileException e) {
                    LOG.debug("{} was archived and recycled meanwhile", segment);
                }
            }
            while (!wal.contains(systemId, segment)) {
                if (System.nanoTime() > deadline) {
                    throw new DrException(
                            ErrorCode.TARGET,
                            "WAL segment " + segment + ", which this base backup needs, "
                                    + "did not reach the repository within " + timeout.toSeconds() + " s; check that "
                                    + "archive_command runs WalArchive.push for this repository and succeeds "
                                    + "(pg_stat_archiver, the server log)");
                }
                try {
                    Thread.sleep(50);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new DrException(ErrorCode.INTERRUPTED, "interrupted while waiting for WAL " + segment);
                }
            }
        }
    }

    /**
     * WAL retention: per cluster (system identifier), WAL positioned before the start of the
     * oldest kept base backup is removed, on every timeline; timeline history files stay. WAL of
     * clusters without a kept backup is left alone.
     */
    /** Base backups need the archived WAL to be restored consistently and to recover past them. */
    @Override
    public List<String> archiveAreas() {
        return List.of(WalArchive.AREA);
    }

    @Override
    public List<String> pruneArchive(List<BackupManifest> kept, Function<String, FileArchive> archives, boolean dryRun)
            throws IOException {
        Map<String, String> oldestStart = new TreeMap<>();
        for (BackupManifest m : kept) {
            Object sys = m.metadata().get("systemIdentifier");
            Object start = m.metadata().get("walStart");
            if (sys != null && start != null) {
                oldestStart.merge(sys.toString(), start.toString().substring(8), (a, b) -> a.compareTo(b) <= 0 ? a : b);
            }
        }
        FileArchive archive = archives.apply(WalArchive.AREA);
        List<String> removed = new ArrayList<>();
        List<String> doomed = new ArrayList<>();
        for (Map.Entry<String, String> e : oldestStart.entrySet()) {
            for (String path : archive.list(e.getKey() + "/")) {
                String name = path.substring(path.lastIndexOf('/') + 1);
                if (name.endsWith(".history") || name.length() < 24) {
                    continue;
                }
                if (name.substring(8, 24).compareTo(e.getValue()) < 0) {
                    doomed.add(path);
                }
            }
        }
        if (!dryRun) {
            archive.deleteAll(doomed);
        }
        doomed.forEach(path -> removed.add(WalArchive.AREA + "/" + path));
        if (!removed.isEmpty()) {
            LOG.info(
                    "{} {} WAL files older than the oldest kept base backup",
                    dryRun ? "would remove" : "removed",
                    removed.size());
        }
        return removed;
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
        if (walStage != null) {
            // the fast path: WAL copied next to the cluster before recovery, fetched one by one only when missing
            String fetch = o.get("restore-command").orElse("false");
            recoveryOptions = o.toBuilder()
                    .set("restore-command", "cp '" + walStage + "/%f' '%p' 2>/dev/null || " + fetch)
                    .build();
        }
        List<String> recovery = recoverySettings(recoveryOptions, meta);
        if (Files.exists(dest) && !isEmpty(dest) && !context.force()) {
            throw new DestinationNotEmptyException(dest + " is not empty; restore into a new directory, or stop the "
                    + "cluster there and restore with RestoreRequest.force to replace it");
        }
        Path parent = dest.toAbsolutePath().getParent();
        Files.createDirectories(parent);
        Path staging = parent.resolve("." + dest.getFileName() + ".drkit-restore-" + UUID.randomUUID());
        Files.createDirectory(
                staging, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
        try {
            unpackParallel(context, staging);
            unpackReferenced(context, staging);
            copyArtifact(context, BACKUP_LABEL, staging.resolve(BACKUP_LABEL));
            if (context.manifest().artifact(TABLESPACE_MAP).isPresent()) {
                copyArtifact(context, TABLESPACE_MAP, staging.resolve(TABLESPACE_MAP));
            }
            relocateTablespaces(context, staging);
            for (String dir : EMPTY_DIRS) {
                Files.createDirectories(staging.resolve(dir));
            }
            Files.createDirectories(staging.resolve("pg_wal").resolve("archive_status"));
            Path auto = staging.resolve("postgresql.auto.conf");
            String conf = Files.exists(auto) ? Files.readString(auto) : "";
            StringBuilder b = new StringBuilder(conf);
            if (!conf.isEmpty() && !conf.endsWith("\n")) {
                b.append('\n');
            }
            b.append("# added by drkit restore of backup ")
                    .append(context.manifest().id())
                    .append('\n');
            recovery.forEach(line -> b.append(line).append('\n'));
            Files.writeString(auto, b.toString());
            Files.writeString(staging.resolve("recovery.signal"), "");
            Files.createDirectories(staging.resolve("global"));
            copyArtifact(context, PG_CONTROL, staging.resolve("global").resolve("pg_control")); // last
            Files.setPosixFilePermissions(staging, PosixFilePermissions.fromString("rwx------"));
            if (walStage != null) {
                stageWal(context, staging, walStage);
            }
            giveToClusterOwner(staging);
            install(staging, dest);
        } finally {
            FileTrees.delete(staging);
        }
        LOG.info(
                "restored base backup {} into {}; start PostgreSQL there to recover ({})",
                context.manifest().id(),
                dest,
                String.join(", ", recovery));
        if (o.has("start")) {
            startAndAwaitRecovery(dest, o, String.valueOf(meta.getOrDefault("serverVersion", "")));
        }
    }

    /**
     * {@code start}: starts the restored cluster with {@code pg_ctl} (binaries from the option's
     * directory, or found for the backup's major version), on {@code start-port} when given,
     * as the data's owner when run as root, and waits until recovery has finished (the control
     * file says "in production"); with {@code target-action} other than promote it waits only
     * for the start.
     */
    private static void startAndAwaitRecovery(Path dest, Settings o, String serverVersion) throws IOException {
        String given = o.require("start");
        Settings bins = Files.isExecutable(Path.of(given, "pg_ctl"))
                ? o.toBuilder().set("server-bin-dir", given).build()
                : o;
        Path bin = PhysicalRestoreTest.serverBinDir(bins, serverVersion);
        String owner = Files.getOwner(dest.resolve("PG_VERSION"), LinkOption.NOFOLLOW_LINKS)
                .getName();
        Path log = dest.toAbsolutePath().resolveSibling(dest.getFileName() + ".log");
        if (PgProcesses.root() && !Files.exists(log)) {
            Files.createFile(log);
            Files.setOwner(log, Files.getOwner(dest.resolve("PG_VERSION"), LinkOption.NOFOLLOW_LINKS));
        }
        List<String> cmd = new ArrayList<>(List.of(
                bin.resolve("pg_ctl").toString(), "-D", dest.toString(), "-l", log.toString(), "-w", "-t", "3600"));
        if (o.has("start-port")) {
            cmd.addAll(List.of("-o", "-p " + Integer.parseInt(o.require("start-port"))));
        }
        cmd.add("start");
        long t0 = System.nanoTime();
        PgProcesses.run(cmd, owner, 3700, null);
        if (!"promote".equals(o.get("target-action", "promote"))) {
            return;
        }
        long deadline = System.nanoTime()
                + o.duration("start-timeout").orElse(Duration.ofHours(1)).toNanos();
        while (true) {
            Process p = new ProcessBuilder(bin.resolve("pg_controldata").toString(), dest.toString())
                    .redirectErrorStream(true)
                    .start();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            try {
                p.waitFor();
                if (out.matches("(?s).*Database cluster state:\\s+in production.*")) {
                    LOG.info(
                            "{} recovered and promoted {} s after start (log: {})",
                            dest,
                            (System.nanoTime() - t0) / 1_000_000_000,
                            log);
                    return;
                }
                if (System.nanoTime() > deadline) {
                    throw new DrException(
                            ErrorCode.TARGET, "recovery of " + dest + " did not finish in time; see " + log);
                }
                Thread.sleep(250);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new DrException(ErrorCode.INTERRUPTED, "interrupted while waiting for recovery of " + dest);
            }
        }
    }

    /**
     * Copies every archived WAL file of the cluster from the backup's start on (all timelines,
     * history files, a streamed {@code .partial} under its segment name) into {@code stage},
     * which the restore_command reads first; remove it once recovery has finished.
     */
    private static void stageWal(RestoreContext context, Path dataDir, Path stage) throws IOException {
        Map<String, Object> meta = context.manifest().metadata();
        String systemId = String.valueOf(meta.get("systemIdentifier"));
        String from = String.valueOf(meta.get("walStart")).substring(8);
        if (Files.exists(stage)) {
            FileTrees.delete(stage);
        }
        Files.createDirectories(stage);
        FileArchive archive = context.archive(WalArchive.AREA);
        WalArchive wal = new WalArchive(archive);
        int staged = 0;
        for (String path : archive.list(systemId + "/")) {
            String name = path.substring(path.lastIndexOf('/') + 1);
            String file = name.endsWith(".partial") ? name.substring(0, name.length() - ".partial".length()) : name;
            boolean wanted = file.endsWith(".history")
                    || (file.length() == 24 && file.substring(8).compareTo(from) >= 0);
            if (wanted && !Files.exists(stage.resolve(file)) && wal.fetch(file, stage.resolve(file), dataDir)) {
                staged++;
            }
        }
        if (PgProcesses.root() && Files.exists(dataDir.resolve("PG_VERSION"))) {
            Object uid = Files.getAttribute(dataDir.resolve("PG_VERSION"), "unix:uid", LinkOption.NOFOLLOW_LINKS);
            try (Stream<Path> walk = Files.walk(stage)) {
                for (Path p : walk.toList()) {
                    Files.setAttribute(p, "unix:uid", uid, LinkOption.NOFOLLOW_LINKS);
                }
            }
        }
        LOG.info("staged {} WAL files in {}; remove it once recovery has finished", staged, stage);
    }

    /**
     * Unpacks the data tars side by side, one thread each; parent directories are made by
     * whichever stream needs them first, their attributes come with the first tar.
     */
    private static void unpackParallel(RestoreContext context, Path staging) throws IOException {
        List<String> tars = context.manifest().artifacts().stream()
                .map(a -> a.name())
                .filter(n -> n.startsWith("data-") && n.endsWith(".tar"))
                .sorted()
                .toList();
        if (tars.isEmpty()) {
            throw new CorruptDataException("backup " + context.manifest().id() + " holds no data files");
        }
        List<InputStream> streams = new ArrayList<>();
        for (String name : tars) {
            streams.add(context.openArtifact(name)); // opened here: the context is not thread-safe
        }
        try {
            List<IoTask> tasks = new ArrayList<>();
            for (InputStream in : streams) {
                tasks.add(() -> new TarExtractor(staging, true, List.of()).unpack(in, staging));
            }
            runAll("drkit-pg-restore", tasks, "restoring");
        } finally {
            for (InputStream in : streams) {
                try {
                    in.close();
                } catch (IOException ignored) {
                    // already reported
                }
            }
        }
    }

    /**
     * Moves each tablespace's restored contents to its location (the original one, or
     * {@code tablespace-OID}), links it from {@code pg_tblspc} and writes the locations into
     * the tablespace map PostgreSQL reads when recovery starts.
     */
    @SuppressWarnings("unchecked")
    private static void relocateTablespaces(RestoreContext context, Path staging) throws IOException {
        Object recorded = context.manifest().metadata().get("tablespaces");
        if (!(recorded instanceof Map) || ((Map<String, Object>) recorded).isEmpty()) {
            return;
        }
        StringBuilder map = new StringBuilder();
        for (Map.Entry<String, Object> e : ((Map<String, Object>) recorded).entrySet()) {
            String oid = e.getKey();
            Path location = Path.of(context.options().get("tablespace-" + oid, String.valueOf(e.getValue())));
            if (Files.exists(location, LinkOption.NOFOLLOW_LINKS) && !isEmpty(location)) {
                if (!context.force()) {
                    throw new DestinationNotEmptyException("tablespace " + oid + "'s location " + location + " is not "
                            + "empty; give it another location with setting 'tablespace-" + oid + "', or restore with "
                            + "RestoreRequest.force");
                }
                FileTrees.delete(location);
            } else if (Files.exists(location, LinkOption.NOFOLLOW_LINKS)) {
                Files.delete(location);
            }
            Path restored = staging.resolve("pg_tblspc").resolve(oid);
            Files.createDirectories(location.toAbsolutePath().getParent());
            try {
                Files.move(restored, location, StandardCopyOption.ATOMIC_MOVE);
            } catch (AtomicMoveNotSupportedException crossDevice) {
                copyTree(restored, location);
                FileTrees.delete(restored);
            }
            Files.createSymbolicLink(restored, location.toAbsolutePath());
            map.append(oid).append(' ').append(location.toAbsolutePath()).append('\n');
        }
        Files.writeString(staging.resolve(TABLESPACE_MAP), map.toString());
        Files.setPosixFilePermissions(staging.resolve(TABLESPACE_MAP), PosixFilePermissions.fromString("rw-------"));
    }

    private static void copyTree(Path from, Path to) throws IOException {
        try (Stream<Path> walk = Files.walk(from)) {
            for (Path p : walk.toList()) {
                Path target = to.resolve(from.relativize(p).toString());
                Files.copy(p, target, StandardCopyOption.COPY_ATTRIBUTES, LinkOption.NOFOLLOW_LINKS);
            }
        }
    }

    /** An incremental backup's unchanged files come from the backups that hold them. */
    private static void unpackReferenced(RestoreContext context, Path staging) throws IOException {
        if (context.manifest().artifact(FILE_LIST).isEmpty()) {
            return;
        }
        Map<String, Set<String>> wanted = new TreeMap<>(); // "backup/artifact" -> names
        try (InputStream in = context.openArtifact(FILE_LIST)) {
            for (String line : new String(in.readAllBytes(), StandardCharsets.UTF_8).split("\n")) {
                if (!line.isBlank()) {
                    FileEntry e = FileEntry.parse(line);
                    if (!e.backup().equals(context.manifest().id())) {
                        wanted.computeIfAbsent(e.backup() + "/" + e.artifact(), k -> new HashSet<>())
                                .add(e.name());
                    }
                }
            }
        }
        for (Map.Entry<String, Set<String>> w : wanted.entrySet()) {
            int slash = w.getKey().indexOf('/');
            Set<String> names = w.getValue();
            try (InputStream in = context.openArtifact(
                    w.getKey().substring(0, slash), w.getKey().substring(slash + 1))) {
                new TarExtractor(staging, true, List.of()).unpack(in, staging, names::contains);
            }
            for (String name : names) {
                if (!Files.exists(staging.resolve(name), LinkOption.NOFOLLOW_LINKS)) {
                    throw new CorruptDataException(name + " should come from backup " + w.getKey()
                            + " but is not in it; the backup chain is damaged, restore a full backup");
                }
            }
        }
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

    private static void copyArtifact(RestoreContext context, String name, Path target) throws IOException {
        try (InputStream in = context.openArtifact(name);
                OutputStream out = Files.newOutputStream(
                        target,
                        StandardOpenOption.CREATE,
                        StandardOpenOption.TRUNCATE_EXISTING,
                        StandardOpenOption.WRITE)) {
            in.transferTo(out);
        }
        Files.setPosixFilePermissions(target, PosixFilePermissions.fromString("rw-------"));
    }

    /**
     * Run as root, the restore leaves the files it wrote itself (label, settings, pg_control,
     * the directories) owned by the cluster's owner, as recorded in the backup.
     */
    private static void giveToClusterOwner(Path staging) throws IOException {
        if (!PgProcesses.root() || !Files.exists(staging.resolve("PG_VERSION"))) {
            return;
        }
        Object uid = Files.getAttribute(staging.resolve("PG_VERSION"), "unix:uid", LinkOption.NOFOLLOW_LINKS);
        Object gid = Files.getAttribute(staging.resolve("PG_VERSION"), "unix:gid", LinkOption.NOFOLLOW_LINKS);
        try (Stream<Path> walk = Files.walk(staging)) {
            for (Path p : walk.toList()) {
                if (!uid.equals(Files.getAttribute(p, "unix:uid", LinkOption.NOFOLLOW_LINKS))) {
                    Files.setAttribute(p, "unix:uid", uid, LinkOption.NOFOLLOW_LINKS);
                    Files.setAttribute(p, "unix:gid", gid, LinkOption.NOFOLLOW_LINKS);
                }
            }
        }
    }

    /** Moves the verified tree into place (replacing an existing directory only when forced). */
    private static void install(Path staging, Path dest) throws IOException {
        if (Files.exists(dest)) {
            FileTrees.delete(dest);
        }
        Files.move(staging, dest, StandardCopyOption.ATOMIC_MOVE);
    }

    private static boolean isEmpty(Path dir) throws IOException {
        if (!Files.isDirectory(dir)) {
            return false;
        }
        try (Stream<Path> s = Files.list(dir)) {
            return s.findAny().isEmpty();
        }
    }

    private static String single(Connection c, String sql) throws SQLException {
        try (PreparedStatement s = c.prepareStatement(sql);
                ResultSet rs = s.executeQuery()) {
            rs.next();
            return rs.getString(1);
        }
    }
}
