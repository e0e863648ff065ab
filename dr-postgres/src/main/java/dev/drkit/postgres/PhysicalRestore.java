package dev.drkit.postgres;

import dev.drkit.BackupManifest;
import dev.drkit.ConfigException;
import dev.drkit.CorruptDataException;
import dev.drkit.DestinationNotEmptyException;
import dev.drkit.DrException;
import dev.drkit.DrException.ErrorCode;
import dev.drkit.Settings;
import dev.drkit.UnsafeArchiveException;
import dev.drkit.spi.FileArchive;
import dev.drkit.spi.RestoreContext;
import dev.drkit.spi.support.FileTrees;
import dev.drkit.spi.support.TarEntryReader;
import dev.drkit.spi.support.TarExtractor;
import java.io.IOException;
import java.io.InputStream;
import java.io.InterruptedIOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.channels.ClosedByInterruptException;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.OpenOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.GroupPrincipal;
import java.nio.file.attribute.PosixFileAttributeView;
import java.nio.file.attribute.PosixFileAttributes;
import java.nio.file.attribute.PosixFilePermissions;
import java.nio.file.attribute.UserPrincipal;
import java.nio.file.attribute.UserPrincipalLookupService;
import java.nio.file.attribute.UserPrincipalNotFoundException;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SortedSet;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Consumer;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Puts a base backup into a data directory: unpacked into a private staging directory beside
 * it (the data tars side by side, an incremental backup's unchanged files from the backups that
 * hold them), with the backup label, the tablespaces at their locations, the recovery settings
 * and {@code recovery.signal}, and {@code global/pg_control} last; then moved into place.
 */
final class PhysicalRestore {
    private static final Logger LOG = LoggerFactory.getLogger(PhysicalRestore.class);

    private PhysicalRestore() {}

    /**
     * Restores the context's backup into {@code dest} (a new or empty directory; an existing one
     * is replaced only when forced).
     *
     * @param recovery the lines added to {@code postgresql.auto.conf}
     * @param tablespaces tablespace OID to the location its contents go to
     * @param walStage where the backup's WAL is copied for recovery to read first, or null
     */
    static void into(
            RestoreContext context,
            Path dest,
            List<String> recovery,
            Map<String, Path> tablespaces,
            Path walStage,
            long followTimeline)
            throws IOException {
        Path target = destination(dest, "setting 'to'");
        if (Files.exists(target, LinkOption.NOFOLLOW_LINKS)
                && (!Files.isDirectory(target, LinkOption.NOFOLLOW_LINKS) || StagedDirectory.holdsData(target))
                && !context.force()) {
            throw new DestinationNotEmptyException(dest + " is not empty; restore into a new directory, or stop the "
                    + "cluster there and restore with RestoreRequest.force to replace it");
        }
        // inside the destination when it is a directory (a mounted volume), else beside it; the
        // ones killed restores left go
        StagedDirectory data = StagedDirectory.create(target, "the data directory");
        List<StagedDirectory> placed = new ArrayList<>(List.of(data));
        Path staging = data.staging();
        DurableTree.WriteBehind writeBehind = new DurableTree.WriteBehind();
        try {
            long t0 = System.nanoTime();
            materialize(context, staging, writeBehind::written, writeBehind::writtenInPart);
            long t1 = System.nanoTime();
            writeBehind.close();
            LOG.debug(
                    "data files written in {} ms, synced {} ms after",
                    (t1 - t0) / 1_000_000,
                    (System.nanoTime() - t1) / 1_000_000);
            checkPageMaps(context);
            copyArtifact(
                    context, PostgresPhysicalTarget.BACKUP_LABEL, staging.resolve(PostgresPhysicalTarget.BACKUP_LABEL));
            // no tablespace_map of the backup's own: PostgreSQL links every tablespace it names
            // where it says, so the restore writes one of the locations it checked, or none
            relocateTablespaces(context, staging, target, tablespaces, placed);
            for (String dir : DataDirectoryScan.EMPTY_DIRS) {
                Files.createDirectories(staging.resolve(dir));
            }
            Files.createDirectories(staging.resolve("pg_wal").resolve("archive_status"));
            writeRecoverySettings(staging, context.manifest().id(), recovery);
            Files.createDirectories(staging.resolve("global"));
            copyArtifact(
                    context,
                    PostgresPhysicalTarget.PG_CONTROL,
                    staging.resolve("global").resolve("pg_control"));
            Files.setPosixFilePermissions(staging, PosixFilePermissions.fromString("rwx------"));
            if (walStage != null) {
                stageWal(context, staging, walStage, followTimeline);
            }
            List<Path> spaces = placed.subList(1, placed.size()).stream()
                    .map(StagedDirectory::staging)
                    .toList();
            giveToClusterOwner(context, target, staging, spaces, walStage);
            makeDurable(staging, spaces, walStage);
            install(placed, context.force());
        } catch (IOException | RuntimeException | Error failed) { // an Error too: the sync threads and the copy go
            writeBehind.abandon();
            for (StagedDirectory d : placed) {
                try {
                    d.discard();
                } catch (RuntimeException cleanup) {
                    failed.addSuppressed(cleanup); // the failure that stopped the restore is the one to report
                }
            }
            throw failed;
        }
        placed.forEach(StagedDirectory::finish);
        for (StagedDirectory d : placed) {
            DurableTree.force(d.dest()); // the renames into it (or into the directory above)
            DurableTree.forceParents(d.dest());
        }
    }

