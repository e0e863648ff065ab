package dev.drkit.spi.support;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

@Timeout(value = 90, unit = TimeUnit.SECONDS)
class OrphanGuardTest {
    @TempDir
    Path tmp;

    private Process server;
    private Process other;

    @AfterEach
    void stopLeftovers() {
        for (Process p : new Process[] {server, other}) {
            if (p != null) {
                p.destroyForcibly();
            }
        }
    }

    /** A scratch directory with a stand-in server working in it ({@link #server}). */
    private Path scratchWithServer() throws Exception {
        Path dir = Files.createDirectory(tmp.resolve("scratch"));
        server = fakeServer(dir);
        return dir;
    }

    /** A stand-in for a scratch server, working in {@code dir}. */
    private static Process fakeServer(Path dir) throws Exception {
        return new ProcessBuilder("sh", "-c", "cd \"$1\" && exec sleep 600", "fake-server", dir.toString()).start();
    }

    /**
     * A JVM that guards a scratch directory and its server (args: directory, server pid,
     * signal, and "hook" to remove the directory in a shutdown hook as the private scratch area
     * does), then waits to be killed, as drkit would in the middle of a restore test.
     */
    public static final class GuardedJvm {
        public static void main(String[] args) throws Exception {
            Path dir = Path.of(args[0]);
            OrphanGuard guard = OrphanGuard.start(dir, args[2]);
            if (!guard.serverStarted(Long.parseLong(args[1]))) {
                throw new AssertionError("the guard does not know the server");
            }
            if (args.length > 3) {
                Runtime.getRuntime().addShutdownHook(new Thread(() -> FileTrees.delete(dir)));
            }
            System.out.println("guarded");
            System.out.flush();
            Thread.sleep(600_000);
        }
    }

    private Process guardedJvm(Path dir, long serverPid, String... more) throws Exception {
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        List<String> cmd = new ArrayList<>(List.of(
                java,
                "-cp",
                System.getProperty("java.class.path"),
                GuardedJvm.class.getName(),
                dir.toString(),
                Long.toString(serverPid),
                "TERM"));
        cmd.addAll(List.of(more));
        Process jvm = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        assertThat(new String(jvm.getInputStream().readNBytes(7), StandardCharsets.UTF_8))
                .isEqualTo("guarded");
        return jvm;
    }

    @Test
    void aKilledJvmsServerIsStoppedAndItsDirectoryRemoved() throws Exception {
        jvmEnds(false); // SIGKILL: no shutdown hook, no finally
    }

    @Test
    void aJvmThatExitsThroughItsShutdownHooksStillHasItsServerStopped() throws Exception {
        jvmEnds(true); // SIGTERM (a supervisor, timeout(1)): the hooks remove the directory first
    }

    private void jvmEnds(boolean throughHooks) throws Exception {
        Path dir = Files.createDirectory(tmp.resolve("scratch"));
        Files.writeString(dir.resolve("copy-of-the-data"), "restored rows");
        server = fakeServer(dir);
        Process jvm = throughHooks ? guardedJvm(dir, server.pid(), "hook") : guardedJvm(dir, server.pid());
        if (throughHooks) {
            jvm.destroy();
        } else {
            jvm.destroyForcibly();
        }
        assertThat(jvm.waitFor(10, TimeUnit.SECONDS)).isTrue();

        assertThat(server.waitFor(20, TimeUnit.SECONDS))
                .as("the server stopped")
                .isTrue();
        awaitGone(dir);
    }

    @Test
    void aProcessThatIsNotTheOneStartedThenIsLeftAlone() throws Exception {
        Path dir = Files.createDirectory(tmp.resolve("scratch"));
        other = fakeServer(dir); // the pid as a later process would reuse it: another start time
        OrphanGuard guard = OrphanGuard.start(dir, "KILL");
        try (OutputStream pipe = guard.process().getOutputStream()) {
            pipe.write(("server " + other.pid() + " 1\n").getBytes(StandardCharsets.US_ASCII));
        } // closed without "done": what the kernel does when the JVM dies
        assertThat(guard.process().waitFor(20, TimeUnit.SECONDS)).isTrue();
        assertThat(dir).doesNotExist();
        assertThat(other.isAlive())
                .as("a process that started at another time is left alone")
                .isTrue();
    }

