package dev.drkit.postgres;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;

import dev.drkit.testkit.PostgresServer;
import java.io.InterruptedIOException;
import java.sql.Connection;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** {@link PgSql#singleInterruptibly} against a real server. */
class PgSqlCancelIT {
    /**
     * A thread already interrupted when the statement starts (a signal that came while the
     * connection opened): on main the cancel was sent before the driver counted the statement as
     * running, which the driver then ignores, and the statement ran to its end.
     */
    @Test
    void aThreadInterruptedBeforeTheStatementStartsDoesNotWaitForIt() throws Exception {
        try (PostgresServer pg = PostgresServer.start();
                Connection c = pg.connect("postgres")) {
            c.setAutoCommit(true);
            for (int i = 0; i < 5; i++) {
                Thread.currentThread().interrupt();
                long started = System.nanoTime();
                Throwable t =
                        catchThrowable(() -> PgSql.singleInterruptibly(c, "SELECT pg_sleep(60)::text", "sleeping"));
                long took = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - started);
                Thread.interrupted();
                // a statement run to its end takes 60 s; a cancel, even on a loaded machine, far less
                assertThat(took).as("try %d took (ms)", i).isLessThan(30_000);
                assertThat(t).as("try %d", i).isInstanceOf(InterruptedIOException.class);
            }
            // the connection is fit for the next statement
            assertThat(PgSql.single(c, "SELECT 1")).isEqualTo("1");
        }
    }
}