    /**
     * Where a restore to {@code dest} puts a tree (the data directory, a tablespace): {@code dest},
     * or the directory it leads to when it is a symbolic link to an empty one (the operator's
     * layout, such as {@code /var/lib/postgresql/data -> /mnt/volume/data}: the link stays, and
     * the data goes to the volume rather than into the link's place). Data is never replaced
     * through a link, which whoever may write where it stands could have planted: a link to a
     * directory that holds data is refused, forced or not.
     *
     * @param given how to name another place, for the message
     */
    static Path destination(Path dest, String given) throws IOException {
        Path abs = dest.toAbsolutePath().normalize();
        if (Files.isSymbolicLink(abs) && Files.isDirectory(abs)) {
            Path real = abs.toRealPath();
            if (StagedDirectory.holdsData(real)) {
                throw new DestinationNotEmptyException(abs + " is a symbolic link to " + real + ", which holds data; "
                        + "a restore does not replace data through a link: name " + real + " itself with " + given
                        + " to replace it (with RestoreRequest.force), or another place");
            }
            return real;
        }
        return abs;
    }

    /**
     * Puts the backup's data files into {@code staging}: its own tars, the files it takes from
     * earlier backups, and the files rebuilt from page deltas (each checked against its recorded
     * CRC-32C). Neither {@code global/pg_control} nor the label nor WAL: the caller adds those.
     */
    static void materialize(RestoreContext context, Path staging) throws IOException {
        materialize(context, staging, file -> {}, file -> {});
    }

    /**
     * {@link #materialize(RestoreContext, Path)}, telling {@code written} of each file once it is
     * whole, and {@code inPart} of a file rebuilt from page deltas each time another part of it was
     * written (see {@link ChainRebuild#ChainRebuild(Path, List, Consumer, Consumer)}).
     */
    static void materialize(RestoreContext context, Path staging, Consumer<Path> written, Consumer<Path> inPart)
            throws IOException {
        try {
            materializeFiles(context, staging, written, inPart);
            requireOwnPlaces(staging, context.manifest().id());
        } catch (ClosedByInterruptException e) {
            // a file channel of this thread, closed by the interrupt: it carries no message of its own
            Thread.currentThread().interrupt();
            throw new DrException(ErrorCode.INTERRUPTED, "interrupted while restoring the data files", e);
        }
    }

    /**
     * The directories a restore (or a synthetic full) creates or writes in after the data files,
     * tablespaces' first: as the data files left them, each must be a real directory or absent.
     */
    private static final List<String> OWN_DIRECTORIES = ownDirectories();
    /** How the restore writes its own files: created or replaced, never through a link. */
    private static final OpenOption[] WRITE_OWN = {
        StandardOpenOption.CREATE,
        StandardOpenOption.TRUNCATE_EXISTING,
        StandardOpenOption.WRITE,
        LinkOption.NOFOLLOW_LINKS
    };
    /** The files a restore writes itself after the data files: each must be a regular file or absent. */
    private static final List<String> OWN_FILES = List.of(
            PostgresPhysicalTarget.BACKUP_LABEL,
            PostgresPhysicalTarget.TABLESPACE_MAP,
            "postgresql.auto.conf",
            "recovery.signal",
            "global/pg_control");

    private static List<String> ownDirectories() {
        List<String> dirs = new ArrayList<>(new TreeSet<>(DataDirectoryScan.EMPTY_DIRS));
        dirs.addAll(List.of("global", "pg_tblspc", "pg_wal/archive_status"));
        return List.copyOf(dirs);
    }

    /**
     * Refuses data files that put a link (or anything but what the restore expects) where the
     * restore then writes or creates its own files and directories, and anything but a
     * directory under {@code pg_tblspc} (tablespaces come as directories; the restore links
     * them itself): written through, such a link would make the restore write outside its
     * destination, and a synthetic full read a directory of the host into the repository. A
     * backup drkit wrote never holds one (its own files are left out of the data, a linked
     * {@code pg_wal} is stored as a directory), so this is a forged or damaged backup.
     */
    static void requireOwnPlaces(Path staging, String backup) throws IOException {
        for (String name : OWN_DIRECTORIES) {
            if (!kindIs(staging.resolve(name), true)) {
                throw notOwn(backup, name, "directory");
            }
        }
        for (String name : OWN_FILES) {
            if (!kindIs(staging.resolve(name), false)) {
                throw notOwn(backup, name, "file");
            }
        }
        requireNoServerLinks(staging, backup);
        Path tablespaces = staging.resolve("pg_tblspc");
        if (Files.isDirectory(tablespaces, LinkOption.NOFOLLOW_LINKS)) {
            try (Stream<Path> s = Files.list(tablespaces)) {
                for (Path p : s.toList()) {
                    if (!Files.isDirectory(p, LinkOption.NOFOLLOW_LINKS)) {
                        throw notOwn(backup, "pg_tblspc/" + p.getFileName(), "tablespace directory");
                    }
                }
            }
        }
    }

