package dev.drkit.postgres;

import static org.assertj.core.api.Assertions.assertThatCode;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.drkit.UnsafeArchiveException;
import java.nio.charset.StandardCharsets;
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
                ALTER ROLE app WITH NOSUPERUSER LOGIN PASSWORD 'SCRAM-SHA-256$4096:c2FsdA==$a\\b:c\\d';
                COMMENT ON ROLE app IS 'it''s the app \\! not a command';
                COMMENT ON ROLE "we\\ird" IS E'tab\\t and quote \\' and \\\\';
                /* a comment with \\! inside /* nested */ still comment */
                DO $body$ BEGIN RAISE NOTICE '\\!'; END $body$;
                \\unrestrict AbC123
                """)).doesNotThrowAnyException();
    }

    @Test
    void aShellEscapeAnywhereOutsideQuotesIsRefused() {
        assertThatThrownBy(() -> check("CREATE ROLE app;\n\\! touch /tmp/pwned\n"))
                .isInstanceOf(UnsafeArchiveException.class).hasMessageContaining("line 2");
        assertThatThrownBy(() -> check("CREATE ROLE app; \\! id\n")).isInstanceOf(UnsafeArchiveException.class);
        assertThatThrownBy(() -> check("SELECT 'a' \\g /tmp/out\n")).isInstanceOf(UnsafeArchiveException.class);
        // an escaped backslash closes the E'' string; the command after it is outside
        assertThatThrownBy(() -> check("COMMENT ON ROLE a IS E'x\\\\'; \\! id\n"))
                .isInstanceOf(UnsafeArchiveException.class);
        assertThatThrownBy(() -> check("\\restrict ok\n\\copy t to program 'id'\n"))
                .isInstanceOf(UnsafeArchiveException.class).hasMessageContaining("line 2");
        assertThatThrownBy(() -> check("SELECT 1; \\restrict abc\n")).isInstanceOf(UnsafeArchiveException.class);
    }
}
