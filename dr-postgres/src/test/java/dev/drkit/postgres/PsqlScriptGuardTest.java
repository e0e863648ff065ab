package dev.drkit.postgres;

import static org.assertj.core.api.Assertions.assertThatCode;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.drkit.UnsafeArchiveException;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.Test;

class PsqlScriptGuardTest {
    private static void check(String script) {
        PsqlScriptGuard.check(script.getBytes(StandardCharsets.UTF_8), "globals.sql");
    }

    @Test
    void whatPgDumpallWritesPasses() {
        assertThatCode(() -> check("""
                \\restrict AbC123
                --
                -- PostgreSQL database cluster dump
                --
                SET default_transaction_read_only = off;
                SET standard_conforming_strings = on;
                CREATE ROLE app;
                ALTER ROLE app WITH NOSUPERUSER LOGIN PASSWORD 'SCRAM-SHA-256$4096:c2FsdA==$YWJj:ZGVm';
                COMMENT ON ROLE app IS 'it''s the app';
                CREATE TABLESPACE fast OWNER app LOCATION '/srv/fast';
                \\unrestrict AbC123
                """)).doesNotThrowAnyException();
    }

    @Test
    void aBackslashAnywhereButARestrictLineIsRefused() {
        List<String> forged = List.of(
                "CREATE ROLE app;\n\\! touch /tmp/pwned\n",
                "CREATE ROLE app; \\! id\n",
                "SELECT 'a' \\g /tmp/out\n",
                // what a lexer-following guard let through, each run to a shell by psql 15
                "SELECT E'a''\\'';\n\\! id > /tmp/p1\n';\n",
                "SELECT 1 AS xE'\\'\n\\! id > /tmp/p2\n';\n",
                "SELECT 1 AS a$$$\n\\! id > /tmp/p3\n$$;\n",
                "SET standard_conforming_strings = off;\nSELECT '\\';\n'\n\\! id > /tmp/p4\n';\n",
                "\\restrict ok\n\\copy t to program 'id'\n",
                "SELECT 1; \\restrict abc\n",
                "COMMENT ON ROLE a IS 'a backslash \\ in a string';\n");
        for (String script : forged) {
            assertThatThrownBy(() -> check(script))
                    .as(script)
                    .isInstanceOf(UnsafeArchiveException.class)
                    .hasMessageContaining("backslash at line");
        }
    }
}
