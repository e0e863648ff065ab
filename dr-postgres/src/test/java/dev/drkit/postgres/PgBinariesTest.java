package dev.drkit.postgres;

import static org.assertj.core.api.Assertions.assertThat;

import dev.drkit.testkit.Prerequisites;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

class PgBinariesTest {
    @Test
    void majorVersionsAndLookups() {
        assertThat(PgBinaries.major("15.13")).isEqualTo(15);
        assertThat(PgBinaries.major("17")).isEqualTo(17);
        assertThat(PgBinaries.major("devel")).isEqualTo(-1);
        assertThat(PgBinaries.onPath("sh"))
                .hasValueSatisfying(
                        d -> assertThat(Files.isExecutable(d.resolve("sh"))).isTrue());
        assertThat(PgBinaries.onPath("no-such-program-drkit")).isEmpty();
        assertThat(PgBinaries.debian("pg_ctl", "1")).isEmpty();
    }

    @Test
    void newestDebianInstallationIsTheHighestMajorThatHasTheTool() throws Exception {
        Path bin = Prerequisites.require(
                PgBinaries.newestDebian("pg_dump"),
                "no pg_dump under /usr/lib/postgresql/N/bin; install postgresql-client (.ci/run does)");
        Path debian = Path.of("/usr/lib/postgresql");
        assertThat(bin.getParent().getParent()).isEqualTo(debian);
        assertThat(bin.resolve("pg_dump")).isExecutable();
        try (Stream<Path> versions = Files.list(debian)) {
            assertThat(versions.filter(v -> Files.isExecutable(v.resolve("bin/pg_dump")))
                            .mapToInt(v -> PgBinaries.major(v.getFileName().toString()))
                            .max())
                    .hasValue(PgBinaries.major(bin.getParent().getFileName().toString()));
        }
    }
}
