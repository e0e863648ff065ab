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
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.List;
import java.util.concurrent.TimeUnit;
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
        // a script cut off by the kill in the middle of its second statement
        Path bin = tools("printf 'CREATE TABLE restored (id int);\\nCREATE TAB'\nexec sleep 300\n");
        try (PostgresServer pg = PostgresServer.start();
                Connection c = pg.connect("postgres")) {
            assertInterrupted(restoreInterruptedAfter(1000, bin, c));
        }
    }

    /**
     * The interrupt kills pg_restore, but a statement already running on the server (an index
     * build, here a sleep) went on: on main the restore waited for it, past the grace period of a
     * command stopped by a signal. The host's connection stays usable: no cancel outlives the
     * restore to hit the host's next statement.
     */
    @Test
    void anInterruptCancelsTheStatementTheServerRuns() throws Exception {
        Path bin = tools("printf 'SELECT pg_sleep(300);\\n'\nexec sleep 300\n");
        try (PostgresServer pg = PostgresServer.start();
                Connection c = pg.connect("postgres")) {
            long t0 = System.nanoTime();
            assertInterrupted(restoreInterruptedAfter(1500, bin, c));
            long millis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
            assertThat(millis).as("stopped soon after the interrupt").isLessThan(15_000);
            try (Statement s = c.createStatement();
                    ResultSet rs = s.executeQuery("SELECT pg_sleep(0.3), count(*) FROM pg_stat_activity "
                            + "WHERE state = 'active' AND query LIKE 'SELECT pg_sleep(300)%'")) {
                assertThat(rs.next()).isTrue();
                assertThat(rs.getLong(2)).as("the sleep still runs").isZero();
            }
        }
    }

    /** A bin directory whose pg_restore runs {@code pgRestore} (a shell script's body). */
    private Path tools(String pgRestore) throws Exception {
        Path bin = Files.createDirectories(dir.resolve("bin"));
        script(bin.resolve("pg_dump"), "echo 'pg_dump (PostgreSQL) 16.4'\n");
        script(bin.resolve("pg_restore"), pgRestore);
        return bin;
    }

    /** What a restore through {@code c} threw, its thread interrupted after {@code millis}. */
    private static Throwable restoreInterruptedAfter(long millis, Path bin, Connection c) throws Exception {
        Thread interrupter = InterruptLater.after(millis);
        Throwable t = catchThrowable(() -> JdbcRestore.run(
                PgTools.find(bin.toString()),
                List.of(),
                false,
                new ByteArrayInputStream(new byte[16]),
                c,
                "the archive"));
        interrupter.join();
        Thread.interrupted();
        return t;
    }

    private static void assertInterrupted(Throwable t) {
        assertThat(t).isInstanceOf(DrException.class);
        assertThat(((DrException) t).code()).as("%s", t).isEqualTo(ErrorCode.INTERRUPTED);
    }

    private static void script(Path file, String body) throws Exception {
        Files.writeString(file, "#!/bin/sh\n" + body);
        Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rwx------"));
    }
}