    /**
     * Files at the top of a data directory that the server writes (or takes for its own) when it
     * starts: a link in their place would have it write through the link.
     */
    private static final Set<String> SERVER_FILES = Set.of(
            "PG_VERSION", "postmaster.opts", "postmaster.pid", "current_logfiles", "standby.signal", "base", "global");

    /**
     * Refuses symbolic links where the restored server would write through them: anywhere below
     * the top of the data directory (relation files, transaction status, tablespaces'
     * contents: PostgreSQL makes no link there) and at the top in place of the server's own files
     * and directories. A link at the top to what the server only reads (a configuration file, a
     * certificate, as some installations keep) is left as the backup holds it.
     */
    private static void requireNoServerLinks(Path staging, String backup) throws IOException {
        for (Path p : FileTrees.list(staging, d -> true)) {
            if (!Files.isSymbolicLink(p)) {
                continue;
            }
            Path rel = staging.relativize(p);
            String top = rel.getName(0).toString();
            if (rel.getNameCount() > 1 || SERVER_FILES.contains(top) || top.startsWith("pg_")) {
                throw new UnsafeArchiveException("the data files of backup " + backup + " hold a symbolic link at "
                        + TarEntryReader.printable(rel.toString()) + ", where PostgreSQL, started on the restored "
                        + "directory, would write through it; a backup of this drkit holds none there, so this one "
                        + "was tampered with or is damaged: restore another one");
            }
        }
    }

    /** Whether nothing is at {@code p}, or a directory (a regular file when not {@code directory}), not a link. */
    private static boolean kindIs(Path p, boolean directory) throws IOException {
        BasicFileAttributes a;
        try {
            a = Files.readAttributes(p, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
        } catch (NoSuchFileException e) {
            return true;
        }
        return directory ? a.isDirectory() : a.isRegularFile();
    }

    private static UnsafeArchiveException notOwn(String backup, String name, String what) {
        return new UnsafeArchiveException("the data files of backup " + backup + " put a link or something else "
                + "where the restore writes its own " + what + " " + name + ", and the restore never writes through "
                + "one; a backup of this drkit holds none there, so this one was tampered with or is damaged (or "
                + "taken from a data directory where " + name + " is a link): restore another one");
    }

    private static void materializeFiles(
            RestoreContext context, Path staging, Consumer<Path> written, Consumer<Path> inPart) throws IOException {
        unpackParallel(context, staging, written);
        List<FileList.FileEntry> files = fileList(context);
        List<FileList.FileEntry> paged =
                files.stream().filter(e -> !e.deltas().isEmpty()).toList();
        SharedOpens opens = new SharedOpens(context);
        if (paged.isEmpty()) {
            unpackReferenced(context, opens, staging, files, null, written, List.of());
            return;
        }
        long t0 = System.nanoTime();
        List<String> newestFirst = new ArrayList<>(chainOrder(paged));
        requireDependencies(context.manifest(), newestFirst);
        Collections.reverse(newestFirst);
        try (ChainRebuild rebuild = new ChainRebuild(staging, paged, written, inPart)) {
            // the deltas claim their pages, newest first, while the base versions fill in the pages left
            unpackReferenced(
                    context,
                    opens,
                    staging,
                    files,
                    rebuild,
                    written,
                    pageDeltaReaders(opens, rebuild, paged, newestFirst));
            rebuild.finish();
        }
        LOG.info(
                "rebuilt {} files from page deltas of {} backups in {} ms",
                paged.size(),
                newestFirst.size(),
                (System.nanoTime() - t0) / 1_000_000);
    }

    /** Refuses page deltas of a backup the restored one does not depend on, before any is read. */
    private static void requireDependencies(BackupManifest head, List<String> chain) {
        Set<String> known = new HashSet<>(head.dependsOn());
        known.add(head.id());
        if (head.parent() != null) {
            known.add(head.parent());
        }
        for (String backup : chain) {
            if (!known.contains(backup)) {
                throw new CorruptDataException("the file list of backup " + head.id() + " names page deltas of backup "
                        + TarEntryReader.printable(backup) + ", which it does not depend on; the "
                        + "backup is damaged, restore another one");
            }
        }
    }

    /** Opens an artifact of the restored backup or of one it depends on. */
    private static InputStream open(RestoreContext context, String backup, String name) throws IOException {
        return backup.equals(context.manifest().id()) ? context.openArtifact(name) : context.openArtifact(backup, name);
    }

    /**
     * {@link #open} of "backup/artifact" keys from any of the threads of a restore: the context
     * is not thread-safe, so opens take turns. A thread waiting for its turn can be interrupted
     * (a cancelled restore does not wait behind an open that hangs on a storage that stopped
     * answering), which a monitor would not allow.
     */
    static final class SharedOpens {
        private final RestoreContext context;
        private final ReentrantLock turn = new ReentrantLock();

        SharedOpens(RestoreContext context) {
            this.context = context;
        }

        InputStream open(String key) throws IOException {
            int slash = key.indexOf('/');
            try {
                turn.lockInterruptibly();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new InterruptedIOException("interrupted while waiting to open " + key);
            }
            try {
                return PhysicalRestore.open(context, key.substring(0, slash), key.substring(slash + 1));
            } finally {
                turn.unlock();
            }
        }
    }

    /**
     * Appends the recovery settings to {@code postgresql.auto.conf} and asks for recovery. The
     * file's bytes stay as they are (the server's encoding need not be UTF-8) and are not read:
     * the backup gives the file, of any size.
     */
    private static void writeRecoverySettings(Path staging, String backupId, List<String> recovery) throws IOException {
        Path auto = staging.resolve("postgresql.auto.conf");
        StringBuilder b = new StringBuilder();
        try (FileChannel ch = FileChannel.open(
                auto,
                StandardOpenOption.CREATE,
                StandardOpenOption.READ,
                StandardOpenOption.WRITE,
                LinkOption.NOFOLLOW_LINKS)) {
            long size = ch.size();
            ByteBuffer last = ByteBuffer.allocate(1);
            if (size > 0 && ch.read(last, size - 1) == 1 && last.get(0) != '\n') {
                b.append('\n');
            }
            b.append("# added by drkit restore of backup ").append(backupId).append('\n');
            recovery.forEach(line -> b.append(line).append('\n'));
            ByteBuffer settings = ByteBuffer.wrap(b.toString().getBytes(StandardCharsets.UTF_8));
            for (long at = size; settings.hasRemaining(); ) {
                at += ch.write(settings, at);
            }
        }
        Files.write(staging.resolve("recovery.signal"), new byte[0], WRITE_OWN);
    }

    /**
     * Unpacks the data tars side by side, one thread each; parent directories are made by
     * whichever stream needs them first, their attributes come with the first tar.
     */
    private static void unpackParallel(RestoreContext context, Path staging, Consumer<Path> written)
            throws IOException {
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
            List<ParallelIo.IoTask> tasks = new ArrayList<>();
            for (InputStream in : streams) {
                tasks.add(() -> new TarExtractor(staging, true, List.of())
                        .onFileWritten(written)
                        .unpack(in, staging));
            }
            ParallelIo.runAll("drkit-pg-restore", tasks, "restoring");
        } finally {
            closeAll(streams);
        }
    }

