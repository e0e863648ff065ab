package dev.drkit.examples.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** The fill a restore --prefetch-wal starts alongside itself, and the restore_command it writes. */
class RestoreFillTest {

    /** Prints the JVM options {@link RestoreCommand#fillJvmOptions()} passes on, one a line. */
    public static void main(String[] args) {
        RestoreCommand.fillJvmOptions().forEach(System.out::println);
    }

    @Test
    void theFillsCommandLineCarriesNoJvmOptionFromTheEnvironment() throws Exception {
        // a secret in JAVA_TOOL_OPTIONS or JDK_JAVA_OPTIONS is private to the process (its environment); the
        // fill's command line is readable by every user (ps) for as long as it runs, and the fill inherits the
        // environment anyway
        ProcessBuilder pb = new ProcessBuilder(
                        Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                        "-Xmx77m",
                        RestoreFillTest.class.getName())
                .redirectError(ProcessBuilder.Redirect.DISCARD); // the JVM's note that it picked them up
        // the class path from the environment: the JDK reads no arguments of a command line over 4 KiB
        pb.environment().put("CLASSPATH", System.getProperty("java.class.path"));
        pb.environment().put("JAVA_TOOL_OPTIONS", "-Daws.secretAccessKey=tool-secret");
        pb.environment().put("JDK_JAVA_OPTIONS", "-Djavax.net.ssl.keyStorePassword=jdk-secret");
        Process p = pb.start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
        assertThat(out).doesNotContain("tool-secret").doesNotContain("jdk-secret");
        assertThat(out.lines()).contains("-Xmx77m");
    }

    @Test
    void theFillTakesTheJvmOptionsOfTheRestoresCommandLineOnly() {
        assertThat(RestoreCommand.fillJvmOptions(List.of(
                        "-Xmx1g",
                        "-XX:ArchiveClassesAtExit=/home/u/.cache/drkit/restore.jsa",
                        "@more-options",
                        "-jar",
                        "/opt/drkit/drkit.jar",
                        "--repo",
                        "/r",
                        "restore",
                        "-Xmx9g")))
                .containsExactly("-Xmx1g", "@more-options");
        // a training run on Java 25+: its recording stays with the launcher's JVM
        assertThat(RestoreCommand.fillJvmOptions(List.of(
                        "-XX:AOTMode=record",
                        "-XX:AOTConfiguration=/home/u/.cache/drkit/.restore.1.aotconf",
                        "-XX:+UnlockDiagnosticVMOptions",
                        "-XX:AOTCacheOutput=/x.aot",
                        "-Xss2m",
                        "-jar",
                        "/opt/drkit/drkit.jar",
                        "restore")))
                .containsExactly("-XX:+UnlockDiagnosticVMOptions", "-Xss2m");
        assertThat(RestoreCommand.fillJvmOptions(
                        List.of("-Dx=1", "-cp", "/a:/b", "--class-path=/c", DrkitCli.class.getName(), "restore")))
                .containsExactly("-Dx=1");
        assertThat(RestoreCommand.fillJvmOptions(List.of(
                        "--add-opens", "java.base/java.lang=ALL-UNNAMED", "-Dy=2", "-m", "some.module/Main", "-Dz")))
                .containsExactly("--add-opens", "java.base/java.lang=ALL-UNNAMED", "-Dy=2");
    }

    @Test
    void aFillWaitsOnlyForTheRestoreThatStartedItNotForAProcessThatGotItsPidLater() throws Exception {
        ProcessHandle parent = ProcessHandle.current().parent().orElseThrow();
        assertThat(WalCommands.Fetch.restoreProcess(parent.pid())).contains(parent);
        // a process running under the pid the restore had (it ended, the pid was reused): not the restore
        Process other = new ProcessBuilder("sleep", "30").start();
        try {
            assertThat(WalCommands.Fetch.restoreProcess(other.pid())).isEmpty();
        } finally {
            other.destroy();
        }
    }

    @Test
    void aRestoreCommandArgumentKeepsItsPercentSignsFromPostgres() {
        // PostgreSQL expands %f, %p and %r in restore_command and, since 16, refuses any other %; %% is one %
        assertThat(RestoreCommand.commandArg("/backups/50%full/%p's repo"))
                .isEqualTo("'/backups/50%%full/%%p'\\''s repo'");
    }
}
