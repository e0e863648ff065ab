package dev.drkit.postgres;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.drkit.Capability;
import dev.drkit.DrKit;
import dev.drkit.RestoreRequest;
import dev.drkit.Settings;
import dev.drkit.TargetSpec;
import dev.drkit.UnsafeArchiveException;
import dev.drkit.spi.BackupContext;
import dev.drkit.spi.BackupTarget;
import dev.drkit.spi.BackupTargetProvider;
import dev.drkit.spi.RestoreContext;
import dev.drkit.testkit.PostgresServer;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.EnumSet;
import java.util.Set;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A forged {@code globals.sql} whose {@code COPY ... TO PROGRAM} follows a {@code --} comment and
 * a carriage return: the guard read the comment to the end of the line, psql and the server end
 * it at the carriage return, so the server ran the program (as its own user) and the restore of
 * roles went on.
 */
class ForgedGlobalsCarriageReturnIT {
    static PostgresServer pg;

    @TempDir
    Path dir;

    @BeforeAll
    static void startServer() throws Exception {
        pg = PostgresServer.start();
    }

    @AfterAll
    static void stopServer() {
        if (pg != null) {
            pg.close();
        }
    }

    @Test
    void aCommandAfterACommentAndACarriageReturnIsRefusedAndNeverRuns() throws Exception {
        // the server runs the program as its own user: a place every user may write
        Path pwned = Path.of("/tmp", "drkit-cr-" + Long.toHexString(System.nanoTime()));
        String script = "CREATE ROLE forged_cr;\n--\rCOPY (SELECT 1) TO PROGRAM 'touch " + pwned + "';\n";
        Path repo = dir.resolve("repo");
        String id;
        try (DrKit forger = DrKit.builder()
                .repository(repo.toString())
                .register(forging(script))
                .build()) {
            id = forger.backup(new TargetSpec("intel", "postgres-logical", Settings.empty()))
                    .id();
        }
        Settings restore = Settings.builder()
                .set("url", pg.jdbcUrl("postgres"))
                .set("user", PostgresServer.SUPERUSER)
                .set("password-file", pg.passwordFile(dir).toString())
                .set("bin-dir", pg.binDir().toString())
                .set("to-database", "cr_" + Long.toHexString(System.nanoTime()))
                .set("globals", "true")
                .build();
        try (DrKit kit = DrKit.builder().repository(repo.toString()).build()) {
            assertThatThrownBy(() -> kit.restore(new RestoreRequest("intel", id, restore, false)))
                    .isInstanceOf(UnsafeArchiveException.class);
        } finally {
            boolean ran = Files.exists(pwned);
            Files.deleteIfExists(pwned);
            assertThat(ran).as("the forged program ran on the server").isFalse();
        }
    }

    private static BackupTargetProvider forging(String globals) {
        return new BackupTargetProvider() {
            @Override
            public String type() {
                return "postgres-logical";
            }

            @Override
            public BackupTarget create(Settings settings) {
                return new BackupTarget() {
                    @Override
                    public String type() {
                        return "postgres-logical";
                    }

                    @Override
                    public Set<Capability> capabilities() {
                        return EnumSet.of(Capability.FULL);
                    }

                    @Override
                    public void backup(BackupContext context) throws IOException {
                        try (var out = context.newArtifact(PostgresLogicalTarget.GLOBALS)) {
                            out.write(globals.getBytes(StandardCharsets.UTF_8));
                        }
                    }

                    @Override
                    public void restore(RestoreContext context) {
                        throw new UnsupportedOperationException();
                    }
                };
            }
        };
    }
}
