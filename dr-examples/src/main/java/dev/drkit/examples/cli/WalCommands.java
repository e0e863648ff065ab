package dev.drkit.examples.cli;

import dev.drkit.ConfigException;
import dev.drkit.DrException;
import dev.drkit.DrKit;
import dev.drkit.Settings;
import dev.drkit.postgres.PostgresWalStreamer;
import dev.drkit.postgres.WalArchive;
import dev.drkit.postgres.WalBacklog;
import dev.drkit.postgres.WalPrefetch;
import dev.drkit.postgres.WalPushBatch;
import dev.drkit.postgres.WalSpool;
import dev.drkit.spi.FileArchive;
import dev.drkit.spi.support.StorageFailures;
import java.io.File;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** {@code drkit wal-push %p} and {@code drkit wal-fetch %f %p}: PostgreSQL's archive and restore commands. */
final class WalCommands {
    private WalCommands() {}

    @Command(
            name = "wal-push",
            description = "Archive one WAL file (archive_command = 'drkit --repo R wal-push %%p'). "
                    + "Exits 0 only once it is durable in the repository; the same file again is accepted, other bytes "
                    + "under an archived name are refused. With --spool, asynchronous: the file and the next ones "
                    + "PostgreSQL marks ready are pushed together, --jobs at a time, each acknowledged in the spool as "
                    + "DIR/NAME.ok once durable, so that later calls for them are answered by the shell (archive_command = "
                    + "'read -r ack 2>/dev/null < DIR/%%f.ok && test \"$ack\" = \"1 $(LC_ALL=C stat -c \"%%d %%i %%s "
                    + "%%.9Y %%.9Z\" %%p)\" || drkit --repo R wal-push --spool DIR %%p', with each %% of the stat format "
                    + "doubled in postgresql.conf, as PostgreSQL 16 and later require: the README has the line; the "
                    + "acknowledgement names the file pushed, as GNU stat prints it). One spool per cluster and "
                    + "repository.")
    static final class Push implements Callable<Integer> {
        @Spec
        CommandSpec spec;

        @Parameters(
                index = "0",
                paramLabel = "PATH",
                description = "The WAL file (%%p, relative to the data directory).")
        Path file;

        @Option(
                names = "--pgdata",
                paramLabel = "DIR",
                description = "The cluster's data directory (default: the current directory, as for archive_command).")
        Path pgdata;

        @Option(
                names = "--spool",
                paramLabel = "DIR",
                description = "Push asynchronously, acknowledging in this private directory (mode 0700, outside the "
                        + "data directory; one per cluster).")
        Path spoolDir;

        @Option(
                names = "--queue",
                paramLabel = "N",
                description = "With --spool: most WAL files pushed by one call (default "
                        + WalPushBatch.DEFAULT_QUEUE_SIZE + ").")
        Integer queue;

        @Option(
                names = "--jobs",
                paramLabel = "N",
                description = "With --spool: files pushed at once (default " + WalPushBatch.DEFAULT_JOBS + ").")
        Integer jobs;

        @Option(
                names = "--linger",
                paramLabel = "MS",
                description = "With --spool: once every ready file is pushed, wait this long for PostgreSQL to mark "
                        + "more ready before exiting (default 0; PostgreSQL's archiver waits meanwhile).")
        Long lingerMillis;

        @Option(
                names = "--linger-while-writing",
                description =
                        "With --linger: stop waiting as soon as PostgreSQL has written no WAL for 150 ms, so that "
                                + "a long --linger follows a write burst in one call and still returns when it ends.")
        boolean lingerWhileWriting;

        @Option(
                names = "--max-pending",
                paramLabel = "SIZE",
                description = "Keep the cluster up when archiving keeps failing: once the WAL files PostgreSQL "
                        + "marks ready to archive add up to more than SIZE (e.g. 8GiB, well below the free space of "
                        + "pg_wal), a file that cannot be pushed is dropped: the call exits 0, so PostgreSQL "
                        + "recycles it, and says so on stderr (PostgreSQL's log); with --spool it is recorded as "
                        + "DIR/FILE.dropped, which status --wal-spool reports. Point-in-time recovery past a dropped "
                        + "file is impossible until a base backup taken after it. Off by default.")
        String maxPending;

