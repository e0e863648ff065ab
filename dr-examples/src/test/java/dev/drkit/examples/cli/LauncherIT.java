package dev.drkit.examples.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.drkit.testkit.PostgresServer;
import dev.drkit.testkit.Prerequisites;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** bin/drkit: the launcher that maps a class-data-sharing archive per command. */
class LauncherIT {
    private static final Path LAUNCHER = Path.of("bin", "drkit").toAbsolutePath();

    @TempDir
    Path work;

    @Test
    void theFirstRunArchivesTheCommandsClassesAndLaterRunsUseThemWithCleanOutput() throws Exception {
        Path cache = work.resolve("cache");
        List<String> backup = filesBackup();

        String first = run(cache, Map.of(), backup);
        try (Stream<Path> s = Files.list(cache.resolve("drkit"))) {
            assertThat(s.map(p -> p.getFileName().toString()).toList())
                    .singleElement()
                    .asString()
                    .startsWith("drkit-")
                    .endsWith("-backup.jsa");
        }
        String second = run(cache, Map.of(), backup);
        String plain = run(cache, Map.of("DRKIT_CDS", "off"), backup);
        for (String out : List.of(first, second, plain)) {
            assertThat(out.strip().lines().toList()).as(out).hasSize(2);
            assertThat(out.strip().lines().reduce((a, b) -> b).orElseThrow()).matches("\\d{8}T\\d{6}Z-[0-9a-f]{6}");
        }
        assertThat(run(cache, Map.of(), List.of("--repo", work.resolve("repo").toString(), "list")))
                .contains("config");
    }

    @Test
    void aCacheDirectoryOthersCanWriteIsNeitherUsedNorWritten() throws Exception {
        Path cache = work.resolve("cache");
        Path dir = Files.createDirectories(cache.resolve("drkit"));
        Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxrwxrwx"));
        // a planted archive would be mapped as code: the launcher must not even look at it
        Path planted = dir.resolve("planted.jsa");
        Files.writeString(planted, "not an archive");

        String out = run(cache, Map.of(), List.of("--repo", work.resolve("repo").toString(), "init"));

        assertThat(out).contains("repository");
        try (Stream<Path> s = Files.list(dir)) {
            assertThat(s.map(p -> p.getFileName().toString()).toList()).containsExactly("planted.jsa");
        }
    }

    @Test
    void anArchiveInADirectoryOthersMayEnterOrThatIsALinkIsNotMappedButMadeAgain() throws Exception {
        Path cache = work.resolve("cache");
        Path dir = cache.resolve("drkit");
        run(cache, Map.of(), List.of("--repo", work.resolve("repo").toString(), "init"));
        Path archive = archives(cache).stream().map(dir::resolve).findFirst().orElseThrow();

        // the files' own modes follow the umask; what keeps others out is the directory
        Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxr-x---"));
        assertThat(initMapped(cache, "repo2"))
                .as("a directory others may enter is not used")
                .isZero();
        Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwx------"));
        Files.setPosixFilePermissions(cache, PosixFilePermissions.fromString("rwxrwxrwx"));
        assertThat(initMapped(cache, "repo3"))
                .as("nor one whose parent others may write (they could swap it for a link)")
                .isZero();
        Files.setPosixFilePermissions(cache, PosixFilePermissions.fromString("rwx------"));

        Path elsewhere = Files.move(archive, work.resolve("elsewhere.jsa"));
        Files.createSymbolicLink(archive, elsewhere);
        assertThat(initMapped(cache, "repo4")).as("a link is not mapped").isZero();
        assertThat(Files.isSymbolicLink(archive)).isFalse();
        assertThat(archive).isRegularFile();

        assertThat(initMapped(cache, "repo5"))
                .as("the archive made again is mapped")
                .isGreaterThan(100);
    }

    /** Runs init into a new repository; how many of drkit's classes came out of an archive. */
    private long initMapped(Path cache, String repo) throws Exception {
        Path log = work.resolve("classes-" + repo + ".log");
        run(
                cache,
                Map.of("JAVA_TOOL_OPTIONS", "-Xlog:class+load=info:file=" + log),
                List.of("--repo", work.resolve(repo).toString(), "init"));
        return fromArchive(log);
    }

    /** How many of drkit's classes the class-load log says came out of an archive. */
    private static long fromArchive(Path log) throws Exception {
        return Files.readAllLines(log).stream()
                .filter(l -> l.contains(" dev.drkit.") && l.contains("source: shared objects file"))
                .count();
    }

