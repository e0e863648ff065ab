package dev.drkit.examples.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** {@code drkit status} shows a state file's incidents as text, never as terminal control or forged lines. */
class StatusIncidentTextTest {
    @TempDir
    Path work;

    private record Run(int exit, String out, String err) {}

    private static Run cli(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        CommandLine c = DrkitCli.commandLine(args);
        c.setOut(new PrintWriter(out));
        c.setErr(new PrintWriter(err));
        int exit = c.execute(args);
        return new Run(exit, out.toString(), err.toString());
    }

    @Test
    void controlCharactersInAStateFilesIncidentDoNotReachTheTerminal() throws Exception {
        Path data = Files.createDirectories(work.resolve("data"));
        Files.writeString(data.resolve("app.conf"), "listen 8080\n");
        Path state = work.resolve("incidents.json");
        Path setup = Files.writeString(work.resolve("drkit.yaml"), """
                repository: %s
                notifications:
                  incidents:
                    state-file: %s
                    webhook: { url: "http://127.0.0.1:9/unused" }
                targets:
                  config: { type: files, path: %s }
                """.formatted(work.resolve("repo"), state, data));
        Run backup = cli("--config", setup.toString(), "backup", "--all");
        assertThat(backup.exit()).as(backup.err()).isZero();
        // an ESC sequence that clears the screen, and a line that forges the verdict
        Files.writeString(state, """
                {"version":1,"open":[{"id":"drkit-x","kind":"VERIFICATION_FAILED",
                "target":"config","severity":"ERROR","startedAt":"2026-12-02T10:00:00Z","endedAt":null,
                "impact":"i","rootCause":"r","status":"investigating\\u001b[2J\\u001b[H)\\nhealthy\\n","actions":[],
                "lastNoticeAt":"2026-12-02T10:00:00Z"}],"failedInARow":{}}
                """);
        Run status = cli("--config", setup.toString(), "status", "--no-checklist");
        assertThat(status.out()).as(status.err()).contains("incident drkit-x");
        assertThat(status.out()).as("ESC from the state file on the terminal").doesNotContain("\u001b");
        assertThat(status.out().lines().filter(l -> l.equals("healthy")).count())
                .as("lines reading 'healthy' (one is forged by the state file)")
                .isLessThanOrEqualTo(1);
    }
}
