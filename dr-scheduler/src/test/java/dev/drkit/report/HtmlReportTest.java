package dev.drkit.report;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.drkit.BackupManifest;
import dev.drkit.BackupResult;
import dev.drkit.DrKit;
import dev.drkit.Objectives;
import dev.drkit.RecoveryTest;
import dev.drkit.Settings;
import dev.drkit.TargetSpec;
import dev.drkit.TestSchedule;
import dev.drkit.VerificationResult;
import dev.drkit.VerifyLevel;
import dev.drkit.files.FilesBackupTargetProvider;
import dev.drkit.spi.BackupTarget;
import dev.drkit.spi.BackupTargetProvider;
import dev.drkit.spi.FileArchive;
import dev.drkit.spi.OptionSchema;
import dev.drkit.spi.VerificationContext;
import dev.drkit.spi.Verifier;
import dev.drkit.spi.VerifierProvider;
import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import java.util.function.Function;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import javax.xml.parsers.DocumentBuilderFactory;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.w3c.dom.Document;
import org.w3c.dom.Element;
import org.w3c.dom.NodeList;

class HtmlReportTest {
    private static final Instant NOW = Instant.parse("2026-11-30T12:00:00Z");

    @TempDir
    Path dir;

    /** A restore-level check that passes and reports a restore time. */
    static final class QuickRestore implements VerifierProvider {
        @Override
        public String name() {
            return "quick-restore";
        }

        @Override
        public VerifyLevel level() {
            return VerifyLevel.RESTORE;
        }

        @Override
        public boolean supports(String targetType) {
            return true;
        }

        @Override
        public Verifier create(Settings settings) {
            return new Verifier() {
                @Override
                public String name() {
                    return "quick-restore";
                }

                @Override
                public VerificationResult verify(VerificationContext context) {
                    return new VerificationResult(
                            "quick-restore",
                            VerificationResult.Status.PASSED,
                            List.of(),
                            Duration.ofSeconds(3),
                            Map.of("restoreSeconds", 2.5));
                }
            };
        }
    }

    private DrKit kitAt(Instant at) {
        return DrKit.builder()
                .repository(dir.resolve("repo").toString())
                .register(new QuickRestore())
                .clock(Clock.fixed(at, ZoneOffset.UTC))
                .build();
    }

    private BackupResult backupAt(Instant at, String content) throws Exception {
        Path tree = Files.createDirectories(dir.resolve("app"));
        Files.writeString(tree.resolve("app.yaml"), content);
        try (DrKit kit = kitAt(at)) {
            return kit.backup(new TargetSpec("config", "files", Settings.of(Map.of("path", tree.toString()))));
        }
    }

    /** Files backups whose data, as a PostgreSQL provider would say of its WAL, was archived ten minutes ago. */
    static final class ArchivingFiles implements BackupTargetProvider {
        private final FilesBackupTargetProvider files = new FilesBackupTargetProvider();

        @Override
        public String type() {
            return files.type();
        }

        @Override
        public int priority() {
            return 1;
        }

        @Override
        public OptionSchema schema() {
            return files.schema();
        }

        @Override
        public BackupTarget create(Settings settings) {
            return files.create(settings);
        }

        @Override
        public Optional<Instant> recoveryPoint(BackupManifest newest, Function<String, FileArchive> archive) {
            return Optional.of(NOW.minus(Duration.ofMinutes(10)));
        }
    }

    @Test
    void theRpoRowOfATargetArchivedPastItsNewestBackupMeasuresTheArchive() throws Exception {
        Path tree = Files.createDirectories(dir.resolve("app"));
        Files.writeString(tree.resolve("app.yaml"), "v1");
        Function<Instant, DrKit> kit = at -> DrKit.builder()
                .repository(dir.resolve("repo").toString())
                .register(new ArchivingFiles())
                .clock(Clock.fixed(at, ZoneOffset.UTC))
                .build();
        try (DrKit k = kit.apply(NOW.minus(Duration.ofHours(3)))) {
            k.backup(new TargetSpec("config", "files", Settings.of(Map.of("path", tree.toString()))));
        }
        String html;
        try (DrKit k = kit.apply(NOW)) {
            html = HtmlReport.builder(k)
                    .objectives(Map.of("config", new Objectives(Duration.ofHours(1), null)))
                    .clock(Clock.fixed(NOW, ZoneOffset.UTC))
                    .build()
                    .render();
        }
        assertThat(html)
                .contains("RPO (WAL archived since the newest backup, up to 2026-11-30 11:50Z)</td><td>10.0 min</td>"
                        + "<td>60.0 min</td><td class=\"ok\">met")
                .doesNotContain("newest backup's age");
    }