    /** Closes streams opened for parallel work; a failure to close was reported by the read that failed. */
    private static void closeAll(List<InputStream> streams) {
        for (InputStream in : streams) {
            try {
                in.close();
            } catch (IOException ignored) {
                // already reported
            }
        }
    }

    /** The backup's file list; empty for a backup written before drkit kept one. */
    private static List<FileList.FileEntry> fileList(RestoreContext context) throws IOException {
        if (context.manifest().artifact(PostgresPhysicalTarget.FILE_LIST).isEmpty()) {
            return List.of();
        }
        try (InputStream in = context.openArtifact(PostgresPhysicalTarget.FILE_LIST)) {
            return FileList.parse(in);
        }
    }

    /**
     * An incremental backup's unchanged files come from the backups that hold them, several
     * tars side by side; the base versions of the files rebuilt from page deltas go to
     * {@code rebuild} (null when there are none), which takes only the pages no delta replaced.
     * The {@code alongside} tasks (the readers of page deltas) run at the same time.
     */
    private static void unpackReferenced(
            RestoreContext context,
            SharedOpens opens,
            Path staging,
            List<FileList.FileEntry> files,
            ChainRebuild rebuild,
            Consumer<Path> written,
            List<ParallelIo.IoTask> alongside)
            throws IOException {
        String id = context.manifest().id();
        Map<String, Set<String>> wanted = new TreeMap<>(); // "backup/artifact" -> names
        for (FileList.FileEntry e : files) {
            if (!e.backup().equals(id)) {
                wanted.computeIfAbsent(e.backup() + "/" + e.artifact(), k -> new HashSet<>())
                        .add(e.name());
            }
        }
        // side by side, as many at a time as a full restore unpacks its own tars, each opened when
        // its turn comes (a stream opened early holds a storage connection idle)
        List<String> keys = new ArrayList<>(wanted.keySet());
        AtomicInteger next = new AtomicInteger();
        List<ParallelIo.IoTask> tasks = new ArrayList<>(alongside);
        int workers = Math.max(
                1, Math.min(keys.size(), Math.min(4, Runtime.getRuntime().availableProcessors())));
        for (int t = 0; t < workers; t++) {
            tasks.add(() -> {
                try {
                    for (int i; (i = next.getAndIncrement()) < keys.size(); ) {
                        String key = keys.get(i);
                        Set<String> names = wanted.get(key);
                        try (InputStream in = opens.open(key)) {
                            new TarExtractor(staging, true, List.of())
                                    .onFileWritten(written)
                                    .unpack(
                                            in,
                                            staging,
                                            names::contains,
                                            name -> rebuild == null ? null : rebuild.base(name));
                        }
                    }
                } catch (IOException | RuntimeException | Error e) {
                    if (rebuild != null) {
                        rebuild.failed(e); // the readers of deltas stop rather than read to the end
                    }
                    throw e;
                }
            });
        }
        ParallelIo.runAll("drkit-pg-restore", tasks, "restoring the files of earlier backups");
        for (Map.Entry<String, Set<String>> w : wanted.entrySet()) {
            for (String name : w.getValue()) {
                if (!Files.exists(staging.resolve(name), LinkOption.NOFOLLOW_LINKS)) {
                    throw new CorruptDataException(name + " should come from backup " + w.getKey()
                            + " but is not in it; the backup chain is damaged, restore a full backup");
                }
            }
        }
    }

