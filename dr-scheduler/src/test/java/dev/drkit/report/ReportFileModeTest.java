package dev.drkit.report;

import static org.assertj.core.api.Assertions.assertThat;

import dev.drkit.DrKit;
import dev.drkit.Settings;
import dev.drkit.TargetSpec;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The README has cron write the report into a web root ({@code /var/www/dr/index.html}) to be
 * served; the page holds nothing secret, and the web server runs as another user.
 */
class ReportFileModeTest {
    @TempDir
    Path dir;

    @Test
    void rewritingAServedReportKeepsItReadableByTheWebServer() throws Exception {
        Path tree = Files.createDirectories(dir.resolve("app"));
        Files.writeString(tree.resolve("app.yaml"), "x: 1\n");
        Path page = dir.resolve("index.html");
        Files.writeString(page, "<p>yesterday's report</p>");
        Files.setPosixFilePermissions(page, PosixFilePermissions.fromString("rw-r--r--"));
        try (DrKit kit =
                DrKit.builder().repository(dir.resolve("repo").toString()).build()) {
            kit.backup(new TargetSpec("config", "files", Settings.of(Map.of("path", tree.toString()))));
            HtmlReport.builder(kit).build().write(page);
        }
        assertThat(Files.readString(page)).startsWith("<!DOCTYPE html>");
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(page)))
                .as("mode of the rewritten report (was rw-r--r--)")
                .isEqualTo("rw-r--r--");
    }
}
