package dev.drkit.incident;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.drkit.ConfigException;
import dev.drkit.DrEvent;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.channels.ClosedByInterruptException;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Instant;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Two incident managers on one state file would each page for the same incidents, and the last
 * to write would drop the other's: the second is refused, in this process or another, until the
 * first is closed or its process ends.
 */
class SharedStateFileTest {
    @TempDir
    Path dir;

    @Test
    void aSecondManagerOnTheSameStateFileIsRefusedUntilTheFirstCloses() {
        Path state = dir.resolve("incidents.json");
        IncidentManager first = IncidentManager.builder().stateFile(state).build();

        assertThatThrownBy(() -> IncidentManager.builder().stateFile(state).build())
                .isInstanceOf(ConfigException.class)
                .hasMessage("the incident state file " + state + " is in use by another incident manager (another "
                        + "daemon of the same setup, or a host service, on this host); give each its own state-file");
        // another file is another manager's
        IncidentManager.builder().stateFile(dir.resolve("other.json")).build().close();

        first.close();
        IncidentManager.builder().stateFile(state).build().close();
    }

    @Test
    void aManagerInAnotherProcessHoldsTheFileUntilThatProcessIsKilled() throws Exception {
        Path state = dir.resolve("incidents.json");
        IncidentManager.builder().stateFile(state).build().close(); // makes the lock file
        // another process takes the same POSIX record lock the JDK takes, says so, and waits
        Process other = new ProcessBuilder(
                        "python3",
                        "-c",
                        "import fcntl,sys,time\n"
                                + "f=open(sys.argv[1],'r+')\n"
                                + "fcntl.lockf(f,fcntl.LOCK_EX|fcntl.LOCK_NB)\n"
                                + "print('locked',flush=True)\n"
                                + "time.sleep(600)",
                        dir.resolve(".incidents.json.lock").toString())
                .redirectErrorStream(true)
                .start();
        try {
            BufferedReader out =
                    new BufferedReader(new InputStreamReader(other.getInputStream(), StandardCharsets.UTF_8));
            assertThat(out.readLine()).isEqualTo("locked");

            assertThatThrownBy(() -> IncidentManager.builder().stateFile(state).build())
                    .isInstanceOf(ConfigException.class)
                    .hasMessageContaining("is in use by another incident manager");
        } finally {
            other.destroyForcibly(); // kill -9: the system releases its lock
            assertThat(other.waitFor(30, TimeUnit.SECONDS)).isTrue();
        }
        IncidentManager.builder().stateFile(state).build().close();
    }

    @Test
    void aFileSystemThatTakesNoLocksDoesNotStopTheManager() throws Exception {
        // NFS mounted without locks: tryLock fails with ENOLCK ("No locks available"); notices
        // must not stop, and the old code threw a ConfigException that stopped drkit run
        Path state = dir.resolve("incidents.json");
        FileChannel lock = IncidentState.lock(state, ch -> {
            throw new IOException("No locks available");
        });
        try {
            assertThat(lock.isOpen()).isTrue();
            // within this process a second manager is still refused
            assertThatThrownBy(() -> IncidentState.lock(state))
                    .isInstanceOf(ConfigException.class)
                    .hasMessageContaining("is in use by another incident manager");
        } finally {
            IncidentState.unlock(lock);
        }
        assertThat(lock.isOpen()).isFalse();
        IncidentState.unlock(IncidentState.lock(state)); // released: taken again
    }

    @Test
    void anInterruptedLockIsNotTakenForAFileSystemWithoutLocks() throws IOException {
        Path state = dir.resolve("incidents.json");
        assertThatThrownBy(() -> IncidentState.lock(state, ch -> {
                    throw new ClosedByInterruptException();
                }))
                .isInstanceOf(ConfigException.class)
                .hasMessageContaining("cannot be locked");
        IncidentState.unlock(IncidentState.lock(state)); // nothing was left held
    }

    @Test
    void theLockFileIsPrivate() throws Exception {
        Path state = dir.resolve("incidents.json");
        IncidentManager.builder().stateFile(state).build().close();
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(dir.resolve(".incidents.json.lock"))))
                .isEqualTo("rw-------");
    }

    @Test
    void aSecondManagerRefusedInThisProcessLeavesTheFirstOnesLockHeld() throws Exception {
        Path state = dir.resolve("incidents.json");
        IncidentManager first = IncidentManager.builder().stateFile(state).build();
        try {
            assertThatThrownBy(() -> IncidentManager.builder().stateFile(state).build())
                    .isInstanceOf(ConfigException.class);
            // closing a second channel on the lock file drops every lock the process holds on it
            // (POSIX record locks): another process must still be refused
            Process other = new ProcessBuilder(
                            "python3",
                            "-c",
                            "import fcntl,sys\n"
                                    + "f=open(sys.argv[1],'r+')\n"
                                    + "try:\n"
                                    + "  fcntl.lockf(f,fcntl.LOCK_EX|fcntl.LOCK_NB)\n"
                                    + "  print('locked',flush=True)\n"
                                    + "except OSError:\n"
                                    + "  print('refused',flush=True)\n",
                            dir.resolve(".incidents.json.lock").toString())
                    .redirectErrorStream(true)
                    .start();
            BufferedReader out =
                    new BufferedReader(new InputStreamReader(other.getInputStream(), StandardCharsets.UTF_8));
            assertThat(out.readLine()).isEqualTo("refused");
            assertThat(other.waitFor(30, TimeUnit.SECONDS)).isTrue();
        } finally {
            first.close();
        }
    }

    @Test
    void aClosedManagerNoLongerWritesTheFileAnotherNowHolds() throws Exception {
        Path state = dir.resolve("incidents.json");
        IncidentManager first = IncidentManager.builder().stateFile(state).build();
        first.close();
        try (IncidentManager second = IncidentManager.builder().stateFile(state).build()) {
            // an event the host still delivers to the closed manager (or a late delivery's callback)
            first.onEvent(new DrEvent(
                    DrEvent.Type.BACKUP_FAILED,
                    "db",
                    "20261202T100000Z-abc123",
                    Instant.now(),
                    "pg_dump: connection refused",
                    Map.of()));

            assertThat(Files.exists(state) ? Files.readString(state) : "")
                    .as("the state file the second manager holds")
                    .doesNotContain("\"db\"");
        }
    }
}