    @Test
    void aDamagedArchiveIsIgnoredAndTheCommandRunsWithCleanOutput() throws Exception {
        Path cache = work.resolve("cache");
        List<String> init = List.of("--repo", work.resolve("repo").toString(), "init");
        assertThat(run(cache, Map.of(), init).strip()).startsWith("repository ");
        Path archive;
        try (Stream<Path> s = Files.list(cache.resolve("drkit"))) {
            archive = s.filter(p -> p.toString().endsWith("-init.jsa"))
                    .findFirst()
                    .orElseThrow();
        }
        assertThat(Files.getPosixFilePermissions(cache.resolve("drkit")))
                .isEqualTo(PosixFilePermissions.fromString("rwx------"));
        Files.setPosixFilePermissions(archive, PosixFilePermissions.fromString("rw-------"));
        Files.write(archive, new byte[4096]); // truncated to zeros: no valid header

        String again =
                run(cache, Map.of(), List.of("--repo", work.resolve("repo2").toString(), "init"));

        assertThat(again.strip().lines().toList())
                .as("one line, no JVM warning about the archive")
                .singleElement()
                .asString()
                .matches("repository \\S+ at .*repo2.*");
    }

    @Test
    void picocliComesFromTheArchiveToo() throws Exception {
        // the build rewrites picocli's Java 5 class files (which no archive can hold) as Java 8 ones
        Path cache = work.resolve("cache");
        run(cache, Map.of(), List.of("--version"));
        Path log = work.resolve("classes.log");
        // not DRKIT_JAVA_OPTS: the launcher keys its archives by the options it passes
        run(cache, Map.of("JAVA_TOOL_OPTIONS", "-Xlog:class+load=info:file=" + log), List.of("--version"));
        List<String> picocli = Files.readAllLines(log).stream()
                .filter(l -> l.contains(" picocli."))
                .toList();
        assertThat(picocli).hasSizeGreaterThan(50);
        assertThat(picocli).allMatch(l -> l.contains("source: shared objects file"), "loaded from the archive");
    }

    @Test
    void aCollectorNamedInTheJavaOptionsReplacesTheLaunchersDefault() throws Exception {
        // two collectors on one command line would stop the JVM before drkit starts
        List<String> init = List.of("--repo", work.resolve("repo").toString(), "init");
        assertThat(run(work.resolve("cache"), Map.of("DRKIT_JAVA_OPTS", "-XX:+UseParallelGC"), init))
                .startsWith("repository ");
        assertThat(run(work.resolve("cache"), Map.of("JDK_JAVA_OPTIONS", "-XX:+UseG1GC"), List.of("--version")))
                .startsWith("drkit ");
    }

    @Test
    void underACOrPosixLocaleANonAsciiFileNameIsBackedUpAndRestoredUnderItsName() throws Exception {
        // the names are made and looked for by the shell, as bytes, whatever this JVM's locale
        Path src = Files.createDirectories(work.resolve("src"));
        Path out = work.resolve("out");
        String ete = "$(printf '\\303\\251t\\303\\251.txt')";
        assertThat(shell("cd '" + src + "' && printf summer > \"" + ete + "\"")).isZero();
        Map<String, String> posix = new HashMap<>();
        posix.put("LC_ALL", "POSIX");
        posix.put("LC_CTYPE", null);
        posix.put("LANG", null);
        Map<String, String> none = new HashMap<>();
        none.put("LC_ALL", null);
        none.put("LC_CTYPE", null);
        none.put("LANG", null);
        String repo = work.resolve("repo").toString();
        Path cache = work.resolve("cache");
        run(cache, posix, List.of("--repo", repo, "backup", "files", "--name", "f", "--path", src.toString()));
        run(cache, none, List.of("--repo", repo, "restore", "--name", "f", "--latest", "--to", out.toString()));
        Path restored = out.resolve(src.toString().substring(1));
        assertThat(shell("test \"$(cat '" + restored + "'/" + ete + ")\" = summer"))
                .isZero();
        assertThat(shell("test \"$(ls '" + restored + "' | wc -l)\" -eq 1")).isZero();
    }

    private static int shell(String script) throws Exception {
        return new ProcessBuilder("/bin/sh", "-c", script).inheritIO().start().waitFor();
    }

