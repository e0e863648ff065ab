package dev.drkit.postgres;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.drkit.CorruptDataException;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class SqlScriptTest {

    private static List<String> steps(String script) throws IOException {
        SqlScript s = new SqlScript(new ByteArrayInputStream(script.getBytes(StandardCharsets.UTF_8)), "test.sql");
        List<String> out = new ArrayList<>();
        byte[] st;
        while ((st = s.nextStatement()) != null) {
            out.add(new String(st, StandardCharsets.UTF_8));
            if (SqlScript.isCopyFromStdin(st)) {
                ByteArrayOutputStream rows = new ByteArrayOutputStream();
                s.copyRows((b, n) -> rows.write(b, 0, n));
                out.add("ROWS[" + rows.toString(StandardCharsets.UTF_8) + "]");
            }
        }
        return out;
    }

    @Test
    void semicolonsInsideQuotesCommentsAndDollarQuotesDoNotEndAStatement() throws IOException {
        String fn = "CREATE FUNCTION f() RETURNS text AS $body$ SELECT 'a;b'; $x$ ; $body$ LANGUAGE sql;";
        assertThat(steps("-- header; comment\n"
                        + "SET statement_timeout = 0;\n"
                        + "SELECT 'it''s; fine', \"odd;name\" /* a ; /* nested ; */ comment */ FROM t;\n"
                        + fn + "\n"
                        + "CREATE FUNCTION g(int) RETURNS int AS $$ SELECT $1; $$ LANGUAGE sql;\n"
                        + "SELECT 1 -- trailing; comment\n;\n"))
                .containsExactly(
                        "SET statement_timeout = 0;",
                        "SELECT 'it''s; fine', \"odd;name\" /* a ; /* nested ; */ comment */ FROM t;",
                        fn,
                        "CREATE FUNCTION g(int) RETURNS int AS $$ SELECT $1; $$ LANGUAGE sql;",
                        "SELECT 1 -- trailing; comment\n;");
    }

    @Test
    void copyRowsAreHandedOverVerbatimUpToTheEndMarker() throws IOException {
        assertThat(steps("COPY public.t (id, v) FROM stdin;\n1\ta;b\\tc\n2\t\\N\n\\.\n\nSELECT 2;\n"))
                .containsExactly("COPY public.t (id, v) FROM stdin;", "ROWS[1\ta;b\\tc\n2\t\\N\n]", "SELECT 2;");
    }

    @Test
    void pgDumpsRestrictLinesAreSkippedAndAnyOtherPsqlCommandIsRefused() throws IOException {
        assertThat(steps("\\restrict abc123\nSELECT 1;\n\\unrestrict abc123\n")).containsExactly("SELECT 1;");
        assertThatThrownBy(() -> steps("SELECT 1;\n\\! touch /tmp/owned\n"))
                .isInstanceOf(CorruptDataException.class)
                .hasMessageContaining("psql command")
                .hasMessageContaining("altered");
        assertThatThrownBy(() -> steps("\\restrict abc; \\! id\n")).isInstanceOf(CorruptDataException.class);
    }

    @Test
    void aTruncatedScriptIsCorruptNotShort() {
        assertThatThrownBy(() -> steps("CREATE TABLE t (id int"))
                .isInstanceOf(CorruptDataException.class)
                .hasMessageContaining("truncated");
        assertThatThrownBy(() -> steps("COPY t (id) FROM stdin;\n1\n2\n"))
                .isInstanceOf(CorruptDataException.class)
                .hasMessageContaining("inside COPY data");
        assertThatThrownBy(() -> steps("SELECT 'unterminated;\n")).isInstanceOf(CorruptDataException.class);
    }

    @Test
    void multibyteTextPassesThroughByteForByte() throws IOException {
        assertThat(steps("INSERT INTO t VALUES ('é😀;');\n")).containsExactly("INSERT INTO t VALUES ('é😀;');");
    }

    @Test
    void aLineCommentEndsAtACarriageReturnAsTheServerReadsIt() throws IOException {
        assertThat(steps("SELECT 1 --\r; SELECT 2;\n--\rSELECT 3;\n"))
                .containsExactly("SELECT 1 --\r;", "SELECT 2;", "SELECT 3;");
    }
}