    /**
     * The readers of the page deltas of each backup of the chain, one per artifact, newest
     * backup first, run a few at a time by {@link ChainRebuild#inOrder}; each opens its artifact
     * when it starts, so that only those running hold one open.
     */
    private static List<ParallelIo.IoTask> pageDeltaReaders(
            SharedOpens opens, ChainRebuild rebuild, List<FileList.FileEntry> paged, List<String> newestFirst) {
        Map<String, Map<String, Long>> wanted = deltaArtifacts(paged);
        List<ParallelIo.IoTask> readers = new ArrayList<>();
        for (String key : readingOrder(wanted.keySet(), newestFirst)) {
            readers.add(() -> {
                try {
                    try (InputStream in = opens.open(key)) {
                        rebuild.delta(in, key, wanted.get(key));
                    }
                } catch (IOException | RuntimeException | Error e) {
                    rebuild.failed(e); // the older deltas' readers and the bases wait on this one
                    throw e;
                }
            });
        }
        return rebuild.inOrder(readers);
    }

    /**
     * The artifacts of page deltas the paged files need, "backup/artifact" to the names of the
     * files each rebuilds, each with the size its deltas must give it when they are its newest
     * (else -1).
     */
    static Map<String, Map<String, Long>> deltaArtifacts(List<FileList.FileEntry> paged) {
        Map<String, Map<String, Long>> wanted = new HashMap<>();
        for (FileList.FileEntry e : paged) {
            for (int i = 0; i < e.deltas().size(); i++) {
                long size = i == e.deltas().size() - 1 ? e.size() : -1;
                wanted.computeIfAbsent(e.deltas().get(i), k -> new HashMap<>()).put(e.name(), size);
            }
        }
        return wanted;
    }

    /** The order the artifacts of page deltas are read in: the newest backup's first, by name within one. */
    static List<String> readingOrder(Set<String> artifacts, List<String> newestFirst) {
        Map<String, SortedSet<String>> byBackup = new HashMap<>();
        for (String key : artifacts) {
            byBackup.computeIfAbsent(key.substring(0, key.indexOf('/')), k -> new TreeSet<>())
                    .add(key);
        }
        List<String> order = new ArrayList<>();
        for (String backup : newestFirst) {
            order.addAll(byBackup.getOrDefault(backup, Collections.emptySortedSet()));
        }
        return order;
    }

    /**
     * The backup's page maps are read through (checked by the repository and parsed): a restore
     * does not need them, but the next incremental backup does, so a restore test covers them.
     */
    private static void checkPageMaps(RestoreContext context) throws IOException {
        PageMaps.readAllThrough(context.manifest(), context::openArtifact);
    }

    /** The backups whose deltas the files need, oldest first (each file lists its deltas in chain order). */
    static List<String> chainOrder(List<FileList.FileEntry> paged) {
        // each file's deltas, oldest first, say which backup comes right before which: those edges
        // alone order the chain (in time and memory linear in what the file list names, however
        // long a forged one makes it); among backups free to go next, the smallest id first
        Map<String, Set<String>> after = new HashMap<>(); // backup -> backups that come right after it
        Map<String, Integer> waitingFor = new HashMap<>(); // backup -> backups still to be placed before it
        for (FileList.FileEntry e : paged) {
            String previous = null;
            for (String d : e.deltas()) {
                String id = d.substring(0, d.indexOf('/'));
                after.computeIfAbsent(id, k -> new HashSet<>());
                waitingFor.putIfAbsent(id, 0);
                if (previous != null && after.get(previous).add(id)) {
                    waitingFor.merge(id, 1, Integer::sum);
                }
                previous = id;
            }
        }
        TreeSet<String> ready = new TreeSet<>();
        waitingFor.forEach((id, n) -> {
            if (n == 0) {
                ready.add(id);
            }
        });
        List<String> order = new ArrayList<>();
        while (!ready.isEmpty()) {
            String next = ready.pollFirst();
            order.add(next);
            for (String later : after.get(next)) {
                if (waitingFor.merge(later, -1, Integer::sum) == 0) {
                    ready.add(later);
                }
            }
        }
        if (order.size() < waitingFor.size()) {
            throw new CorruptDataException("the file list orders the page deltas of its backups in a circle; the "
                    + "backup is damaged, restore another one");
        }
        return order;
    }

    private static final Pattern TABLESPACE_OID = Pattern.compile("[1-9][0-9]{0,9}");

    private static final Pattern TABLESPACE_VERSION = Pattern.compile("PG_[0-9]+_[0-9]+");