    @Test
    void aClosedGuardTouchesNothing() throws Exception {
        Path dir = scratchWithServer();
        OrphanGuard guard = OrphanGuard.start(dir, "KILL");
        assertThat(guard.serverStarted(server.pid())).isTrue();
        guard.close();
        assertThat(guard.process().waitFor(10, TimeUnit.SECONDS)).isTrue();
        assertThat(server.isAlive()).isTrue();
        assertThat(dir).exists();
        guard.close(); // twice is harmless
        assertThat(guard.serverStarted(server.pid())).isFalse();
    }

    @Test
    void aGuardWithoutAServerStillRemovesTheDirectory() throws Exception {
        Path dir = Files.createDirectory(tmp.resolve("scratch"));
        Files.writeString(dir.resolve("restored"), "x");
        OrphanGuard guard = OrphanGuard.start(dir, "QUIT");
        assertThat(guard.serverStarted(Long.MAX_VALUE)).as("no such process").isFalse();
        guard.process().getOutputStream().close();
        assertThat(guard.process().waitFor(20, TimeUnit.SECONDS)).isTrue();
        assertThat(dir).doesNotExist();
    }

    @Test
    void aPidFileIsBelievedOnlyForAProcessOfItsOwnerAndName() throws Exception {
        Path dir = scratchWithServer();
        Path pidFile = Files.writeString(dir.resolve("server.pid"), server.pid() + "\nmore lines\n");
        try (OrphanGuard guard = OrphanGuard.start(dir, "KILL")) {
            assertThat(guard.serverStarted(pidFile, dir, "postgres"))
                    .as("a process named sleep")
                    .isFalse();
            assertThat(guard.known()).isFalse();
            assertThat(guard.serverStarted(pidFile, dir, "sleep")).isTrue();
            assertThat(guard.known()).isTrue();
        }
        // whoever may write the pid file must not be able to hang this process with it
        Path fifo = dir.resolve("fifo.pid");
        assertThat(new ProcessBuilder("mkfifo", fifo.toString()).start().waitFor())
                .isZero();
        assertThat(OrphanGuard.readPid(fifo)).isEmpty();
        Path zeros = Files.createSymbolicLink(dir.resolve("zero.pid"), Path.of("/dev/zero"));
        assertThat(OrphanGuard.readPid(zeros)).isEmpty();
        try (OrphanGuard guard = OrphanGuard.start(dir, "KILL")) {
            assertThat(guard.serverStarted(zeros, dir, "sleep"))
                    .as("a link is not a pid file")
                    .isFalse();
        }
    }

    @Test
    void aWatchTellsTheGuardOnceThePidFileAppears() throws Exception {
        Path dir = scratchWithServer();
        try (OrphanGuard guard = OrphanGuard.start(dir, "KILL")) {
            try (OrphanGuard.Watch watch = guard.watch(dir.resolve("server.pid"), dir, "sleep")) {
                Files.writeString(dir.resolve("server.pid"), server.pid() + "\n");
                awaitTrue(guard::known);
                assertThat(guard.known()).isTrue();
            }
        }
    }

    @Test
    void startTimesComeFromProc() {
        long self = ProcessHandle.current().pid();
        assertThat(OrphanGuard.startTicks(self)).isPresent();
        assertThat(OrphanGuard.startTicks(self)).isEqualTo(OrphanGuard.startTicks(self));
        assertThat(OrphanGuard.startTicks(Long.MAX_VALUE)).isEmpty();
    }

    private static void awaitGone(Path dir) throws InterruptedException {
        awaitTrue(() -> !Files.exists(dir));
        assertThat(dir).as("the scratch directory was removed").doesNotExist();
    }

    /** Waits up to 20 s for {@code condition}; the caller asserts what it needs after. */
    private static void awaitTrue(BooleanSupplier condition) throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
        while (!condition.getAsBoolean() && System.nanoTime() < deadline) {
            Thread.sleep(50);
        }
    }
}
