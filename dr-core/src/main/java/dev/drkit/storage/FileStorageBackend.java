package dev.drkit.storage;

import dev.drkit.spi.ObjectInfo;
import dev.drkit.spi.ObjectUpload;
import dev.drkit.spi.StorageBackend;
import dev.drkit.spi.support.FileTrees;
import dev.drkit.spi.support.FileWrites;
import dev.drkit.spi.support.Hosts;
import dev.drkit.spi.support.ObjectKeys;
import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.InterruptedIOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.channels.Channels;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.FileChannel;
import java.nio.file.DirectoryNotEmptyException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.FileAttribute;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Repository on a local (or mounted) file system.
 *
 * <p>An upload goes to a temporary file under {@code .drkit-tmp/} in the root; commit
 * fsyncs it, links it into place with a hard link (which fails when the key exists, making
 * every commit create-if-absent), removes the temporary name and fsyncs the directory. A
 * crash therefore leaves at most an orphan in {@code .drkit-tmp/}, which is never listed.
 * The first {@link #create} of a backend removes such orphans that nobody has written to for
 * longer than the stale-upload age (an hour by default, well beyond the repository lock's
 * lease, which a live writer renews), except those of a writer process still running on this
 * host; {@link #cleanIncompleteUploads} (prune) removes them too. Thread-safe.
 */
public final class FileStorageBackend implements StorageBackend {
    private static final Logger LOG = LoggerFactory.getLogger(FileStorageBackend.class);
    static final String TMP_DIR = ".drkit-tmp";
    private static final int BUFFER = 256 * 1024;
    // backups hold secrets (env files, keys, dumps): only the owner may read the repository
    private static final FileAttribute<Set<PosixFilePermission>> PRIVATE_DIR =
            PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------"));
    private static final FileAttribute<Set<PosixFilePermission>> PRIVATE_FILE =
            PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------"));

    /** How long an upload may go unwritten before the first create of a later backend removes it. */
    public static final Duration DEFAULT_STALE_UPLOAD_AGE = Duration.ofHours(1);

    private final Path root;
    private final Path tmp;
    private final Duration staleUploadAge;
    private final AtomicBoolean staleUploadsChecked = new AtomicBoolean();
    /** The root as the file system names it, links resolved; known once it exists. */
    private volatile Path realRoot;

    /** A repository at {@code root} (created on the first write) that removes uploads stale for an hour. */
    public FileStorageBackend(Path root) throws IOException {
        this(root, DEFAULT_STALE_UPLOAD_AGE);
    }

    /**
     * A repository at {@code root} whose first {@link #create} removes temporary uploads not
     * modified for {@code staleUploadAge}, unless their writer still runs on this host.
     *
     * @throws IllegalArgumentException if {@code staleUploadAge} is not positive
     */
    public FileStorageBackend(Path root, Duration staleUploadAge) throws IOException {
        if (staleUploadAge.isNegative() || staleUploadAge.isZero()) {
            throw new IllegalArgumentException("staleUploadAge must be positive, not " + staleUploadAge);
        }
        this.root = root.toAbsolutePath().normalize();
        this.tmp = this.root.resolve(TMP_DIR);
        this.staleUploadAge = staleUploadAge;
        // created on the first write, not here: reading a mistyped path or an unmounted disk
        // must find nothing there, not make a repository directory
    }

    public Path root() {
        return root;
    }

    @Override
    public String describe() {
        return "file:" + root;
    }

    @Override
    public ObjectUpload create(String key) throws IOException {
        Path target = resolve(key);
        if (staleUploadsChecked.compareAndSet(false, true)) {
            removeStaleUploads();
        }
        // the writer's host and pid in the name let a later prune remove what a killed writer left
        Files.createDirectories(tmp, PRIVATE_DIR);
        if (!tmpIsDirectory()) {
            throw new IOException(tmp + " is not a directory but a link or another kind of file; drkit keeps its "
                    + "unfinished uploads there and makes no links in a repository: remove it");
        }
        Path part = tmp.resolve(Hosts.name() + "-" + ProcessHandle.current().pid() + "-" + UUID.randomUUID() + ".part");
        FileChannel channel =
                FileChannel.open(part, Set.of(StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE), PRIVATE_FILE);
        return new FileUpload(key, target, part, channel);
    }

    @Override
    public boolean createIfAbsent(String key, byte[] content) throws IOException {
        try (ObjectUpload upload = create(key)) {
            upload.stream().write(content);
            upload.commit();
            return true;
        } catch (FileAlreadyExistsException e) {
            return false;
        }
    }

    @Override
    public InputStream open(String key, long offset) throws IOException {
        Path p = resolve(key);
        requireContained(p.getParent(), key);
        FileChannel channel;
        try {
            // not through a link: drkit makes none in a repository, and one planted there would
            // serve a file from outside it (to a copy that carries it offsite, say)
            channel = FileChannel.open(p, StandardOpenOption.READ, LinkOption.NOFOLLOW_LINKS);
        } catch (FileSystemException e) {
            if (!(e instanceof NoSuchFileException) && Files.isSymbolicLink(p)) {
                throw new IOException(linkMessage(p));
            }
            throw e;
        }
        try {
            channel.position(offset);
        } catch (IOException | RuntimeException e) {
            channel.close();
            throw e;
        }
        return Channels.newInputStream(channel);
    }

    @Override
    public Optional<ObjectInfo> stat(String key) throws IOException {
        Path p = resolve(key);
        if (!contained(p.getParent())) {
            return Optional.empty();
        }
        try {
            BasicFileAttributes a = Files.readAttributes(p, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
            return a.isRegularFile()
                    ? Optional.of(
                            new ObjectInfo(key, a.size(), a.lastModifiedTime().toInstant()))
                    : Optional.empty();
        } catch (NoSuchFileException e) {
            return Optional.empty();
        }
    }

    @Override
    public List<ObjectInfo> list(String prefix) throws IOException {
        int slash = prefix.lastIndexOf('/');
        Path dir = slash < 0 ? root : root.resolve(prefix.substring(0, slash));
        if (!Files.isDirectory(dir)) {
            return List.of();
        }
        if (!contained(dir)) {
            LOG.warn("{}", linkMessage(dir));
            return List.of();
        }
        List<ObjectInfo> out = new ArrayList<>();
        List<Path> tree;
        Path real;
        try {
            // the folder as the file system names it: a walk does not enter a start that is a link
            // (a repository path that is one), and keys are named from the real root
            real = dir.toRealPath();
            // whole even while another process prunes: a listing cut short would hide live objects
            tree = FileTrees.list(real, d -> true);
        } catch (NoSuchFileException gone) {
            return List.of();
        }
        Path base = realRoot();
        for (Path p : tree) {
            String key = base.relativize(p).toString();
            if (key.contains("\\") || key.startsWith(TMP_DIR + "/") || !key.startsWith(prefix)) {
                // a name with a backslash is no object drkit wrote, and no valid key
                continue;
            }
            try {
                // a link is no object: only regular files are
                BasicFileAttributes a = Files.readAttributes(p, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
                if (a.isRegularFile()) {
                    out.add(new ObjectInfo(key, a.size(), a.lastModifiedTime().toInstant()));
                }
            } catch (NoSuchFileException vanished) {
                // deleted while listing: not there any more
            }
        }
        out.sort(Comparator.comparing(ObjectInfo::key));
        return out;
    }

    @Override
    public void delete(String key) throws IOException {
        Path p = resolve(key);
        requireContained(p.getParent(), key);
        Files.deleteIfExists(p);
        pruneEmptyParents(p.getParent());
    }

    /**
     * Removes temporary files left by crashed writers: those of processes on this host that
     * are gone, and any older than {@code age}.
     */
    @Override
    public int cleanIncompleteUploads(Duration age) throws IOException {
        Instant cutoff = Instant.now().minus(age);
        int removed = 0;
        for (ObjectInfo upload : incompleteUploads(age)) {
            // in the temporary directory itself, never through a link put there since it was listed
            if (tmpIsDirectory() && Files.deleteIfExists(root.resolve(upload.key()))) {
                removed++;
            }
        }
        removeEmptyFolders(cutoff);
        return removed;
    }

    /**
     * A writer killed between making a key's folder and linking its object into it leaves an
     * empty folder, which no listing shows; those older than the cutoff go (a writer that makes
     * one again right now retries its link).
     */
    private void removeEmptyFolders(Instant cutoff) throws IOException {
        List<Path> dirs;
        Path base;
        try {
            base = realRoot();
        } catch (NoSuchFileException none) {
            return;
        }
        Path realTmp = base.resolve(TMP_DIR);
        try (Stream<Path> walk = Files.walk(base)) {
            dirs = walk.filter(p -> Files.isDirectory(p, LinkOption.NOFOLLOW_LINKS)
                            && !p.equals(base)
                            && !p.startsWith(realTmp))
                    .sorted(Comparator.reverseOrder())
                    .toList();
        } catch (UncheckedIOException e) {
            return; // changed while walking: the next cleanup looks again
        }
        for (Path d : dirs) {
            try (Stream<Path> entries = Files.list(d)) {
                if (entries.findAny().isEmpty()
                        && Files.getLastModifiedTime(d).toInstant().isBefore(cutoff)) {
                    Files.deleteIfExists(d);
                }
            } catch (NoSuchFileException | DirectoryNotEmptyException gone) {
                // removed or filled meanwhile
            }
        }
    }

    @Override
    public List<ObjectInfo> incompleteUploads(Duration age) throws IOException {
        if (!tmpIsDirectory()) {
            warnIfTmpIsNoDirectory();
            return List.of();
        }
        Instant cutoff = Instant.now().minus(age);
        String mine = Hosts.name() + "-";
        List<ObjectInfo> out = new ArrayList<>();
        try (Stream<Path> parts = Files.list(tmp)) {
            for (Path p : (Iterable<Path>) parts::iterator) {
                String name = p.getFileName().toString();
                boolean here = name.startsWith(mine);
                boolean orphan = here && !processAlive(name.substring(mine.length()));
                BasicFileAttributes a = Files.readAttributes(p, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
                if (orphan || (!here && a.lastModifiedTime().toInstant().isBefore(cutoff))) {
                    out.add(new ObjectInfo(
                            TMP_DIR + "/" + name, a.size(), a.lastModifiedTime().toInstant()));
                }
            }
        }
        return out;
    }

    /**
     * One listing of the temporary directory: what a killed writer left and nobody wrote to
     * for the stale-upload age goes; a file whose writer runs on this host stays, however old.
     */
    private void removeStaleUploads() {
        if (!tmpIsDirectory()) {
            warnIfTmpIsNoDirectory();
            return;
        }
        Instant cutoff = Instant.now().minus(staleUploadAge);
        String mine = Hosts.name() + "-";
        List<String> removed = new ArrayList<>();
        try (Stream<Path> parts = Files.list(tmp)) {
            for (Path p : (Iterable<Path>) parts::iterator) {
                String name = p.getFileName().toString();
                boolean liveWriterHere = name.startsWith(mine) && processAlive(name.substring(mine.length()));
                try {
                    if (!liveWriterHere
                            && Files.getLastModifiedTime(p, LinkOption.NOFOLLOW_LINKS)
                                    .toInstant()
                                    .isBefore(cutoff)
                            && Files.deleteIfExists(p)) {
                        removed.add(name);
                    }
                } catch (NoSuchFileException gone) {
                    // committed or removed meanwhile
                }
            }
        } catch (IOException | UncheckedIOException e) {
            LOG.warn("could not remove stale temporary uploads in {}: {}", tmp, e.getMessage());
        }
        if (!removed.isEmpty()) {
            LOG.info(
                    "removed {} temporary upload(s) in {} unchanged for more than {}, left by writers that "
                            + "ended without cleaning up: {}",
                    removed.size(),
                    tmp,
                    staleUploadAge,
                    removed);
        }
    }

    private static boolean processAlive(String pidAndRest) {
        int dash = pidAndRest.indexOf('-');
        try {
            long pid = Long.parseLong(dash < 0 ? pidAndRest : pidAndRest.substring(0, dash));
            return ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false);
        } catch (NumberFormatException e) {
            return true; // not ours to judge
        }
    }

    /**
     * Whether {@code dir} (the root or a folder under it) is reached without a symbolic link:
     * drkit makes none in a repository, and one planted there would lead reads, writes and
     * deletes outside it. A folder that does not exist is contained (nothing leads anywhere).
     */
    private boolean contained(Path dir) throws IOException {
        Path real;
        try {
            real = dir.toRealPath();
        } catch (NoSuchFileException e) {
            return true;
        }
        return real.equals(realRoot().resolve(root.relativize(dir)).normalize());
    }

    /** The root as the file system names it (links resolved), once it exists. */
    private Path realRoot() throws IOException {
        Path r = realRoot;
        if (r == null) {
            r = root.toRealPath();
            realRoot = r;
        }
        return r;
    }

    private void requireContained(Path dir, String key) throws IOException {
        if (!contained(dir)) {
            throw new IOException("object " + key + ": " + linkMessage(dir));
        }
    }

    private String linkMessage(Path p) {
        return p + " in " + describe() + " is reached through a symbolic link; drkit makes none in a repository, "
                + "so it was put there by someone else and is not used: remove the link";
    }

    /** Whether the temporary directory is one, not a link to one. */
    private boolean tmpIsDirectory() {
        try {
            return Files.readAttributes(tmp, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS)
                    .isDirectory();
        } catch (IOException e) {
            return false;
        }
    }

    private void warnIfTmpIsNoDirectory() {
        if (Files.exists(tmp, LinkOption.NOFOLLOW_LINKS)) {
            LOG.warn(
                    "{} is not a directory but a link or another kind of file; drkit keeps its unfinished uploads "
                            + "there and removes nothing through it: remove it",
                    tmp);
        }
    }

    private Path resolve(String key) {
        return root.resolve(ObjectKeys.check(key));
    }

    private void pruneEmptyParents(Path dir) throws IOException {
        while (dir != null && dir.startsWith(root) && !dir.equals(root)) {
            try {
                Files.deleteIfExists(dir);
            } catch (DirectoryNotEmptyException e) {
                return;
            }
            dir = dir.getParent();
        }
    }

    private static void fsyncDirectory(Path dir) {
        try (FileChannel ch = FileChannel.open(dir, StandardOpenOption.READ)) {
            ch.force(true);
        } catch (IOException ignored) {
            // some file systems do not allow opening directories; the rename is still atomic
        }
    }

    /** How the background flush syncs a file; a test replaces it to stand for a disk that hangs. */
    @FunctionalInterface
    interface Forcer {
        void force(FileChannel channel) throws IOException;
    }

    static volatile Forcer backgroundForce = channel -> channel.force(false);

    /**
     * Writes to a channel and, every {@link #FLUSH_EVERY} bytes, starts writing the dirty pages
     * back to disk on a background thread, so that the fsync at commit finds little left to do
     * and disk writes overlap with producing (compressing) the data.
     */
    private static final class WriteBehind extends OutputStream {
        private static final long FLUSH_EVERY = 32L << 20;
        private static final ExecutorService FLUSHER = Executors.newCachedThreadPool(r -> {
            Thread t = new Thread(r, "drkit-write-behind");
            t.setDaemon(true);
            return t;
        });
        private final FileChannel channel;
        private long unflushed;
        private CompletableFuture<Void> inFlight;
        // set by closeWithoutWaiting: the channel may stay open for a running flush, writes may not
        private volatile boolean abandoned;

        WriteBehind(FileChannel channel) {
            this.channel = channel;
        }

        @Override
        public void write(int b) throws IOException {
            write(new byte[] {(byte) b}, 0, 1);
        }

        @Override
        public void write(byte[] b, int off, int len) throws IOException {
            if (abandoned) {
                throw new ClosedChannelException(); // as the closed channel would
            }
            FileWrites.write(channel, b, off, len);
            unflushed += len;
            if (unflushed >= FLUSH_EVERY && (inFlight == null || inFlight.isDone())) {
                unflushed = 0;
                Forcer forcer = backgroundForce;
                inFlight = CompletableFuture.runAsync(
                        () -> {
                            try {
                                forcer.force(channel);
                            } catch (IOException e) {
                                throw new UncheckedIOException(e);
                            }
                        },
                        FLUSHER);
            }
        }

        /** Waits for a background flush, so that the channel can be forced and closed. */
        void awaitFlush() throws IOException {
            if (inFlight == null) {
                return;
            }
            try {
                inFlight.get();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new InterruptedIOException("interrupted while flushing");
            } catch (ExecutionException e) {
                Throwable cause = e.getCause() instanceof UncheckedIOException u ? u.getCause() : e.getCause();
                throw cause instanceof IOException io ? io : new IOException("background flush failed", cause);
            }
        }

        /**
         * Closes the channel of an abandoned upload without waiting for a background flush: a
         * disk that hangs in fsync (a network file system gone away) would hang the abort with
         * it, and closing a channel waits for the threads inside it. The flushing thread closes
         * the channel when its fsync returns.
         */
        void closeWithoutWaiting() {
            // a writer still at work (a compression thread) fails, as it did when this closed the channel
            abandoned = true;
            CompletableFuture<Void> running = inFlight;
            if (running == null || running.isDone()) {
                closeQuietly(channel);
            } else {
                running.whenComplete((ignored, failure) -> closeQuietly(channel));
            }
        }

        private static void closeQuietly(FileChannel channel) {
            try {
                channel.close();
            } catch (IOException ignored) {
                // an abandoned upload: nothing is left to keep
            }
        }
    }

    private final class FileUpload implements ObjectUpload {
        private final String key;
        private final Path target;
        private final Path part;
        private final FileChannel channel;
        private final WriteBehind writeBehind;
        private final OutputStream out;
        private boolean done;

        FileUpload(String key, Path target, Path part, FileChannel channel) {
            this.key = key;
            this.target = target;
            this.part = part;
            this.channel = channel;
            this.writeBehind = new WriteBehind(channel);
            this.out = new BufferedOutputStream(writeBehind, BUFFER);
        }

        @Override
        public OutputStream stream() {
            return out;
        }

        @Override
        public ObjectInfo commit() throws IOException {
            if (done) {
                throw new IllegalStateException("upload of " + key + " already finished");
            }
            try {
                out.flush();
                writeBehind.awaitFlush();
                channel.force(true);
                long size = channel.size();
                channel.close();
                link();
                done = true;
                Files.deleteIfExists(part);
                fsyncDirectory(target.getParent());
                return new ObjectInfo(
                        key, size, Files.getLastModifiedTime(target).toInstant());
            } finally {
                close();
            }
        }

        private void link() throws IOException {
            for (int attempt = 0; ; attempt++) {
                Files.createDirectories(target.getParent(), PRIVATE_DIR);
                requireContained(target.getParent(), key);
                try {
                    Files.createLink(target, part);
                    return;
                } catch (UnsupportedOperationException e) {
                    moveUnlessPresent();
                    return;
                } catch (NoSuchFileException e) {
                    // a concurrent delete removed the (empty) parent between mkdir and link
                    if (attempt >= 3) {
                        throw e;
                    }
                }
            }
        }

        private void moveUnlessPresent() throws IOException {
            if (Files.exists(target)) {
                throw new FileAlreadyExistsException(target.toString());
            }
            Files.move(part, target, StandardCopyOption.ATOMIC_MOVE);
        }

        @Override
        public void close() throws IOException {
            if (channel.isOpen()) {
                writeBehind.closeWithoutWaiting();
            }
            if (!done) {
                done = true;
                Files.deleteIfExists(part); // the name goes at once, the open channel's data with its close
            }
        }
    }
}