    /**
     * Moves each tablespace's restored contents to a staging directory of its location (added to
     * {@code placed}, which {@link #install} puts in place with the data directory), links it from
     * {@code pg_tblspc} and writes the locations into the tablespace map PostgreSQL reads when
     * recovery starts.
     */
    private static void relocateTablespaces(
            RestoreContext context,
            Path staging,
            Path dest,
            Map<String, Path> tablespaces,
            List<StagedDirectory> placed)
            throws IOException {
        if (tablespaces.isEmpty()) {
            return;
        }
        String backup = context.manifest().id();
        // every tablespace checked before any location is touched: the locations not given by
        // setting come from the manifest, which whoever can write the repository can forge; each
        // compared where it really is (the links on the way resolved), as a location reached
        // through a link into the destination overlaps it however its path reads
        List<Path> taken = new ArrayList<>(List.of(resolved(dest), resolved(staging)));
        Map<String, Path> placesOf = new HashMap<>();
        for (Map.Entry<String, Path> e : tablespaces.entrySet()) {
            String oid = e.getKey();
            if (!TABLESPACE_OID.matcher(oid).matches()) {
                // one with a '/' or '..' would name a place outside the restore
                throw new CorruptDataException("backup " + backup + " records a tablespace '"
                        + TarEntryReader.printable(oid) + "', which is no tablespace OID; the backup is damaged, "
                        + "restore another one");
            }
            String given = "setting 'tablespace-" + oid + "'";
            Path location = e.getValue();
            String text = location.toString();
            if (!location.isAbsolute()
                    || !location.normalize().equals(location)
                    || text.chars().anyMatch(Character::isISOControl)) {
                throw new ConfigException("tablespace " + oid + "'s location '" + TarEntryReader.printable(text)
                        + "' is not an absolute, normalised path without control characters; give its location with "
                        + given);
            }
            Path place = destination(location, given); // a link to an empty directory: that directory
            Path real = resolved(place);
            for (Path other : taken) {
                if (real.startsWith(other) || other.startsWith(real)) {
                    throw new ConfigException("tablespace " + oid + "'s location " + location + " overlaps " + other
                            + " (the restore's destination, its staging directory or another tablespace); give it "
                            + "another location with " + given);
                }
            }
            taken.add(real);
            placesOf.put(oid, place);
            Path restored = staging.resolve("pg_tblspc").resolve(oid);
            if (!Files.isDirectory(restored, LinkOption.NOFOLLOW_LINKS)) {
                throw new CorruptDataException("backup " + backup + " records tablespace " + oid + " but holds no "
                        + "data for it; the backup is damaged, restore another one");
            }
            if (!onlyTablespaceVersions(restored, false)) {
                // whatever else it held would be written at a place the manifest names
                throw new UnsafeArchiveException("the data of tablespace " + oid + " in backup " + backup + " holds "
                        + "more than PostgreSQL's PG_<version>_<catalog> directories, which is all a tablespace "
                        + "holds; the backup was tampered with or is damaged: restore another one");
            }
            location = place;
            if (Files.exists(location, LinkOption.NOFOLLOW_LINKS)) {
                if (!Files.isDirectory(location, LinkOption.NOFOLLOW_LINKS)) {
                    throw new DestinationNotEmptyException("tablespace " + oid + "'s location " + location + " is "
                            + "there and not a directory; remove it, or give the tablespace another location with "
                            + given);
                }
                if (StagedDirectory.holdsData(location)) {
                    if (!context.force()) {
                        throw new DestinationNotEmptyException("tablespace " + oid + "'s location " + location
                                + " is not empty; give it another location with " + given + ", or restore with "
                                + "RestoreRequest.force");
                    }
                    if (!context.options().has("tablespace-" + oid) && !onlyTablespaceVersions(location, true)) {
                        throw new DestinationNotEmptyException("tablespace " + oid + "'s location " + location
                                + ", as the backup records it, holds more than a PostgreSQL tablespace (whose "
                                + "directory holds only PG_<version>_<catalog> directories): a restore with "
                                + "RestoreRequest.force replaces such a directory only when it was named by " + given
                                + "; empty it, or name it so");
                    }
                }
            }
        }
        StringBuilder map = new StringBuilder();
        for (Map.Entry<String, Path> e : tablespaces.entrySet()) {
            String oid = e.getKey();
            Path location = e.getValue();
            // nothing of what stands there is touched until the restore installs the new tree
            StagedDirectory space = StagedDirectory.create(placesOf.get(oid), "tablespace " + oid + "'s location");
            placed.add(space);
            Path restored = staging.resolve("pg_tblspc").resolve(oid);
            try {
                Files.move(restored, space.staging(), StandardCopyOption.ATOMIC_MOVE); // onto the empty staging
            } catch (AtomicMoveNotSupportedException crossDevice) {
                copyInto(restored, space.staging());
                FileTrees.delete(restored);
            }
            Files.createSymbolicLink(restored, location);
            // as PostgreSQL writes it: a backslash escapes the next character
            map.append(oid)
                    .append(' ')
                    .append(location.toString().replace("\\", "\\\\"))
                    .append('\n');
        }
        Path mapFile = staging.resolve(PostgresPhysicalTarget.TABLESPACE_MAP);
        Files.write(mapFile, map.toString().getBytes(StandardCharsets.UTF_8), WRITE_OWN);
        Files.setPosixFilePermissions(mapFile, PosixFilePermissions.fromString("rw-------"));
    }

