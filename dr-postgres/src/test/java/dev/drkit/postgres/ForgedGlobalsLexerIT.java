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
 * Forged {@code globals.sql} scripts that psql reads otherwise than the guard, so that a
 * {@code COPY ... TO PROGRAM} the guard took for a comment or a string ran on the server (as its
 * own user) while the roles were restored: a {@code --} comment that psql and the server end at a
 * carriage return, and a NUL byte, after which psql drops the rest of its line (and with it the
 * quote that closed a string).
 */
class ForgedGlobalsLexerIT {
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
        refusedAndNeverRun("CREATE ROLE forged_cr;\n--\rCOPY (SELECT 1) TO PROGRAM 'touch " + pwned + "';\n", pwned);
    }

    @Test
    void aCommandThatANulByteTakesOutOfAStringIsRefusedAndNeverRuns() throws Exception {
        Path pwned = Path.of("/tmp", "drkit-nul-" + Long.toHexString(System.nanoTime()));
        // the guard reads two comments; psql drops the rest of the first line at the NUL, so its
        // string runs on into the second, ends at 'x, and the COPY is a statement of its own
        refusedAndNeverRun(
                "COMMENT ON ROLE postgres IS '\0';\n"
                        + "COMMENT ON ROLE postgres IS 'x'';COPY (SELECT 1) TO PROGRAM $q$touch " + pwned
                        + "$q$;--';\n",
                pwned);
    }

    @Test
    void aVariableWhoseValueTheScriptChoseIsRefusedAndNeverRuns() throws Exception {
        Path pwned = Path.of("/tmp", "drkit-var-" + Long.toHexString(System.nanoTime()));
        // psql puts a variable's value into the script and reads it as script: the last error
        // message, which quotes the value the statement before gave the server
        refusedAndNeverRun(
                "CREATE ROLE forged_var;\n"
                        + "ALTER ROLE forged_var SET work_mem = 'x\"; COPY (SELECT 1) TO PROGRAM ''touch " + pwned
                        + "''; --';\n"
                        + "ALTER ROLE forged_var SET search_path = :LAST_ERROR_MESSAGE;\n",
                pwned);
    }

    private void refusedAndNeverRun(String script, Path pwned) throws Exception {
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
