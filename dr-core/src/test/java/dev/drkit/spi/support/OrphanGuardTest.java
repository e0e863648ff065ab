package dev.drkit.spi.support;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

@Timeout(value = 60, unit = TimeUnit.SECONDS)
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

    /** A stand-in for a scratch server: works in {@code dir} and writes its pid there, as PostgreSQL and Redis do. */
    private static Process fakeServer(Path dir, String pidFile) throws Exception {
        Process p = new ProcessBuilder(
                        "sh",
                        "-c",
                        "cd \"$1\" && echo $$ > \"$2\" && exec sleep 600",
                        "fake-server",
                        dir.toString(),
                        pidFile)
                .start();
        Path pid = dir.resolve(pidFile);
        for (int i = 0; i < 100 && !(Files.exists(pid) && Files.size(pid) > 0); i++) {
            Thread.sleep(50);
        }
        return p;
    }

    /** A JVM that starts a guard and then waits to be killed, as drkit would be in the middle of a restore test. */
    public static final class GuardedJvm {
        public static void main(String[] args) throws Exception {
            OrphanGuard.start(Path.of(args[0]), Path.of(args[1]), args[2]);
            System.out.println("guarded");
            System.out.flush();
            Thread.sleep(600_000);
        }
    }

    @Test
    void aKilledJvmsServerIsStoppedAndItsDirectoryRemoved() throws Exception {
        Path dir = Files.createDirectory(tmp.resolve("scratch"));
        Files.writeString(dir.resolve("copy-of-the-data"), "restored rows");
        server = fakeServer(dir, "server.pid");
        assertThat(server.isAlive()).isTrue();
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        Process jvm = new ProcessBuilder(
                        java,
                        "-cp",
                        System.getProperty("java.class.path"),
                        GuardedJvm.class.getName(),
                        dir.toString(),
                        dir.resolve("server.pid").toString(),
                        "TERM")
                .redirectErrorStream(true)
                .start();
        assertThat(new String(jvm.getInputStream().readNBytes(7))).isEqualTo("guarded");

        jvm.destroyForcibly(); // SIGKILL: no shutdown hook, no finally
        assertThat(jvm.waitFor(10, TimeUnit.SECONDS)).isTrue();

        assertThat(server.waitFor(20, TimeUnit.SECONDS))
                .as("the server stopped")
                .isTrue();
        awaitGone(dir);
    }

    @Test
    void aPidFileNamingAProcessThatWorksElsewhereIsNotSignalled() throws Exception {
        Path dir = Files.createDirectory(tmp.resolve("scratch"));
        Path elsewhere = Files.createDirectory(tmp.resolve("elsewhere"));
        other = fakeServer(elsewhere, "other.pid"); // e.g. a pid the system gave to another process since
        Files.copy(elsewhere.resolve("other.pid"), dir.resolve("server.pid"));
        OrphanGuard guard = OrphanGuard.start(dir, dir.resolve("server.pid"), "KILL");
        guard.process().getOutputStream().close(); // what the kernel does when the JVM dies
        assertThat(guard.process().waitFor(20, TimeUnit.SECONDS)).isTrue();
        assertThat(dir).doesNotExist();
        assertThat(other.isAlive())
                .as("a process outside the directory is left alone")
                .isTrue();
    }

    @Test
    void aClosedGuardTouchesNothing() throws Exception {
        Path dir = Files.createDirectory(tmp.resolve("scratch"));
        server = fakeServer(dir, "server.pid");
        OrphanGuard guard = OrphanGuard.start(dir, dir.resolve("server.pid"), "KILL");
        guard.close();
        assertThat(guard.process().waitFor(10, TimeUnit.SECONDS)).isTrue();
        assertThat(server.isAlive()).isTrue();
        assertThat(dir.resolve("server.pid")).exists();
        guard.close(); // twice is harmless
    }

    @Test
    void aGuardWithoutAServerYetStillRemovesTheDirectory() throws Exception {
        Path dir = Files.createDirectory(tmp.resolve("scratch"));
        Files.writeString(dir.resolve("restored"), "x");
        OrphanGuard guard = OrphanGuard.start(dir, dir.resolve("never-written.pid"), "QUIT");
        guard.process().getOutputStream().close();
        assertThat(guard.process().waitFor(20, TimeUnit.SECONDS)).isTrue();
        assertThat(dir).doesNotExist();
    }

    private static void awaitGone(Path dir) throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
        while (Files.exists(dir) && System.nanoTime() < deadline) {
            Thread.sleep(100);
        }
        assertThat(dir).as("the scratch directory was removed").doesNotExist();
    }
}
