package dev.drkit.postgres;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import org.junit.jupiter.api.Test;

class PgBinariesTest {
    @Test
    void majorVersionsAndLookups() {
        assertThat(PgBinaries.major("15.13")).isEqualTo(15);
        assertThat(PgBinaries.major("17")).isEqualTo(17);
        assertThat(PgBinaries.major("devel")).isEqualTo(-1);
        assertThat(PgBinaries.onPath("sh")).hasValueSatisfying(d -> assertThat(Files.isExecutable(d.resolve("sh"))).isTrue());
        assertThat(PgBinaries.onPath("no-such-program-drkit")).isEmpty();
        assertThat(PgBinaries.debian("pg_ctl", "1")).isEmpty();
        PgBinaries.newestDebian("pg_dump").ifPresent(d -> assertThat(d.getParent().getParent().toString())
                .isEqualTo("/usr/lib/postgresql"));
    }
}
