package dev.drkit.postgres;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.catchThrowable;

import dev.drkit.ConfigException;
import dev.drkit.Settings;
import dev.drkit.testkit.Prerequisites;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class PgToolsTest {
    @TempDir
    Path dir;

    /** A bin directory with a fake pg_dump 15.2 and {@code tool} running {@code script}. */
    private Path withTool(String tool, String script) throws Exception {
        Path bin = fakePgDump("15.2");
        Files.writeString(bin.resolve(tool), script);
        Files.setPosixFilePermissions(bin.resolve(tool), PosixFilePermissions.fromString("rwx------"));
        return bin;
    }

    private Path fakePgDump(String version) throws Exception {
        Path bin = Files.createDirectories(dir.resolve("bin" + version));
        Path tool = bin.resolve("pg_dump");
        Files.writeString(tool, "#!/bin/sh\necho 'pg_dump (PostgreSQL) " + version + "'\n");
        Files.setPosixFilePermissions(tool, PosixFilePermissions.fromString("rwxr-xr-x"));
        return bin;
    }

    @Test
    void anOlderPgDumpIsRefusedNamingTheVersionNeeded() throws Exception {
        PgTools tools = PgTools.find(fakePgDump("12.4").toString());
        assertThat(tools.majorVersion("pg_dump")).isEqualTo(12);
        assertThatThrownBy(() -> tools.requireAtLeast("pg_dump", 15))
                .isInstanceOf(ConfigException.class)
                .hasMessageContaining("pg_dump 12")
                .hasMessageContaining("use pg_dump 15 or newer");
        PgTools.find(fakePgDump("16.1").toString()).requireAtLeast("pg_dump", 15);
    }

    @Test
    void aVersionAskedEarlyIsAskedOnceAndReadWhenNeeded() throws Exception {
        Path bin = Files.createDirectories(dir.resolve("counting"));
        Path runs = dir.resolve("runs");
        Path tool = bin.resolve("pg_dump");
        Files.writeString(tool, "#!/bin/sh\necho run >> '" + runs + "'\necho 'pg_dump (PostgreSQL) 16.4'\n");
        Files.setPosixFilePermissions(tool, PosixFilePermissions.fromString("rwxr-xr-x"));
        PgTools tools = PgTools.find(bin.toString());
        tools.askVersionEarly("pg_dump");
        tools.askVersionEarly("pg_dump"); // a second ask while the first runs starts nothing
        long deadline = System.nanoTime() + 10_000_000_000L;
        while (!Files.exists(runs) && System.nanoTime() < deadline) {
            Thread.onSpinWait();
        }
        assertThat(runs).as("the tool runs before its version is needed").exists();
        assertThat(tools.majorVersion("pg_dump")).isEqualTo(16);
        assertThat(tools.majorVersion("pg_dump")).isEqualTo(16);
        assertThat(Files.readAllLines(runs)).hasSize(1);

        // a tool that cannot be started early is asked again when needed, and reported then
        tools.askVersionEarly("pg_dumpall");
        assertThatThrownBy(() -> tools.majorVersion("pg_dumpall")).isInstanceOf(IOException.class);
        tools.dropAskedVersions();
    }

    @Test
    void postgresql18VersionsAreRead() throws Exception {
        PgTools release = PgTools.find(fakePgDump("18.2").toString());
        assertThat(release.majorVersion("pg_dump")).isEqualTo(18);
        release.requireAtLeast("pg_dump", 18);
        assertThat(PgTools.find(fakePgDump("18beta1").toString()).majorVersion("pg_dump"))
                .isEqualTo(18);
        assertThatThrownBy(() -> PgTools.find(fakePgDump("17.6").toString()).requireAtLeast("pg_dump", 18))
                .isInstanceOf(ConfigException.class)
                .hasMessageContaining("cannot dump a PostgreSQL 18 server")
                .hasMessageContaining("use pg_dump 18 or newer");
    }

    @Test
    void aBinDirWithoutPgDumpIsAClearError() {
        assertThatThrownBy(() -> PgTools.find(dir.toString()))
                .isInstanceOf(ConfigException.class)
                .hasMessageContaining("holds no pg_dump");
    }

    @Test
    void connectionSettingsNeverShowThePasswordAndPassTlsThrough() throws Exception {
        Path pw = Files.writeString(dir.resolve("pw"), "s3cr3t:with\\colon\n");
        Files.setPosixFilePermissions(pw, PosixFilePermissions.fromString("rw-------"));
        PgConnection c = PgConnection.from(Settings.builder()
                .set("url", "jdbc:postgresql://db.example:6543/intel?sslmode=verify-full&sslrootcert=/etc/ca.pem")
                .set("user", "intel_user")
                .set("password-file", pw.toString())
                .build());
        assertThat(c.toString())
                .isEqualTo("postgresql://intel_user@db.example:6543/intel")
                .doesNotContain("s3cr3t");
        var env = c.toolEnvironment();
        assertThat(env)
                .containsEntry("PGSSLMODE", "verify-full")
                .containsEntry("PGSSLROOTCERT", "/etc/ca.pem")
                .containsEntry("PGPASSWORD", "s3cr3t:with\\colon")
                .containsEntry("PGPORT", "6543")
                .doesNotContainKey("PGPASSFILE");
        assertThat(c.redact("FATAL: s3cr3t:with\\colon")).doesNotContain("s3cr3t");
    }

    @Test
    void aPasswordInTheUrlIsHandledLikeAnyOtherAndRedacted() throws Exception {
        PgConnection c = PgConnection.from(Settings.builder()
                .set("url", "jdbc:postgresql://db:5432/intel?user=u&password=in-url-secret&sslmode=require")
                .build());
        assertThat(c.user()).isEqualTo("u");
        assertThat(c.redact("error near in-url-secret")).doesNotContain("in-url-secret");
        assertThat(c.toolEnvironment())
                .containsEntry("PGSSLMODE", "require")
                .containsEntry("PGPASSWORD", "in-url-secret")
                .containsEntry("PGUSER", "u");
    }

    @Test
    void aToolStartedToDieWithThisProcessStillGetsItsStdinStdoutExitCodeAndPassword() throws Exception {
        requireUtilLinux();
        Path bin = withTool("psql", "#!/bin/sh\necho \"got $(cat) as $PGUSER with $PGPASSWORD\"\nexit 3\n");
        PgConnection c = PgConnection.from(Settings.builder()
                .set("url", "jdbc:postgresql://db:5432/intel")
                .set("user", "u")
                .set("password", "pw-in-env")
                .build());
        try (PgTools.Run run = PgTools.find(bin.toString()).start(c, "psql", List.of())) {
            try (var stdin = run.process.getOutputStream()) {
                stdin.write("input".getBytes(StandardCharsets.UTF_8));
            }
            String out = new String(run.process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            assertThat(run.await()).isEqualTo(3);
            assertThat(out).isEqualTo("got input as u with pw-in-env\n");
            assertThat(run.process.info().arguments().map(List::of).orElse(List.of()))
                    .noneMatch(a -> a.contains("pw-in-env"));
        }
    }

    @Test
    void aToolOutlivesTheThreadThatStartedIt() throws Exception {
        requireUtilLinux();
        Path bin = withTool("psql", "#!/bin/sh\ncat\n");
        PgTools tools = PgTools.find(bin.toString());
        PgTools.Run[] run = new PgTools.Run[1];
        Thread starter = new Thread(
                () -> {
                    try {
                        run[0] = tools.start(null, "psql", List.of());
                        // the thread ends only once the wrapper armed its parent-death signal and started the tool
                        while (run[0].process.descendants().findAny().isEmpty()) {
                            Thread.sleep(5);
                        }
                    } catch (IOException e) {
                        throw new UncheckedIOException(e);
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                    }
                },
                "drkit-starter");
        starter.start();
        starter.join();
        awaitNativeThreadGone("drkit-starter"); // its end would have sent the parent-death signal by then
        try (PgTools.Run r = run[0]) {
            try (var stdin = r.process.getOutputStream()) {
                stdin.write("still here".getBytes(StandardCharsets.UTF_8));
            }
            assertThat(new String(r.process.getInputStream().readAllBytes(), StandardCharsets.UTF_8))
                    .isEqualTo("still here");
            assertThat(r.await()).isZero();
        }
    }

    /**
     * A tool killed because its thread was interrupted exits with a signal's code: that is the
     * interrupt, not a failure of the tool, which on main was reported as one ("pg_dumpall of
     * null failed (exit 143)") unless the thread happened to wait before the tool was reaped.
     */
    @Test
    void aToolStoppedByAnInterruptReportsTheInterruptAndNotItsExitCode() throws Exception {
        requireUtilLinux();
        Path bin = withTool("pg_dumpall", "#!/bin/sh\necho part\nexec sleep 300\n");
        PgTools tools = PgTools.find(bin.toString());
        for (int i = 0; i < 5; i++) {
            Thread interrupter = InterruptLater.after(300);
            Throwable t =
                    catchThrowable(() -> tools.dump(null, "pg_dumpall", List.of(), OutputStream.nullOutputStream()));
            interrupter.join();
            Thread.interrupted();
            assertThat(t).as("try %d", i).isInstanceOf(InterruptedException.class);
        }
    }

    @Test
    void closingARunKillsTheToolAndWhatItStarted() throws Exception {
        requireUtilLinux();
        Path bin = withTool("pg_restore", "#!/bin/sh\nsleep 300 &\necho started\nwait\n");
        List<ProcessHandle> started;
        try (PgTools.Run run = PgTools.find(bin.toString()).start(null, "pg_restore", List.of())) {
            new BufferedReader(new InputStreamReader(run.process.getInputStream())).readLine();
            // the backgrounded child may still be a forked shell about to exec sleep: wait until it is sleep
            long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            do {
                started = run.process.descendants().toList();
            } while (started.stream()
                            .noneMatch(p -> p.info().command().orElse("").endsWith("sleep"))
                    && System.nanoTime() < until
                    && pause());
            assertThat(started).anyMatch(p -> p.info().command().orElse("").endsWith("sleep"));
        }
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (started.stream().anyMatch(PgToolsTest::running) && System.nanoTime() < deadline) {
            Thread.sleep(20);
        }
        assertThat(started).noneMatch(PgToolsTest::running);
    }

    private static boolean pause() throws InterruptedException {
        Thread.sleep(10);
        return true;
    }

    private static void awaitNativeThreadGone(String name) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (true) {
            boolean present;
            try (var tasks = Files.list(Path.of("/proc/self/task"))) {
                present = tasks.anyMatch(t -> {
                    try {
                        return Files.readString(t.resolve("comm")).strip().equals(name);
                    } catch (IOException gone) {
                        return false;
                    }
                });
            }
            if (!present) {
                return;
            }
            assertThat(System.nanoTime()).as("thread " + name + " ending").isLessThan(deadline);
            Thread.sleep(5);
        }
    }

    /** Alive and not a zombie (killed orphans may wait for a reaper that never comes). */
    static boolean running(ProcessHandle p) {
        try {
            String stat = Files.readString(Path.of("/proc", String.valueOf(p.pid()), "stat"));
            char state = stat.charAt(stat.lastIndexOf(')') + 2);
            return state != 'Z' && state != 'X' && p.isAlive();
        } catch (IOException gone) {
            return false;
        }
    }

    private static void requireUtilLinux() {
        Prerequisites.require(
                Optional.of(true).filter(ok -> PgProcesses.canTieToThisProcess()),
                "setsid and setpriv are not installed; install util-linux (.ci/run does) to run this test");
    }

    @Test
    void aUrlThatIsNotPostgresIsRefused() {
        assertThatThrownBy(() -> PgConnection.from(Settings.builder()
                        .set("url", "jdbc:mysql://x/y?password=p")
                        .build()))
                .isInstanceOf(ConfigException.class)
                .hasMessageContaining("jdbc:postgresql://")
                .hasMessageNotContaining("password=p");
    }

    @Test
    void aToolsLastLinesShowNoControlCharacters() {
        // pg_restore quotes the statement that failed, which a forged archive chooses
        String stderr = "pg_restore: error: could not execute query: ERROR: boom\n"
                + "Command was: SELECT '\u001b]52;c;ZWNobyBwd25lZA==\u0007\u001b[2J\rfake: all passed';\n";
        String shown = PgTools.lastLines(stderr);
        assertThat(shown).doesNotContainPattern("\\p{Cntrl}").contains("Command was: SELECT '?]52;c;");
    }
}