    @Test
    void oneTimelinePointPerBackupInTheWindowColouredByItsVerification() throws Exception {
        BackupResult tooOld = backupAt(NOW.minus(Duration.ofDays(35)), "v0");
        List<BackupResult> inWindow = new ArrayList<>();
        for (int daysAgo : new int[] {20, 10, 5, 2, 1}) {
            // incompressible content, more the older the backup
            byte[] noise = new byte[daysAgo * 300];
            new Random(daysAgo).nextBytes(noise);
            inWindow.add(backupAt(
                    NOW.minus(Duration.ofDays(daysAgo)), Base64.getEncoder().encodeToString(noise)));
        }
        try (DrKit kit = kitAt(NOW.minus(Duration.ofDays(9)))) {
            kit.verify("config", inWindow.get(1).id(), VerifyLevel.CHECKSUM);
        }
        try (DrKit kit = kitAt(NOW.minus(Duration.ofDays(4)))) {
            kit.verify("config", inWindow.get(2).id(), VerifyLevel.RESTORE);
        }
        // the backup of 2 days ago is damaged: its verification fails
        Path folder = dir.resolve("repo/backups/config/" + inWindow.get(3).id());
        Path artifact;
        try (Stream<Path> files = Files.list(folder)) {
            artifact = files.filter(p -> p.getFileName().toString().startsWith("files.tar")
                            && !p.toString().endsWith(".sha256"))
                    .findFirst()
                    .orElseThrow();
        }
        byte[] b = Files.readAllBytes(artifact);
        b[b.length / 2] ^= 1;
        Files.delete(artifact);
        Files.write(artifact, b);
        try (DrKit kit = kitAt(NOW.minus(Duration.ofDays(1)).plusSeconds(60))) {
            assertThat(kit.verify("config", inWindow.get(3).id(), VerifyLevel.CHECKSUM)
                            .passed())
                    .isFalse();
            kit.recordTest(RecoveryTest.FAILOVER, true, Duration.ofMinutes(2), "<script>alert(1)</script> & co");
        }

        String html;
        try (DrKit kit = kitAt(NOW)) {
            html = HtmlReport.builder(kit)
                    .objectives(Map.of("config", new Objectives(Duration.ofHours(36), Duration.ofHours(1))))
                    .testing(TestSchedule.plan())
                    .clock(Clock.fixed(NOW, ZoneOffset.UTC))
                    .incidents(List.of(new HtmlReport.OpenIncident(
                            "config", "verification failed <b>twice</b>", NOW.minusSeconds(3600), "critical")))
                    .build()
                    .render();
        }

        Element svg = svgs(html).get(0);
        NodeList circles = svg.getElementsByTagName("circle");
        assertThat(circles.getLength()).isEqualTo(5);
        List<String> classes = new ArrayList<>();
        for (int i = 0; i < circles.getLength(); i++) {
            classes.add(((Element) circles.item(i)).getAttribute("class"));
        }
        assertThat(classes)
                .containsExactly(
                        "backup unverified",
                        "backup verified",
                        "backup verified",
                        "backup failed",
                        "backup unverified");
        assertThat(html).doesNotContain(tooOld.id());
        // the larger backups sit higher: y falls as the stored size grows
        double y20 = Double.parseDouble(((Element) circles.item(0)).getAttribute("cy"));
        double y1 = Double.parseDouble(((Element) circles.item(4)).getAttribute("cy"));
        assertThat(y20).isLessThan(y1);
        NodeList restoreTests = svg.getElementsByTagName("path");
        assertThat(restoreTests.getLength()).isEqualTo(1);
        assertThat(((Element) restoreTests.item(0)).getAttribute("class")).isEqualTo("restore-test passed");
        assertThat(restoreTests.item(0).getTextContent()).contains("passed in 2.5 s");

        assertThat(html)
                .contains("&lt;script&gt;alert(1)&lt;/script&gt; &amp; co")
                .doesNotContain("<script>")
                .contains("verification failed &lt;b&gt;twice&lt;/b&gt;")
                .contains("RPO (newest backup&#39;s age)".replace("&#39;", "'"))
                .contains("36.0 h")
                .contains("failover test")
                .contains("5 backup(s) in the window");
        assertThat(html).containsPattern("integrity checks pass</td><td class=\"bad\">failed");
    }

    @Test
    void writeReplacesTheFileWholeAndTheWindowIsBounded() throws Exception {
        backupAt(NOW.minus(Duration.ofHours(2)), "v1");
        Path out = dir.resolve("report.html");
        Files.writeString(out, "old");
        try (DrKit kit = kitAt(NOW)) {
            HtmlReport.builder(kit)
                    .clock(Clock.fixed(NOW, ZoneOffset.UTC))
                    .days(7)
                    .build()
                    .write(out);
        }
        assertThat(Files.readString(out)).startsWith("<!DOCTYPE html>").contains("last 7 days");
        try (Stream<Path> left = Files.list(dir)) {
            assertThat(left.map(p -> p.getFileName().toString())).noneMatch(n -> n.startsWith(".drkit-report"));
        }
        try (DrKit kit = kitAt(NOW)) {
            assertThatThrownBy(() -> HtmlReport.builder(kit).days(0)).isInstanceOf(IllegalArgumentException.class);
        }
    }

    /** Every SVG of the page, parsed as XML (which also proves each is well formed). */
    static List<Element> svgs(String html) throws Exception {
        List<Element> out = new ArrayList<>();
        Matcher m = Pattern.compile("<svg .*?</svg>", Pattern.DOTALL).matcher(html);
        while (m.find()) {
            DocumentBuilderFactory f = DocumentBuilderFactory.newInstance();
            f.setFeature("http://apache.org/xml/features/disallow-doctype-decl", true);
            Document d = f.newDocumentBuilder()
                    .parse(new ByteArrayInputStream(m.group().getBytes(StandardCharsets.UTF_8)));
            out.add(d.getDocumentElement());
        }
        assertThat(out).isNotEmpty();
        return out;
    }
}