    @Test
    void walPushAloneRunsOnTheClientCompilerUnlessTheJavaOptionsSayOtherwise() throws Exception {
        Path home = fakeJdk().resolve("bin");
        Map<String, String> fake = Map.of("JAVA_HOME", home.getParent().toString());
        Path cache = work.resolve("cache");
        String push = run(cache, fake, List.of("--repo", "/r", "wal-push", "pg_wal/000000010000000000000001"));
        assertThat(push).contains("-XX:TieredStopAtLevel=1").contains("-XX:+UseSerialGC");
        String offline = run(
                cache,
                Map.of("JAVA_HOME", home.getParent().toString(), "DRKIT_CDS", "off"),
                List.of("wal-push", "--spool", "/s", "x"));
        assertThat(offline).contains("-XX:TieredStopAtLevel=1");
        assertThat(run(cache, fake, List.of("--dedup-key-file", "/k", "wal-push", "x")))
                .as("a global option's value is no command")
                .contains("-XX:TieredStopAtLevel=1");
        for (String other : List.of("wal-fetch", "backup", "restore")) {
            assertThat(run(cache, fake, List.of("--repo", "/r", other, "x")))
                    .as(other)
                    .doesNotContain("TieredStopAtLevel");
        }
        // PostgreSQL ends its archive and restore commands with SIGQUIT: without -Xrs the JVM wrote a
        // thread dump into the server's log and went on
        assertThat(push).contains("-Xrs ");
        assertThat(run(cache, fake, List.of("--repo", "/r", "wal-fetch", "x", "y")))
                .contains("-Xrs ");
        assertThat(run(cache, fake, List.of("--repo", "/r", "backup", "x"))).doesNotContain("-Xrs");
        assertThat(run(
                        cache,
                        Map.of("JAVA_HOME", home.getParent().toString(), "DRKIT_JAVA_OPTS", "-XX:+ReduceSignalUsage"),
                        List.of("wal-push", "x")))
                .doesNotContain("-Xrs");
        // SHA-256's block loop compiled at once, for every command, unless the host names its own CompileCommand
        assertThat(run(cache, fake, List.of("--repo", "/r", "restore", "x")))
                .contains("-XX:CompileCommand=quiet")
                .contains("-XX:CompileCommand=option,sun.security.provider.SHA2::implCompress0,double,"
                        + "CompileThresholdScaling,0.05")
                .contains("-XX:CompileCommand=option,sun.security.provider.DigestBase::implCompressMultiBlock0,"
                        + "double,CompileThresholdScaling,0.05")
                .contains("-XX:CompileThresholdScaling=8");
        Map<String, String> ownCommand = Map.of(
                "JAVA_HOME",
                home.getParent().toString(),
                "DRKIT_JAVA_OPTS",
                "-XX:CompileCommand=exclude,java.lang.String::hashCode");
        assertThat(run(cache, ownCommand, List.of("restore", "x")))
                .contains("-XX:CompileCommand=exclude,java.lang.String::hashCode")
                .doesNotContain("implCompress0")
                .contains("-XX:CompileThresholdScaling=8");
        Map<String, String> own =
                Map.of("JAVA_HOME", home.getParent().toString(), "DRKIT_JAVA_OPTS", "-XX:TieredStopAtLevel=4");
        assertThat(run(cache, own, List.of("wal-push", "x")))
                .contains("-XX:TieredStopAtLevel=4")
                .doesNotContain("-XX:TieredStopAtLevel=1");
    }

    @Test
    void anAgentTheFlightRecorderNoClassSharingOrAnArchiveOfTheHostsInTheJavaOptionsRunWithoutTheLaunchersArchive()
            throws Exception {
        String jdk = fakeJdk().toString();
        Path cache = work.resolve("cache");
        List<String> backup = List.of("--repo", "/r", "backup", "files", "--name", "f", "--path", "/p");
        String launchers = "=" + cache.resolve("drkit"); // where the launcher's archives go
        assertThat(run(cache, Map.of("JAVA_HOME", jdk), backup))
                .as("without an agent the first run archives")
                .contains("-XX:ArchiveClassesAtExit" + launchers);
        List<Map<String, String>> instrumented = List.of(
                Map.of("JAVA_TOOL_OPTIONS", "-javaagent:/opt/apm/agent.jar"),
                Map.of("JDK_JAVA_OPTIONS", "-Xmx1g -agentlib:jdwp=transport=dt_socket,server=y,suspend=n"),
                Map.of("DRKIT_JAVA_OPTS", "-agentpath:/opt/profiler/libagent.so"),
                Map.of("DRKIT_JAVA_OPTS", "-XX:StartFlightRecording=filename=/tmp/r.jfr"),
                Map.of("JAVA_TOOL_OPTIONS", "-XX:+FlightRecorder"),
                Map.of("JAVA_TOOL_OPTIONS", "-Xrunjdwp:transport=dt_socket"),
                Map.of("JAVA_TOOL_OPTIONS", "-Xshare:off"),
                Map.of("JDK_JAVA_OPTIONS", "-XX:-UseSharedSpaces"),
                Map.of("DRKIT_JAVA_OPTS", "-XX:-UseCompressedClassPointers"),
                Map.of("DRKIT_JAVA_OPTS", "-XX:SharedArchiveFile=/opt/app.jsa"),
                Map.of("JAVA_TOOL_OPTIONS", "-XX:ArchiveClassesAtExit=/tmp/app.jsa"),
                Map.of("JAVA_TOOL_OPTIONS", "-XX:+AutoCreateSharedArchive"),
                Map.of("DRKIT_JAVA_OPTS", "-XX:AOTCache=/opt/app.aot"));
        for (Map<String, String> options : instrumented) {
            Map<String, String> env = new HashMap<>(options);
            env.put("JAVA_HOME", jdk);
            assertThat(run(cache, env, backup))
                    .as(options.toString())
                    .doesNotContain(launchers)
                    .doesNotContain("AOTMode")
                    .contains("-jar");
        }
        assertThat(run(cache, Map.of("JAVA_HOME", jdk, "DRKIT_JAVA_OPTS", "-Dnot.an.agent=-javaagent:x"), backup))
                .as("only an option of its own names an agent")
                .contains("-XX:ArchiveClassesAtExit" + launchers);
        assertThat(run(cache, Map.of("JAVA_HOME", jdk, "JAVA_TOOL_OPTIONS", "-Xshare:auto"), backup))
                .contains("-XX:ArchiveClassesAtExit" + launchers);
    }

