package dev.drkit.postgres;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;

import dev.drkit.DrException;
import dev.drkit.DrException.ErrorCode;
import dev.drkit.testkit.PostgresServer;
import java.io.ByteArrayInputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.sql.Connection;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A restore through a JDBC connection stopped by an interrupt, against a real server. */
class JdbcRestoreInterruptIT {
    @TempDir
    Path dir;

    /**
     * The interrupt kills pg_restore, whose script then ends inside a statement: on main that was
     * reported as a truncated, corrupt archive, which the backup is not.
     */
    @Test
    void aRestoreStoppedByAnInterruptSaysSoAndNotThatTheArchiveIsCorrupt() throws Exception {
        Path bin = Files.createDirectories(dir.resolve("bin"));
        script(bin.resolve("pg_dump"), "echo 'pg_dump (PostgreSQL) 16.4'\n");
        // a script cut off by the kill in the middle of its second statement
        script(bin.resolve("pg_restore"), "printf 'CREATE TABLE restored (id int);\\nCREATE TAB'\nexec sleep 300\n");
        try (PostgresServer pg = PostgresServer.start();
                Connection c = pg.connect("postgres")) {
            Thread interrupter = InterruptLater.after(1000);
            Throwable t = catchThrowable(() -> JdbcRestore.run(
                    PgTools.find(bin.toString()),
                    List.of(),
                    false,
                    new ByteArrayInputStream(new byte[16]),
                    c,
                    "the archive"));
            interrupter.join();
            Thread.interrupted();
            assertThat(t).isInstanceOf(DrException.class);
            assertThat(((DrException) t).code()).as("%s", t).isEqualTo(ErrorCode.INTERRUPTED);
        }
    }

    private static void script(Path file, String body) throws Exception {
        Files.writeString(file, "#!/bin/sh\n" + body);
        Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rwx------"));
    }
}