        @Mixin
        EncryptionOptions encryption;

        @Override
        public Integer call() throws IOException {
            GlobalOptions global = GlobalOptions.of(spec);
            Path dataDir = pgdata != null ? pgdata : Path.of("").toAbsolutePath();
            Path wal = dataDir.resolve(file);
            Long max = maxPending == null ? null : maxPending();
            try {
                return push(global, dataDir, wal);
            } catch (ParameterException e) {
                throw e;
            } catch (IOException | RuntimeException e) {
                if (max == null || stopped(e)) {
                    throw e; // a call stopped by a signal drops nothing: PostgreSQL asks again
                }
                long pending;
                try {
                    pending = WalBacklog.pendingBytes(dataDir);
                } catch (IOException | RuntimeException unknown) {
                    e.addSuppressed(unknown);
                    throw e;
                }
                if (pending <= max) {
                    throw e;
                }
                drop(wal, dataDir, e, pending, max);
                return 0;
            }
        }

        private static boolean stopped(Exception e) {
            return Thread.currentThread().isInterrupted()
                    || e instanceof InterruptedIOException
                    || (e instanceof DrException d && d.code() == DrException.ErrorCode.INTERRUPTED);
        }

        private long maxPending() {
            try {
                long bytes = Settings.parseSize("max-pending", maxPending);
                if (bytes <= 0) {
                    throw new IllegalArgumentException("must be more than 0");
                }
                return bytes;
            } catch (RuntimeException e) {
                throw new ParameterException(
                        spec.commandLine(),
                        "--max-pending takes a size such as 8GiB, not '" + maxPending + "': " + e.getMessage());
            }
        }

        /**
         * Reports {@code wal} archived although it could not be pushed, since the WAL waiting is
         * over the limit: says so on stderr, PostgreSQL's log, and records it in the spool.
         */
        private void drop(Path wal, Path dataDir, Exception why, long pending, long max) {
            PrintWriter err = spec.commandLine().getErr();
            String name = wal.getFileName().toString();
            String reason = MessageFlags.forCli(why.getMessage() == null ? why.toString() : why.getMessage());
            err.println("drkit: WARNING: WAL file " + name + " is DROPPED, not archived: pushing it failed ("
                    + reason + ") while the WAL waiting to be archived (" + Sizes.human(pending)
                    + ") is over --max-pending (" + Sizes.human(max) + "). It is reported archived so that pg_wal "
                    + "does not fill; point-in-time recovery past it is impossible: fix archiving, then take a base "
                    + "backup");
            if (spoolDir != null) {
                try {
                    WalSpool.open(spoolDir, dataDir).recordDropped(name, Instant.now(), reason);
                } catch (IOException | RuntimeException e) {
                    err.println("drkit: could not record the dropped file in the spool " + spoolDir + ": "
                            + MessageFlags.forCli(String.valueOf(e.getMessage())));
                }
            }
            err.flush();
        }