    @Test
    void aHostThatTurnedClassSharingOffStillRunsEveryCommand() throws Exception {
        // asked to archive without a base archive, the JVM refused to start ("DynamicDumpSharedSpaces is
        // unsupported when base CDS archive is not loaded"), on every run since none was ever made
        List<Map<String, String>> jvms = new ArrayList<>(List.of(Map.of()));
        newerJava(25).ifPresent(home -> jvms.add(Map.of("JAVA_HOME", home.toString())));
        for (Map<String, String> jvm : jvms) {
            Map<String, String> env = new HashMap<>(jvm);
            env.put("JAVA_TOOL_OPTIONS", "-Xshare:off");
            Path cache = work.resolve("cache-" + jvms.indexOf(jvm));
            for (int run = 1; run <= 2; run++) {
                assertThat(run(cache, env, List.of("--version")))
                        .as(jvm + " run " + run)
                        .startsWith("drkit ");
            }
            assertThat(cache.resolve("drkit")).doesNotExist();
        }
    }

    /**
     * A JAVA_HOME whose java records the options it is given in {@code calls} (one line a call),
     * answers -version at once (failing when {@code failVersion}), and runs a backup until stopped,
     * noting a SIGTERM; anything else ends at once.
     */
    private Path slowFakeJdk(Path calls, boolean failVersion) throws Exception {
        Path bin = Files.createDirectories(work.resolve("slow-jdk/bin"));
        Path java = bin.resolve("java");
        Files.writeString(
                java,
                "#!/bin/sh\n"
                        + "echo \"$*\" >> '" + calls + "'\n"
                        + "case \" $* \" in *' -version '*) exit " + (failVersion ? 1 : 0) + " ;; esac\n"
                        + "for a in \"$@\"; do case $a in -XX:ArchiveClassesAtExit=*) echo x > \"${a#*=}\" ;; esac; done\n"
                        + "trap 'echo TERM >> \"" + calls + "\"; exit 143' TERM\n"
                        + "case \"$*\" in *' backup '*) ;; *) exit 0 ;; esac\n"
                        + "echo started >> '" + calls + "'\n"
                        + "i=0; while [ $i -lt 600 ]; do sleep 0.1; i=$((i + 1)); done\n");
        Files.setPosixFilePermissions(java, PosixFilePermissions.fromString("rwx------"));
        return bin.getParent();
    }

    @Test
    void aFirstRunStoppedWithSigtermToTheLauncherStopsTheJvmAndLeavesNoTemporaryFile() throws Exception {
        // a supervisor that signals the launcher alone (or the launcher as a container's PID 1, which
        // ignored SIGTERM without a handler): the JVM ran on to the end, and its archive's temporary
        // file (15-60 MB) stayed for good
        Path calls = work.resolve("calls.txt");
        Path cache = work.resolve("cache");
        ProcessBuilder pb = new ProcessBuilder(LAUNCHER.toString(), "--repo", "/r", "backup", "files")
                .redirectErrorStream(true)
                .redirectOutput(work.resolve("out.txt").toFile());
        launcherEnvironment(pb, cache, slowFakeJdk(calls, false));
        Process launcher = pb.start();
        long deadline = System.nanoTime() + 20_000_000_000L;
        while (!(Files.exists(calls) && Files.readString(calls).contains("started"))) {
            assertThat(System.nanoTime()).as("the JVM started").isLessThan(deadline);
            Thread.sleep(20);
        }
        assertThat(temporaryFiles(cache)).as("the archive being made").isNotEmpty();
        launcher.destroy(); // SIGTERM to the launcher's process only
        assertThat(launcher.waitFor(10, TimeUnit.SECONDS))
                .as("the launcher ended")
                .isTrue();
        assertThat(launcher.exitValue()).isEqualTo(143);
        assertThat(Files.readString(calls)).as("the JVM was stopped").contains("TERM");
        assertThat(temporaryFiles(cache)).isEmpty();
        assertThat(archives(cache)).isEmpty();
    }

