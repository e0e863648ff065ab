package dev.drkit.testkit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.DriverManager;
import java.sql.SQLException;
import org.junit.jupiter.api.Test;

class PostgresServerIT {

    @Test
    void startsARealClusterWithPasswordAuthAndCleansUp() throws Exception {
        Path dir;
        try (PostgresServer pg = PostgresServer.start()) {
            pg.createDatabase("app");
            pg.execute("app", "CREATE TABLE t (id int); INSERT INTO t VALUES (1), (2)");
            try (var c = pg.connect("app"); var rs = c.createStatement().executeQuery("SELECT count(*) FROM t")) {
                rs.next();
                assertThat(rs.getInt(1)).isEqualTo(2);
            }
            assertThat(pg.databases()).contains("app", "postgres");
            assertThatThrownBy(() -> DriverManager.getConnection(pg.jdbcUrl("app"), "postgres", "wrong"))
                    .isInstanceOf(SQLException.class).hasMessageContaining("password authentication failed");
            dir = pg.binDir();
        }
        assertThat(Files.isDirectory(dir)).isTrue();
    }
}
