package dev.drkit.testkit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Path;
import java.sql.DriverManager;
import java.sql.SQLException;
import org.junit.jupiter.api.Test;

class PostgresServerIT {

    @Test
    void startsARealClusterWithPasswordAuthAndCleansUp() throws Exception {
        Path work;
        Path data;
        int port;
        try (PostgresServer pg = PostgresServer.start()) {
            pg.createDatabase("app");
            pg.execute("app", "CREATE TABLE t (id int); INSERT INTO t VALUES (1), (2)");
            try (var c = pg.connect("app");
                    var rs = c.createStatement().executeQuery("SELECT count(*) FROM t")) {
                rs.next();
                assertThat(rs.getInt(1)).isEqualTo(2);
            }
            assertThat(pg.databases()).contains("app", "postgres");
            assertThatThrownBy(() -> DriverManager.getConnection(pg.jdbcUrl("app"), "postgres", "wrong"))
                    .isInstanceOf(SQLException.class)
                    .hasMessageContaining("password authentication failed");
            work = pg.log().getParent();
            data = pg.dataDir();
            port = pg.port();
            assertThat(data).isDirectory();
            assertThat(portIsFree(port))
                    .as("port %d while the server runs", port)
                    .isFalse();
        }
        assertThat(data).doesNotExist();
        assertThat(work).doesNotExist();
        assertThat(portIsFree(port)).as("port %d after close", port).isTrue();
    }

    private static boolean portIsFree(int port) {
        try (ServerSocket s = new ServerSocket(port, 1, InetAddress.getByName("127.0.0.1"))) {
            return true;
        } catch (IOException e) {
            return false;
        }
    }
}