        private int push(GlobalOptions global, Path dataDir, Path wal) throws IOException {
            if (spoolDir == null) {
                if (queue != null || jobs != null || lingerMillis != null || lingerWhileWriting) {
                    throw new ParameterException(
                            spec.commandLine(), "--queue, --jobs, --linger and --linger-while-writing need --spool");
                }
                return pushOne(global, dataDir, wal);
            }
            PrintWriter err = spec.commandLine().getErr();
            WalSpool spool = WalSpool.open(spoolDir, dataDir, global.repository());
            if (spool.forgotAnotherRepository()) {
                err.println("drkit: the WAL spool " + spoolDir + " served another repository until now; its "
                        + "acknowledgements were removed. WAL files the shell test of archive_command took as archived "
                        + "since the repository changed may be missing from this one: give each repository its own "
                        + "spool, and take a base backup in this one");
                err.flush();
            }
            // acknowledged by an earlier batch: no repository to open
            if (spool.isAcknowledged(wal.getFileName().toString(), wal)) {
                if (!global.quiet) {
                    err.println("drkit: " + wal.getFileName() + " was acknowledged by an earlier call; the shell test "
                            + "of archive_command (see wal-push --help) answers such calls without starting Java");
                    err.flush();
                }
                return 0;
            }
            try (DrKit kit = encryption.openKit(global, err)) {
                WalPushBatch.Builder b = WalPushBatch.builder()
                        .archive(new WalArchive(kit.archive(WalArchive.AREA)))
                        .dataDirectory(dataDir)
                        .spool(spoolDir)
                        .repository(global.repository())
                        .failureReporter(f -> {
                            err.println("drkit: an earlier wal-push of " + f.name() + " failed: "
                                    + MessageFlags.forCli(f.message()));
                            err.flush();
                        });
                if (queue != null) {
                    b.queueSize(queue);
                }
                if (jobs != null) {
                    b.jobs(jobs);
                }
                if (lingerMillis != null) {
                    b.linger(Duration.ofMillis(lingerMillis));
                }
                b.lingerWhileWriting(lingerWhileWriting);
                WalPushBatch.Result r = b.build().push(wal);
                if (!global.quiet && global.verbosity() > 0) {
                    spec.commandLine()
                            .getOut()
                            .println(
                                    wal.getFileName() + ": pushed " + r.pushed().size() + ", failed "
                                            + r.failed().size());
                }
            }
            return 0;
        }

        private int pushOne(GlobalOptions global, Path dataDir, Path wal) throws IOException {
            try (DrKit kit = encryption.openKit(global, spec.commandLine().getErr())) {
                FileArchive.PutResult r = new WalArchive(kit.archive(WalArchive.AREA)).push(wal, dataDir);
                if (!global.quiet && global.verbosity() > 0) {
                    spec.commandLine()
                            .getOut()
                            .println(wal.getFileName() + ": " + r.name().toLowerCase());
                }
            }
            return 0;
        }
    }

    @Command(
            name = "wal-fetch",
            description = "Restore one WAL file (restore_command = 'drkit --repo R wal-fetch %%f %%p'). "
                    + "Exits 0 when found, 1 when the repository does not hold it, 255 on errors (which makes PostgreSQL "
                    + "stop recovery instead of ending it early).")
    static final class Fetch implements Callable<Integer> {
        static final int ERROR = 255;

        @Spec
        CommandSpec spec;

        @Parameters(index = "0", paramLabel = "NAME", description = "The WAL file name (%%f).")
        String name;

        @Parameters(index = "1", paramLabel = "TARGET", description = "Where to write it (%%p).")
        Path target;

        @Option(
                names = "--pgdata",
                paramLabel = "DIR",
                description = "The data directory being recovered (default: the current directory).")
        Path pgdata;

        @Option(
                names = "--target-timeline",
                paramLabel = "TLI",
                description =
                        "The timeline the recovery follows, as its recovery_target_timeline: latest (the default) "
                                + "or a number. Of a timeline's last segment, WAL written after a later timeline branched off is "
                                + "served only to a recovery along that timeline.")
        String targetTimeline;

        @Option(
                names = "--spool",
                paramLabel = "DIR",
                description = "Read ahead: serve the segment from DIR when it holds it, else fetch it and the next "
                        + "segments (--prefetch) into DIR, so restore_command = 'mv DIR/%%f \"%%p\" 2>/dev/null || "
                        + "drkit ... wal-fetch --spool DIR %%f \"%%p\"' moves them without starting Java. "
                        + "Private to one cluster's recovery; created owner-only.")
        Path spool;

        @Option(
                names = "--prefetch",
                paramLabel = "N",
                description = "With --spool: segments to read ahead per fetch (default 32, at most 1 GiB).")
        Integer prefetch;

        @Option(names = "--jobs", paramLabel = "N", description = "With --spool: segments fetched at once (default 2).")
        Integer jobs;

