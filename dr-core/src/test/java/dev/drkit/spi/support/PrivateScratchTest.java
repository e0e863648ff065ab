package dev.drkit.spi.support;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.drkit.ConfigException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Instant;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class PrivateScratchTest {
    @TempDir
    Path tmp;

    private static long uid() throws Exception {
        return ((Number) Files.getAttribute(Path.of("/proc/self"), "unix:uid")).longValue();
    }

    private static String mode(Path p) throws Exception {
        return PosixFilePermissions.toString(Files.getPosixFilePermissions(p, LinkOption.NOFOLLOW_LINKS));
    }

    private static long startOf(ProcessHandle p) {
        return p.info().startInstant().map(Instant::toEpochMilli).orElseThrow();
    }

    @Test
    void createsAPrivatePerUserParentAndARunDirectoryNamedForThisProcess() throws Exception {
        PrivateScratch s = PrivateScratch.open(tmp, uid(), ProcessHandle.current());
        assertThat(s.parent()).isEqualTo(tmp.resolve("drkit-" + uid()));
        assertThat(s.directory().getParent()).isEqualTo(s.parent());
        assertThat(s.directory().getFileName().toString())
                .isEqualTo("run-" + ProcessHandle.current().pid() + "-" + PrivateScratch.processStart())
                .as("named by boot and clock ticks, which a step of the clock does not move")
                .matches("run-\\d+-b[0-9a-f]{8}t\\d+");
        assertThat(mode(s.parent())).isEqualTo("rwx------");
        assertThat(mode(s.directory())).isEqualTo("rwx------");
        Path spool = s.createFile("restore-", ".dump");
        assertThat(spool.getParent()).isEqualTo(s.directory());
        assertThat(mode(spool)).isEqualTo("rw-------");
        assertThat(mode(s.createDirectory("x-"))).isEqualTo("rwx------");
        assertThat(PrivateScratch.open(tmp, uid(), ProcessHandle.current()).directory())
                .isEqualTo(s.directory());
    }

    @Test
    void anAreaUnderAnotherDirectoryIsMadeAndCheckedTheSameWayAndNamesItsSetting() throws Exception {
        Path big = Files.createDirectory(tmp.resolve("big"));
        PrivateScratch s = PrivateScratch.under(big, "setting 'scratch-dir'");
        assertThat(s.parent()).isEqualTo(big.resolve("drkit-" + uid()));
        assertThat(mode(s.parent())).isEqualTo("rwx------");
        assertThat(mode(s.createDirectory("synthetic-"))).isEqualTo("rwx------");
        assertThat(PrivateScratch.under(big, "setting 'scratch-dir'")).isSameAs(s);
        Path shared = Files.createDirectory(tmp.resolve("shared"));
        Files.createDirectory(
                shared.resolve("drkit-" + uid()),
                PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwxrwxrwx")));
        assertThatThrownBy(() -> PrivateScratch.under(shared, "setting 'scratch-dir'"))
                .isInstanceOf(ConfigException.class)
                .hasMessageContaining("setting 'scratch-dir'")
                .hasMessageNotContaining("java.io.tmpdir");
    }

    @Test
    void aParentThatOthersCanEnterIsRefused() throws Exception {
        Files.createDirectory(
                tmp.resolve("drkit-" + uid()),
                PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwxr-xr-x")));
        assertThatThrownBy(() -> PrivateScratch.open(tmp, uid(), ProcessHandle.current()))
                .isInstanceOf(ConfigException.class)
                .hasMessageContaining("rwxr-xr-x")
                .hasMessageContaining("java.io.tmpdir");
        assertThat(tmp.resolve("drkit-" + uid())).isEmptyDirectory();
    }

    @Test
    void aParentOfAnotherUserIsRefused() throws Exception {
        long other = uid() + 1;
        Files.createDirectory(
                tmp.resolve("drkit-" + other),
                PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
        assertThatThrownBy(() -> PrivateScratch.open(tmp, other, ProcessHandle.current()))
                .isInstanceOf(ConfigException.class)
                .hasMessageContaining("belongs to uid " + uid());
    }

    @Test
    void aSymbolicLinkInPlaceOfTheParentIsRefused() throws Exception {
        Path elsewhere = Files.createDirectory(
                tmp.resolve("elsewhere"),
                PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
        Files.createSymbolicLink(tmp.resolve("drkit-" + uid()), elsewhere);
        assertThatThrownBy(() -> PrivateScratch.open(tmp, uid(), ProcessHandle.current()))
                .isInstanceOf(ConfigException.class)
                .hasMessageContaining("is not a directory");
        assertThat(elsewhere).isEmptyDirectory();
    }

    @Test
    void aProcessStartIsTheBootAndTheClockTicksSoThatClockStepsDoNotMakeARunningProcessLookGone() throws Exception {
        String bootId = Files.readString(Path.of("/proc/sys/kernel/random/boot_id"))
                .trim()
                .replace("-", "");
        String stat = Files.readString(Path.of("/proc/self/stat"));
        String ticks = stat.substring(stat.lastIndexOf(')') + 2).split(" ")[19];
        long pid = ProcessHandle.current().pid();
        assertThat(PrivateScratch.processStart()).isEqualTo("b" + bootId.substring(0, 8) + "t" + ticks);
        assertThat(PrivateScratch.alive(pid, PrivateScratch.processStart())).isTrue();
        // a start in epoch ms taken before a step of the clock of a minute: that process looks gone
        long stepped = startOf(ProcessHandle.current()) - 60_000;
        assertThat(PrivateScratch.alive(pid, stepped)).isFalse();
        assertThat(PrivateScratch.alive(pid, Long.toString(stepped))).isFalse();
        // the same pid started at another tick, or in another boot, is another process
        assertThat(PrivateScratch.alive(pid, "b" + bootId.substring(0, 8) + "t" + (Long.parseLong(ticks) + 1)))
                .isFalse();
        String otherBoot = bootId.startsWith("0") ? "1" + bootId.substring(1, 8) : "0" + bootId.substring(1, 8);
        assertThat(PrivateScratch.alive(pid, "b" + otherBoot + "t" + ticks)).isFalse();
    }

    @Test
    void aHolderIsGoneOnlyWhenThisHostCanTellItsProcessNoLongerRuns() throws Exception {
        ProcessHandle self = ProcessHandle.current();
        Instant selfStarted = self.info().startInstant().orElse(null);
        String host = Hosts.name();
        String start = PrivateScratch.processStart();
        assertThat(PrivateScratch.holderGoneHere(host, self.pid(), selfStarted, start))
                .as("this process, by its recorded start")
                .isFalse();
        assertThat(PrivateScratch.holderGoneHere(host, self.pid(), selfStarted, null))
                .as("this process, by pid and start instant")
                .isFalse();
        assertThat(PrivateScratch.holderGoneHere(host, self.pid(), null, ""))
                .as("this process, its start unknown")
                .isFalse();
        assertThat(PrivateScratch.holderGoneHere(host, self.pid(), selfStarted.minusSeconds(3600), null))
                .as("a reused pid: the process that runs started at another time")
                .isTrue();
        Process ended = new ProcessBuilder("sleep", "60").start();
        ended.destroyForcibly().waitFor();
        assertThat(PrivateScratch.holderGoneHere(host, ended.pid(), null, null))
                .as("a process of this host that ended")
                .isTrue();
        assertThat(PrivateScratch.holderGoneHere("elsewhere.invalid", ended.pid(), null, null))
                .as("another host's process, which this host cannot see")
                .isFalse();
        String otherBoot = start.startsWith("b0") ? "b1" + start.substring(2) : "b0" + start.substring(2);
        assertThat(PrivateScratch.holderGoneHere(host, ended.pid(), null, otherBoot))
                .as("a process of another boot: its lease or age tells")
                .isFalse();
    }

    @Test
    void runDirectoriesOfEndedProcessesAreRemovedAndThoseOfRunningOnesKept() throws Exception {
        Path parent = Files.createDirectory(
                tmp.resolve("drkit-" + uid()),
                PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
        Process ended = new ProcessBuilder("sleep", "60").start();
        long endedStart = startOf(ended.toHandle());
        ended.destroyForcibly().waitFor();
        Process running = new ProcessBuilder("sleep", "60").start();
        try {
            Path dead = Files.createDirectories(
                    parent.resolve("run-" + ended.pid() + "-" + endedStart).resolve("a"));
            Files.writeString(dead.resolve("restore-1.dump"), "plaintext");
            Path reused = Files.createDirectory(parent.resolve("run-" + running.pid() + "-12345"));
            Path live =
                    Files.createDirectory(parent.resolve("run-" + running.pid() + "-" + startOf(running.toHandle())));
            String stat = Files.readString(Path.of("/proc/" + running.pid() + "/stat"));
            String ticks = stat.substring(stat.lastIndexOf(')') + 2).split(" ")[19];
            String boot = PrivateScratch.processStart().substring(1, 9);
            Path liveByTicks =
                    Files.createDirectory(parent.resolve("run-" + running.pid() + "-b" + boot + "t" + ticks));
            Path reusedByTicks = Files.createDirectory(
                    parent.resolve("run-" + running.pid() + "-b" + boot + "t" + (Long.parseLong(ticks) - 1)));
            Path otherBoot = Files.createDirectory(parent.resolve(
                    "run-" + running.pid() + "-b" + (boot.equals("00000000") ? "00000001" : "00000000") + "t" + ticks));
            Path notOurs = Files.createDirectory(parent.resolve("something-else"));

            PrivateScratch s = PrivateScratch.open(tmp, uid(), ProcessHandle.current());

            assertThat(parent.resolve("run-" + ended.pid() + "-" + endedStart)).doesNotExist();
            assertThat(reused)
                    .as("a pid now used by a process that started later")
                    .doesNotExist();
            assertThat(live).exists();
            assertThat(liveByTicks).exists();
            assertThat(reusedByTicks).as("the pid at another start tick").doesNotExist();
            assertThat(otherBoot).as("a process of another boot").doesNotExist();
            assertThat(notOurs).exists();
            assertThat(s.directory()).exists();
        } finally {
            running.destroyForcibly().waitFor();
        }
    }
}