    private static List<String> temporaryFiles(Path cache) throws Exception {
        try (Stream<Path> s = Files.list(cache.resolve("drkit"))) {
            return s.map(p -> p.getFileName().toString())
                    .filter(n -> n.startsWith(".drkit-"))
                    .toList();
        }
    }

    @Test
    void aFirstRunHandsTheJvmItsStdinAndTheCallersOwnDescriptors() throws Exception {
        // the recording JVM is the launcher's background child: a background job's stdin is /dev/null,
        // and fd 3 (--passphrase-file /dev/fd/3 3<key) was taken to hand stdin over
        Path bin = Files.createDirectories(work.resolve("cat-jdk/bin"));
        Files.writeString(
                bin.resolve("java"),
                "#!/bin/sh\ncase \" $* \" in *' -version '*) exit 0 ;; esac\ncat; cat /dev/fd/3\n");
        Files.setPosixFilePermissions(bin.resolve("java"), PosixFilePermissions.fromString("rwx------"));
        Path key = Files.writeString(work.resolve("key"), "from fd 3\n");
        ProcessBuilder pb = new ProcessBuilder(
                        "/bin/sh", "-c", "exec \"$0\" backup files 3<'" + key + "'", LAUNCHER.toString())
                .redirectErrorStream(true);
        launcherEnvironment(pb, work.resolve("cache"), bin.getParent());
        Process p = pb.start();
        p.getOutputStream().write("from stdin\n".getBytes(StandardCharsets.UTF_8));
        p.getOutputStream().close();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor()).as(out).isZero();
        assertThat(out).isEqualTo("from stdin\nfrom fd 3\n");
    }

    @Test
    void whereRecordingCannotStartOrMayNotFitTheCommandRunsPlainAndItsTemporaryLeftoversGo() throws Exception {
        Path calls = work.resolve("calls.txt");
        Path cache = work.resolve("cache");
        Files.createDirectories(
                cache.resolve("drkit"),
                PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
        Path old = Files.writeString(cache.resolve("drkit/.drkit-1-2-3-backup.99999.jsa"), "left by a killed run");
        Files.setLastModifiedTime(old, FileTime.from(Instant.now().minusSeconds(7200)));
        Path recent = Files.writeString(cache.resolve("drkit/.drkit-1-2-3-backup.99998.jsa"), "a run going on");
        Map<String, String> refusing =
                Map.of("JAVA_HOME", slowFakeJdk(calls, true).toString());
        Outcome o = launch(cache, refusing, List.of("--version"), null);
        // the JVM could not start recording (-version failed): the command ran plain, not as a failed or silent run
        List<String> lines = Files.readAllLines(calls);
        assertThat(lines.get(0)).contains("-version").contains("ArchiveClassesAtExit");
        assertThat(lines.get(1)).doesNotContain("Archive").endsWith("--version");
        assertThat(old).as("a leftover older than an hour").doesNotExist();
        assertThat(recent).exists();
        assertThat(o.exit()).isZero();

        // under a ulimit -v recording (a third more memory) ran out where the command alone fit
        Files.delete(calls);
        Map<String, String> willing =
                Map.of("JAVA_HOME", slowFakeJdk(calls, false).toString());
        launch(cache, willing, List.of("--version"), "ulimit -v 16000000");
        assertThat(Files.readAllLines(calls)).singleElement().asString().doesNotContain("Archive");
    }

    @Test
    void onAnyJavaOptionsTheJvmRejectsAreSaidByItAndACommandTheJvmCannotArchiveStillRuns() throws Exception {
        List<Map<String, String>> jvms = new ArrayList<>(List.of(Map.of()));
        newerJava(25).ifPresent(home -> jvms.add(Map.of("JAVA_HOME", home.toString())));
        for (Map<String, String> jvm : jvms) {
            Map<String, String> env = new HashMap<>(jvm);
            env.put("DRKIT_JAVA_OPTS", "-Xmx99999999g");
            Path cache = work.resolve("cache-" + jvms.indexOf(jvm));
            Outcome o = launch(cache, env, List.of("--version"));
            assertThat(o.exit()).isEqualTo(1);
            assertThat(o.out() + o.err()).as(jvm.toString()).contains("heap"); // Java 25's training run said nothing
        }
        // an option the archive cannot hold (Java 17 refused to start: "DynamicDumpSharedSpaces is unsupported")
        Path cache = work.resolve("cache-aligned");
        for (int run = 1; run <= 2; run++) {
            assertThat(run(cache, Map.of("DRKIT_JAVA_OPTS", "-XX:ObjectAlignmentInBytes=16"), List.of("--version")))
                    .startsWith("drkit ");
        }
    }

    @Test
    void aLauncherInstalledAsALinkFindsTheJarNextToItself() throws Exception {
        Path link = Files.createSymbolicLink(work.resolve("drkit"), LAUNCHER);
        ProcessBuilder pb = new ProcessBuilder(link.toString(), "--version").redirectErrorStream(true);
        launcherEnvironment(pb, work.resolve("cache"), Path.of(System.getProperty("java.home")));
        pb.environment().remove("DRKIT_JAR");
        Process p = pb.start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor()).as(out).isZero();
        assertThat(out).startsWith("drkit ");
    }

    @Test
    void aPostgresBackupUnderTheFlightRecorderOrAnAgentAddedLaterRunsAgainAndAgain() throws Exception {
        // Java 17 crashed (SIGSEGV in the class file load hook) on the second such run when the
        // launcher mapped the archive the first one made, and on the first one under an agent
        // once an archive made without it was there
        try (PostgresServer pg = PostgresServer.start()) {
            Path password = pg.passwordFile(work);
            List<String> backup = List.of(
                    "--repo",
                    work.resolve("repo").toString(),
                    "backup",
                    "postgres-logical",
                    "--name",
                    "pg",
                    "--url",
                    pg.jdbcUrl("postgres"),
                    "--user",
                    "postgres",
                    "--password-file",
                    password.toString(),
                    "--bin-dir",
                    pg.binDir().toString());
            Path jfr = work.resolve("recording.jfr");
            Map<String, String> recorded = Map.of("DRKIT_JAVA_OPTS", "-XX:StartFlightRecording=filename=" + jfr);
            Path cache = work.resolve("cache");
            for (int run = 1; run <= 2; run++) {
                Outcome o = launch(cache, recorded, backup);
                assertThat(o.exit()).as("run " + run + ": " + o.err()).isZero();
            }
            assertThat(jfr).isNotEmptyFile();
            Path plain = work.resolve("cache-plain");
            assertThat(launch(plain, Map.of(), backup).exit()).isZero();
            assertThat(archives(plain)).singleElement().asString().startsWith("drkit-");
            Outcome later =
                    launch(plain, Map.of("JAVA_TOOL_OPTIONS", "-XX:StartFlightRecording=filename=" + jfr), backup);
            assertThat(later.exit()).as(later.err()).isZero();
        }
    }

    @Test
    void aHostAlternatingTwoJvmsKeepsAnArchiveForEachAndANewJarReplacesOnlyItsJvmsArchive() throws Exception {
        // JVMs that write the archive they are asked for: the launcher's naming, without a JVM
        List<Map<String, String>> jvms = new ArrayList<>();
        for (String name : List.of("jdk-a", "jdk-b")) {
            Path bin = Files.createDirectories(work.resolve(name + "/bin"));
            Path java = bin.resolve("java");
            Files.writeString(
                    java,
                    "#!/bin/sh\nfor a in \"$@\"; do case $a in -XX:ArchiveClassesAtExit=*) : > \"${a#*=}\";; esac; done\n");
            Files.setPosixFilePermissions(java, PosixFilePermissions.fromString("rwx------"));
            jvms.add(Map.of("JAVA_HOME", bin.getParent().toString()));
        }
        Path cache = work.resolve("cache");
        List<String> backup = List.of("--repo", "/r", "backup", "files");
        for (Map<String, String> jvm : List.of(jvms.get(0), jvms.get(1), jvms.get(0), jvms.get(1))) {
            run(cache, jvm, backup);
        }
        assertThat(archives(cache)).hasSize(2).allMatch(n -> n.endsWith("-backup.jsa"));

        Path newerJar = work.resolve("drkit.jar");
        Files.copy(CliProcess.JAR, newerJar);
        Files.setLastModifiedTime(newerJar, FileTime.fromMillis(0));
        Map<String, String> withNewerJar = new HashMap<>(jvms.get(0));
        withNewerJar.put("DRKIT_JAR", newerJar.toString());
        List<String> before = archives(cache);
        run(cache, withNewerJar, backup);
        List<String> after = archives(cache);
        assertThat(after).hasSize(2); // jdk-a's archive of the old jar replaced, jdk-b's kept
        assertThat(after).containsAnyElementsOf(before);
        assertThat(after).anyMatch(n -> n.startsWith("drkit-0-"));
    }

    /** A JAVA_HOME whose java prints the options it is given: the launcher's choices, without a JVM. */
    private Path fakeJdk() throws Exception {
        Path bin = Files.createDirectories(work.resolve("fake-jdk/bin"));
        Path java = bin.resolve("java");
        Files.writeString(java, "#!/bin/sh\necho \"$*\"\n");
        Files.setPosixFilePermissions(java, PosixFilePermissions.fromString("rwx------"));
        return bin.getParent();
    }

    private static List<String> archives(Path cache) throws Exception {
        try (Stream<Path> s = Files.list(cache.resolve("drkit"))) {
            return s.map(p -> p.getFileName().toString()).sorted().toList();
        }
    }

    @Test
    void onJava24AndLaterNeitherTheLauncherNorJavaJarWarnsAboutNativeAccess() throws Exception {
        // Java 24+ warns on stderr when a library loads native code (zstd-jni) unless the jar's
        // manifest enables native access: a quiet backup must print nothing there
        Path javaHome = Prerequisites.require(
                newerJava(24), "no Java 24 or later under /usr/lib/jvm (DRKIT_TEST_NEWER_JAVA_HOME names one)");
        List<String> backup = new ArrayList<>(List.of("-q"));
        backup.addAll(filesBackup());
        List<String> viaLauncher = new ArrayList<>(List.of(LAUNCHER.toString()));
        viaLauncher.addAll(backup);
        List<String> viaJar =
                new ArrayList<>(List.of(javaHome.resolve("bin/java").toString(), "-jar", CliProcess.JAR.toString()));
        viaJar.addAll(backup);
        for (List<String> cmd : List.of(viaLauncher, viaLauncher, viaJar)) {
            ProcessBuilder pb = new ProcessBuilder(cmd);
            pb.environment().put("XDG_CACHE_HOME", work.resolve("cache").toString());
            pb.environment().put("JAVA_HOME", javaHome.toString());
            pb.environment().put("DRKIT_JAR", CliProcess.JAR.toString());
            Path err = work.resolve("stderr.txt");
            pb.redirectError(err.toFile());
            Process p = pb.start();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            assertThat(p.waitFor()).as(out + Files.readString(err)).isZero();
            assertThat(out.strip()).as(String.join(" ", cmd)).matches("\\d{8}T\\d{6}Z-[0-9a-f]{6}");
            assertThat(Files.readString(err)).as(String.join(" ", cmd)).isEmpty();
        }
    }

    @Test
    void onJava25AndLaterTheFirstRunTrainsAnAheadOfTimeCacheThatLaterRunsStartFrom() throws Exception {
        Path javaHome = Prerequisites.require(
                newerJava(25), "no Java 25 or later under /usr/lib/jvm (DRKIT_TEST_NEWER_JAVA_HOME names one)");
        Path cache = work.resolve("cache");
        Map<String, String> java25 = Map.of("JAVA_HOME", javaHome.toString());
        List<String> backup = new ArrayList<>(List.of("-q"));
        backup.addAll(filesBackup());

        // a short command's training run ends while the warm-up thread still works: nothing on stderr
        Outcome version = launch(cache, java25, List.of("--version"));
        assertThat(version.exit()).as(version.err()).isZero();
        assertThat(version.out().strip()).startsWith("drkit ");
        assertThat(version.err()).isEmpty();

        // the training run: its stdout is the command's alone (the recording JVM's notice is
        // silenced); under umask 002 the JVM makes its files group-writable, and the cache is kept
        Outcome first = launch(cache, java25, backup, "umask 002");
        assertThat(first.exit()).as(first.err()).isZero();
        assertThat(first.out().strip()).matches("\\d{8}T\\d{6}Z-[0-9a-f]{6}");
        assertThat(first.err()).isEmpty();
        assertThat(archives(cache))
                .as("the caches, and no training file or half-made cache left")
                .hasSize(2)
                .allMatch(n -> n.startsWith("drkit-"))
                .anyMatch(n -> n.endsWith("-backup.aot"))
                .anyMatch(n -> n.endsWith("-run.aot"));

        // a later run starts from it: drkit's classes come out of the cache, not the jar
        Path log = work.resolve("classes.log");
        Map<String, String> logged = new HashMap<>(java25);
        logged.put("JAVA_TOOL_OPTIONS", "-Xlog:class+load=info:file=" + log);
        Outcome second = launch(cache, logged, backup);
        assertThat(second.exit()).as(second.err()).isZero();
        assertThat(second.out().strip()).matches("\\d{8}T\\d{6}Z-[0-9a-f]{6}");
        List<String> ours = Files.readAllLines(log).stream()
                .filter(l -> l.contains(" dev.drkit.") && !l.contains("$$Lambda"))
                .toList();
        assertThat(ours).hasSizeGreaterThan(100);
        assertThat(ours).allMatch(l -> l.contains("source: shared objects file"), "loaded from the cache");
        assertThat(archives(cache)).hasSize(2);
    }

    @Test
    void aFailedFirstRunLeavesNoArchiveOnAnyJava() throws Exception {
        // a usage error loads a fraction of the command's classes: no picture of the command to keep
        List<Map<String, String>> jvms = new ArrayList<>(List.of(Map.of()));
        newerJava(25).ifPresent(home -> jvms.add(Map.of("JAVA_HOME", home.toString())));
        List<String> noPath = List.of("--repo", work.resolve("repo").toString(), "backup", "files", "--name", "x");
        for (Map<String, String> jvm : jvms) {
            Path cache = work.resolve("cache-" + jvms.indexOf(jvm));
            Outcome failed = launch(cache, jvm, noPath);
            assertThat(failed.exit()).as(failed.err()).isEqualTo(2);
            assertThat(failed.err()).contains("--path");
            assertThat(archives(cache)).as(jvm.toString()).isEmpty();
            Outcome ok = launch(cache, jvm, filesBackup());
            assertThat(ok.exit()).as(ok.err()).isZero();
            assertThat(archives(cache))
                    .as(jvm.toString())
                    .singleElement()
                    .asString()
                    .matches("drkit-.*-backup\\.(jsa|aot)");
        }
    }

    /** The arguments of a files backup of a one-file tree into the work directory's repository. */
    private List<String> filesBackup() throws Exception {
        Path data = Files.createDirectories(work.resolve("data"));
        Files.writeString(data.resolve("a.conf"), "x=1\n");
        return List.of(
                "--repo",
                work.resolve("repo").toString(),
                "backup",
                "files",
                "--name",
                "config",
                "--path",
                data.toString());
    }

    /**
     * A JDK of major version {@code min} or later: DRKIT_TEST_NEWER_JAVA_HOME (checked), else one
     * under /usr/lib/jvm.
     */
    private static Optional<Path> newerJava(int min) throws Exception {
        String given = System.getenv("DRKIT_TEST_NEWER_JAVA_HOME");
        if (given != null && !given.isBlank()) {
            Path home = Path.of(given);
            assertThat(major(home))
                    .as("DRKIT_TEST_NEWER_JAVA_HOME=" + given + " names a Java " + min + " or later")
                    .isGreaterThanOrEqualTo(min);
            return Optional.of(home);
        }
        Path jvms = Path.of("/usr/lib/jvm");
        if (!Files.isDirectory(jvms)) {
            return Optional.empty();
        }
        try (Stream<Path> homes = Files.list(jvms)) {
            for (Path home : homes.sorted().toList()) {
                if (Files.isExecutable(home.resolve("bin/java")) && major(home) >= min) {
                    return Optional.of(home);
                }
            }
        }
        return Optional.empty();
    }

    /** The major version a JDK's release file gives; 0 when it has none. */
    private static int major(Path home) throws Exception {
        Path release = home.resolve("release");
        if (!Files.isRegularFile(release)) {
            return 0;
        }
        Matcher m = Pattern.compile("(?m)^JAVA_VERSION=\"(\\d+)").matcher(Files.readString(release));
        return m.find() ? Integer.parseInt(m.group(1)) : 0;
    }

    private record Outcome(int exit, String out, String err) {}

    /** The launcher's environment: its cache directory, the JVM to run and the jar. */
    private static void launcherEnvironment(ProcessBuilder pb, Path cache, Path javaHome) {
        pb.environment().put("XDG_CACHE_HOME", cache.toString());
        pb.environment().put("JAVA_HOME", javaHome.toString());
        pb.environment().put("DRKIT_JAR", CliProcess.JAR.toString());
    }

    /** Runs the launcher; its exit code, stdout and stderr. */
    private Outcome launch(Path cache, Map<String, String> env, List<String> args) throws Exception {
        return launch(cache, env, args, null);
    }

    /** Runs the launcher under {@code umask} (octal; null: this process's). */
    /** The same, after {@code prelude} (a shell command such as {@code umask 002}) when not null. */
    private Outcome launch(Path cache, Map<String, String> env, List<String> args, String prelude) throws Exception {
        List<String> cmd = new ArrayList<>();
        if (prelude != null) {
            cmd.addAll(List.of("/bin/sh", "-c", prelude + " && exec \"$0\" \"$@\""));
        }
        cmd.add(LAUNCHER.toString());
        cmd.addAll(args);
        Path err = Files.createTempFile(work, "stderr", ".txt");
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectError(err.toFile());
        launcherEnvironment(pb, cache, Path.of(System.getProperty("java.home")));
        // a null value removes the variable
        env.forEach((k, v) -> {
            if (v == null) {
                pb.environment().remove(k);
            } else {
                pb.environment().put(k, v);
            }
        });
        Process p = pb.start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        int exit = p.waitFor();
        return new Outcome(exit, out, Files.readString(err));
    }

    private String run(Path cache, Map<String, String> env, List<String> args) throws Exception {
        Outcome o = launch(cache, env, args);
        assertThat(o.exit()).as(o.out() + o.err()).isZero();
        return o.out();
    }
}
