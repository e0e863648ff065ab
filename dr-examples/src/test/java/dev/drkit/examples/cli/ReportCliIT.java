package dev.drkit.examples.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.drkit.testkit.Prerequisites;
import java.awt.image.BufferedImage;
import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.imageio.ImageIO;
import javax.xml.parsers.DocumentBuilderFactory;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.w3c.dom.Element;

/** {@code drkit report --html} through the jar, the page rendered by headless Chromium. */
class ReportCliIT {
    @TempDir
    Path work;

    private static CliProcess.Result ok(CliProcess.Result r) {
        assertThat(r.exit()).as(r.err()).isZero();
        return r;
    }

    @Test
    void theReportRendersInABrowserWithOnePointPerBackup() throws Exception {
        Path chromium = Prerequisites.require(
                Prerequisites.findOnPath("chromium").or(() -> Prerequisites.findOnPath("chromium-browser")),
                "chromium is not on PATH; install Debian's chromium package (.ci/run does) to run this test");
        Path repo = work.resolve("repo");
        Path tree = Files.createDirectories(work.resolve("app"));
        String first = null;
        for (int i = 1; i <= 3; i++) {
            Files.writeString(tree.resolve("app.yaml"), "version: " + i + "\n" + "x".repeat(i * 4000));
            String id = ok(CliProcess.run(repo, "backup", "files", "--name", "config", "--path", tree.toString()))
                    .lastLine();
            first = first == null ? id : first;
            Thread.sleep(1100); // ids resolve to the second
        }
        ok(CliProcess.run(repo, "verify", "--name", "config", "--id", first, "--level", "checksum"));
        Path page = work.resolve("dr-report.html");
        CliProcess.Result wrote = ok(CliProcess.run(repo, "report", "--html", page.toString()));
        assertThat(wrote.out()).contains("wrote " + page);
        String html = Files.readString(page);

        Matcher svg = Pattern.compile("<svg .*?</svg>", Pattern.DOTALL).matcher(html);
        assertThat(svg.find()).isTrue();
        DocumentBuilderFactory f = DocumentBuilderFactory.newInstance();
        f.setFeature("http://apache.org/xml/features/disallow-doctype-decl", true);
        Element root = f.newDocumentBuilder()
                .parse(new ByteArrayInputStream(svg.group().getBytes(StandardCharsets.UTF_8)))
                .getDocumentElement();
        assertThat(root.getElementsByTagName("circle").getLength()).isEqualTo(3);
        assertThat(html).contains("backup verified").contains("Recovery testing schedule");

        Path shot = work.resolve("shot.png");
        Process p = new ProcessBuilder(List.of(
                        chromium.toString(),
                        "--headless",
                        "--no-sandbox",
                        "--disable-gpu",
                        "--hide-scrollbars",
                        "--user-data-dir=" + work.resolve("chromium-profile"),
                        "--window-size=1000,1200",
                        "--screenshot=" + shot,
                        page.toUri().toString()))
                .redirectErrorStream(true)
                .redirectOutput(work.resolve("chromium.log").toFile())
                .start();
        assertThat(p.waitFor(120, TimeUnit.SECONDS)).as("chromium finished").isTrue();
        assertThat(shot).as(Files.readString(work.resolve("chromium.log"))).exists();
        BufferedImage image = ImageIO.read(shot.toFile());
        assertThat(image.getWidth()).isEqualTo(1000);
        long painted = 0;
        Set<Integer> colours = new HashSet<>();
        boolean unverifiedPoint = false;
        for (int y = 0; y < image.getHeight(); y++) {
            for (int x = 0; x < image.getWidth(); x++) {
                int rgb = image.getRGB(x, y) & 0xffffff;
                colours.add(rgb);
                if (rgb != 0xffffff) {
                    painted++;
                }
                // the unverified backups' points (#8250df), give or take antialiasing
                int r = rgb >> 16 & 0xff;
                int g = rgb >> 8 & 0xff;
                int b = rgb & 0xff;
                if (Math.abs(r - 0x82) < 12 && Math.abs(g - 0x50) < 12 && Math.abs(b - 0xdf) < 12) {
                    unverifiedPoint = true;
                }
            }
        }
        assertThat(painted).as("pixels that are not white").isGreaterThan(image.getWidth() * image.getHeight() / 50L);
        assertThat(colours.size()).as("distinct colours").isGreaterThan(20);
        assertThat(unverifiedPoint)
                .as("an unverified backup's point is on the screen")
                .isTrue();
    }
}