        @Option(
                names = "--async",
                description = "With --spool: return as soon as the segment is at %%p and read ahead in a background "
                        + "drkit process that keeps the spool filled while PostgreSQL replays.")
        boolean async;

        @Option(names = "--fill-from", hidden = true, paramLabel = "NAME")
        String fillFrom;

        /** A restore's fill: waits while that process (a pid) restores, and fills once it has primed the spool. */
        @Option(names = "--fill-after", hidden = true, paramLabel = "PID")
        Long fillAfter;

        @Mixin
        DecryptionOptions decryption;

        @Override
        public Integer call() {
            GlobalOptions global = GlobalOptions.of(spec);
            PrintWriter err = spec.commandLine().getErr();
            Path dataDir = pgdata != null ? pgdata : Path.of("").toAbsolutePath();
            if (spool == null && (prefetch != null || jobs != null || async)) {
                err.println("drkit: wal-fetch: --prefetch, --jobs and --async read ahead into a --spool DIR; give one");
                err.flush();
                return 2;
            }
            if ((prefetch != null && prefetch < 0) || (jobs != null && jobs < 1)) {
                err.println("drkit: wal-fetch: --prefetch takes 0 or more segments, --jobs 1 or more");
                err.flush();
                return 2;
            }
            long follow;
            try {
                follow = WalArchive.timelineToFollow(targetTimeline, null);
            } catch (ConfigException e) {
                err.println(
                        "drkit: wal-fetch: --target-timeline takes latest or a timeline number, not " + targetTimeline);
                err.flush();
                return 2;
            }
            try (DrKit kit = global.open(err, null, null, decryption.stage(global), null, decryption.trusted())) {
                FileArchive archive = kit.archive(WalArchive.AREA);
                if (spool == null) {
                    return new WalArchive(archive).following(follow).fetch(name, dataDir.resolve(target), dataDir)
                            ? 0
                            : 1;
                }
                WalPrefetch.Builder b =
                        WalPrefetch.builder(archive, dataDir.resolve(spool)).following(follow);
                if (prefetch != null) {
                    b.prefetch(prefetch);
                }
                if (jobs != null) {
                    b.jobs(jobs);
                }
                if (fillFrom != null) {
                    b.build().fill(fillFrom, dataDir);
                    return 0;
                }
                if (fillAfter != null) {
                    Optional<String> from =
                            WalPrefetch.awaitPrimed(dataDir.resolve(spool), dataDir, restoreProcess(fillAfter));
                    if (from.isPresent()) {
                        // started before the spool existed: its messages go there from now on
                        System.setErr(new PrintStream(
                                Files.newOutputStream(
                                        dataDir.resolve(spool).resolve(WalPrefetch.FILL_LOG),
                                        StandardOpenOption.CREATE,
                                        StandardOpenOption.APPEND),
                                true,
                                StandardCharsets.UTF_8));
                        b.build().fill(from.get(), dataDir);
                    }
                    return 0;
                }
                Path spoolDir = dataDir.resolve(spool);
                WalPrefetch.Result r = b.background(async ? from -> startFill(spoolDir, from) : null)
                        .build()
                        .fetch(name, dataDir.resolve(target), dataDir);
                if (!global.quiet && global.verbosity() > 0) {
                    err.println(name + (r.fromSpool() ? ": from the spool" : ": fetched") + ", " + r.prefetched()
                            + " read ahead" + (r.endOfArchive() ? " (end of the archive)" : ""));
                }
                return r.found() ? 0 : 1;
            } catch (Exception | Error e) {
                // never 1 for a failure: PostgreSQL takes 1 for "no such file", the end of WAL, and would
                // end recovery early; 255 stops it instead (an Error too: out of memory, a native library)
                err.println(fetchFailure(name, e));
                err.flush();
                return ERROR;
            }
        }

        /**
         * The restore process {@code pid} that started this fill, while it runs: this process's
         * parent while that is {@code pid}. Not any process under that pid: once the restore has
         * ended, its pid may go to another process, and a fill waiting for that one would wait
         * as long as it runs.
         */
        static Optional<ProcessHandle> restoreProcess(long pid) {
            return ProcessHandle.current().parent().filter(p -> p.pid() == pid);
        }