    /**
     * Whether a directory holds nothing but PostgreSQL's per-version tablespace directories
     * ({@code PG_15_202209061}), and restores' staging directories if {@code staging}.
     */
    private static boolean onlyTablespaceVersions(Path dir, boolean staging) throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            return s.allMatch(p -> (staging && TarExtractor.isStaging(p))
                    || (TABLESPACE_VERSION.matcher(p.getFileName().toString()).matches()
                            && Files.isDirectory(p, LinkOption.NOFOLLOW_LINKS)));
        }
    }

    /** {@code p} with the links of the part of it that exists resolved: where it really is. */
    static Path resolved(Path p) throws IOException {
        Path abs = p.toAbsolutePath().normalize();
        Path existing = abs;
        while (existing != null && !Files.exists(existing)) {
            existing = existing.getParent();
        }
        return existing == null
                ? abs
                : existing.toRealPath().resolve(existing.relativize(abs).toString());
    }

    /**
     * Copies a restored tree into the existing directory {@code to} on another file system, links
     * as links, with modes, times and (as root) owners; {@code to} takes the mode of {@code from}.
     */
    private static void copyInto(Path from, Path to) throws IOException {
        try (Stream<Path> walk = Files.walk(from)) {
            for (Path p : walk.toList()) {
                if (!p.equals(from)) {
                    Path target = to.resolve(from.relativize(p).toString());
                    Files.copy(p, target, StandardCopyOption.COPY_ATTRIBUTES, LinkOption.NOFOLLOW_LINKS);
                }
            }
        }
        Files.setPosixFilePermissions(to, Files.getPosixFilePermissions(from, LinkOption.NOFOLLOW_LINKS));
    }

    /**
     * Copies every archived WAL file of the cluster from the backup's start on (all timelines,
     * history files, an incomplete segment under its segment name) into {@code stage},
     * which the restore_command reads first; remove it once recovery has finished.
     */
    static void stageWal(RestoreContext context, Path dataDir, Path stage, long followTimeline) throws IOException {
        Map<String, Object> meta = context.manifest().metadata();
        String systemId = String.valueOf(meta.get("systemIdentifier"));
        String from = String.valueOf(meta.get("walStart")).substring(8);
        // the cluster's WAL in plain text, left beside the data directory: as private as it, as a spool is
        WalPrefetch.resetSpool(stage, dataDir);
        FileArchive archive = context.archive(WalArchive.AREA);
        WalArchive wal = new WalArchive(archive).following(followTimeline);
        int staged = 0;
        for (String path : archive.list(systemId + "/")) {
            String name = path.substring(path.lastIndexOf('/') + 1);
            String file = name.endsWith(".partial")
                    ? name.substring(0, name.length() - ".partial".length())
                    : name.endsWith(WalArchive.STREAMED_SUFFIX)
                            ? name.substring(0, name.length() - WalArchive.STREAMED_SUFFIX.length())
                            : name;
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

    /** Copies an artifact to {@code target} (created or replaced) and makes it private to its owner. */
    static void copyArtifact(RestoreContext context, String name, Path target) throws IOException {
        try (InputStream in = context.openArtifact(name);
                OutputStream out = Files.newOutputStream(target, WRITE_OWN)) {
            in.transferTo(out);
        }
        Files.setPosixFilePermissions(target, PosixFilePermissions.fromString("rw-------"));
    }

    /**
     * Run as root, the restore gives everything it wrote (the data directory, the tablespaces'
     * contents, the staged WAL, which the server's restore_command reads) to the cluster's owner:
     * the user setting {@code cluster-owner} names; without it, the owner of the directory above
     * the destination when that is not root; else the owner the backup records, only when that
     * is the user named {@code postgres}. A backup records whatever its writer chose, and the
     * restored cluster runs as its owner (with {@code start}), so any other recorded owner is
     * refused rather than taken.
     */
    private static void giveToClusterOwner(
            RestoreContext context, Path dest, Path staging, Collection<Path> tablespaces, Path walStage)
            throws IOException {
        if (!PgProcesses.root() || !Files.exists(staging.resolve("PG_VERSION"), LinkOption.NOFOLLOW_LINKS)) {
            return;
        }
        Owner owner = clusterOwner(context.options(), dest, staging.resolve("PG_VERSION"));
        List<Path> trees = new ArrayList<>(List.of(staging));
        trees.addAll(tablespaces);
        if (walStage != null) {
            trees.add(walStage);
        }
        for (Path tree : trees) {
            try (Stream<Path> walk = Files.walk(tree)) {
                for (Path p : walk.toList()) {
                    PosixFileAttributeView view =
                            Files.getFileAttributeView(p, PosixFileAttributeView.class, LinkOption.NOFOLLOW_LINKS);
                    PosixFileAttributes a = view.readAttributes();
                    if (!a.owner().equals(owner.user())) {
                        view.setOwner(owner.user());
                    }
                    if (!a.group().equals(owner.group())) {
                        view.setGroup(owner.group());
                    }
                }
            }
        }
    }

    /** Who a cluster restored as root belongs to. */
    record Owner(UserPrincipal user, GroupPrincipal group) {}

    /**
     * The owner of a cluster restored as root into {@code dest}: see {@link #giveToClusterOwner}.
     *
     * @param pgVersion the restored {@code PG_VERSION}, owned as the backup records
     * @throws ConfigException when no owner is named and the backup's is not {@code postgres}
     */
    static Owner clusterOwner(Settings o, Path dest, Path pgVersion) throws IOException {
        UserPrincipalLookupService names = FileSystems.getDefault().getUserPrincipalLookupService();
        String given = o.get("cluster-owner", null);
        if (given != null) {
            String[] parts = given.split(":", 2);
            UserPrincipal user;
            GroupPrincipal group;
            try {
                user = names.lookupPrincipalByName(parts[0]);
                group = parts.length == 2 ? names.lookupPrincipalByGroupName(parts[1]) : groupNamed(names, parts[0]);
            } catch (UserPrincipalNotFoundException e) {
                throw new ConfigException("setting 'cluster-owner' names " + printable(given) + ", which this host "
                        + "does not know; name the user the restored cluster is to run as (USER or USER:GROUP)");
            }
            if (user.getName().equals("root") || parts[0].equals("0")) {
                throw new ConfigException("setting 'cluster-owner' names root, whom PostgreSQL does not run as; "
                        + "name the user the restored cluster is to run as");
            }
            if (group == null) {
                group = Files.readAttributes(dest.toAbsolutePath().normalize().getParent(), PosixFileAttributes.class)
                        .group();
            }
            return new Owner(user, group);
        }
        Path parent = dest.toAbsolutePath().normalize().getParent();
        if (parent != null && !Integer.valueOf(0).equals(Files.getAttribute(parent, "unix:uid"))) {
            PosixFileAttributes above = Files.readAttributes(parent, PosixFileAttributes.class);
            GroupPrincipal group = groupNamed(names, above.owner().getName());
            return new Owner(above.owner(), group != null ? group : above.group());
        }
        PosixFileAttributes recorded =
                Files.readAttributes(pgVersion, PosixFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
        if (recorded.owner().getName().equals("postgres")) {
            // the group too is never the backup's (a forged one could name shadow or disk)
            GroupPrincipal group = groupNamed(names, "postgres");
            return new Owner(
                    recorded.owner(),
                    group != null
                            ? group
                            : Files.readAttributes(parent, PosixFileAttributes.class)
                                    .group());
        }
        throw new ConfigException("restoring as root into " + dest + ": the backup records user "
                + printable(recorded.owner().getName()) + " as the cluster's owner, which a restore does not take "
                + "from a backup (the restored cluster would belong to and run as that user); set setting "
                + "'cluster-owner' to the user it is to run as, or restore as that user, or into a directory that "
                + "user owns the directory above");
    }

    /** The group of the same name as a user (the usual primary group), when there is one. */
    private static GroupPrincipal groupNamed(UserPrincipalLookupService names, String user) throws IOException {
        try {
            return names.lookupPrincipalByGroupName(user);
        } catch (UserPrincipalNotFoundException e) {
            return null;
        }
    }

    private static String printable(String s) {
        return s.codePoints()
                .limit(64)
                .collect(
                        StringBuilder::new,
                        (b, c) -> b.appendCodePoint(c < 0x20 || c == 0x7f ? '?' : c),
                        StringBuilder::append)
                .toString();
    }

    /**
     * Syncs what the restore wrote, in the staging directory, the tablespaces' locations and the
     * WAL stage, so that the restore reports done only what a crash of the machine keeps.
     */
    private static void makeDurable(Path staging, Collection<Path> tablespaces, Path walStage) throws IOException {
        long t0 = System.nanoTime();
        int files = DurableTree.sync(staging);
        for (Path location : tablespaces) {
            files += DurableTree.sync(location);
            DurableTree.forceParents(location);
        }
        if (walStage != null) {
            files += DurableTree.sync(walStage);
        }
        LOG.debug("synced {} restored files in {} ms", files, (System.nanoTime() - t0) / 1_000_000);
    }

    /**
     * Puts the restored trees in place: every destination is checked first (what was put there
     * while the restore ran stays, unless the restore replaces it: {@code force}), then what
     * stands at each is moved aside and the new tree moved in, by renames on each destination's
     * own file system; if one fails, every rename is undone, so nothing of what stood there is
     * lost. What was moved aside is removed by {@link StagedDirectory#finish} afterwards.
     */
    static void install(List<StagedDirectory> all, boolean force) throws IOException {
        for (StagedDirectory d : all) {
            d.checkStillFree(force);
        }
        try {
            for (StagedDirectory d : all) {
                d.moveAside();
            }
            for (StagedDirectory d : all) {
                d.moveIn();
            }
        } catch (IOException | RuntimeException | Error e) {
            for (int i = all.size() - 1; i >= 0; i--) {
                all.get(i).rollBack();
            }
            throw e;
        }
    }
}