        /**
         * Starts this very command line again with {@code --fill-from NAME}, detached: it keeps
         * the spool filled after this call has returned to PostgreSQL.
         */
        private static void startFill(Path spool, String from) {
            ProcessHandle.Info self = ProcessHandle.current().info();
            if (self.command().isEmpty() || self.arguments().isEmpty()) {
                return; // no way to start it again: the segments are fetched by their own calls
            }
            List<String> cmd = new ArrayList<>();
            cmd.add(self.command().get());
            for (String arg : self.arguments().get()) {
                // the launcher's first run makes an archive: the fill must not make a second one
                if (!LauncherArgs.makesArchive(arg)) {
                    cmd.add(arg);
                }
            }
            cmd.addAll(List.of("--fill-from", from));
            startDetached(cmd, spool);
        }

        /**
         * Starts a fill's command line in a process that outlives this one, its messages
         * appended to the spool's fill log; a fill that cannot start is left out (each segment
         * is then fetched by its own call).
         */
        static void startDetached(List<String> cmd, Path spool) {
            startDetached(cmd, spool.resolve(WalPrefetch.FILL_LOG).toFile());
        }

        /** As {@link #startDetached(List, Path)}, its messages appended to {@code log} (null: dropped). */
        static void startDetached(List<String> cmd, File log) {
            try {
                new ProcessBuilder(cmd)
                        .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")))
                        .redirectOutput(ProcessBuilder.Redirect.DISCARD)
                        .redirectError(
                                log == null ? ProcessBuilder.Redirect.DISCARD : ProcessBuilder.Redirect.appendTo(log))
                        .start();
            } catch (IOException e) {
                // recovery's calls fetch what the fill would have
            }
        }
    }

    @Command(
            name = "wal-stream",
            description =
                    "Stream WAL from a PostgreSQL server into the repository over the "
                            + "replication protocol, from a physical replication slot, until stopped (SIGTERM/SIGINT store the "
                            + "current segment as <segment>.stream). An alternative to archive_command with an RPO of about a second.")
    static final class Stream implements Callable<Integer> {
        @Spec
        CommandSpec spec;

        @Mixin
        PostgresOptions postgres;

        @Option(
                names = "--slot",
                paramLabel = "NAME",
                description = "Physical replication slot (default drkit; created " + "when missing).")
        String slot;

        @Option(
                names = "--spool",
                paramLabel = "DIR",
                required = true,
                description = "Local directory for the segment being received.")
        Path spoolDir;

        @Mixin
        EncryptionOptions encryption;

        @Override
        public Integer call() throws Exception {
            GlobalOptions global = GlobalOptions.of(spec);
            Settings.Builder s = postgres.addTo(Settings.builder());
            OptionValues.set(s, "slot", slot);
            CountDownLatch stopped = new CountDownLatch(1);
            try (DrKit kit = encryption.openKit(global, spec.commandLine().getErr())) {
                PostgresWalStreamer streamer =
                        PostgresWalStreamer.start(s.build(), kit.archive(WalArchive.AREA), spoolDir);
                Thread hook = new Thread(
                        () -> {
                            try {
                                streamer.close();
                            } catch (IOException e) {
                                spec.commandLine()
                                        .getErr()
                                        .println("drkit: storing the partial segment failed: " + e.getMessage());
                            } finally {
                                stopped.countDown();
                            }
                        },
                        "drkit-wal-stream-stop");
                Runtime.getRuntime().addShutdownHook(hook);
                stopped.await();
            }
            return 0;
        }
    }

    /** The line a failed wal-fetch prints: a file system error's own message is often only its path, so its reason too. */
    static String fetchFailure(String name, Throwable e) {
        String why = e instanceof IOException io ? StorageFailures.describe(io) : String.valueOf(e.getMessage());
        return "drkit: wal-fetch " + name + " failed: " + MessageFlags.forCli(why);
    }
}
