package dev.drkit.postgres;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.drkit.ConfigException;
import dev.drkit.Settings;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class PgToolsTest {
    @TempDir
    Path dir;

    private Path fakePgDump(String version) throws Exception {
        Path bin = Files.createDirectories(dir.resolve("bin" + version));
        Path tool = bin.resolve("pg_dump");
        Files.writeString(tool, "#!/bin/sh\necho 'pg_dump (PostgreSQL) " + version + "'\n");
        Files.setPosixFilePermissions(tool, PosixFilePermissions.fromString("rwxr-xr-x"));
        return bin;
    }

    @Test
    void anOlderPgDumpIsRefusedNamingTheVersionNeeded() throws Exception {
        PgTools tools = PgTools.find(fakePgDump("12.4").toString());
        assertThat(tools.majorVersion("pg_dump")).isEqualTo(12);
        assertThatThrownBy(() -> tools.requireAtLeast("pg_dump", 15)).isInstanceOf(ConfigException.class)
                .hasMessageContaining("pg_dump 12").hasMessageContaining("use pg_dump 15 or newer");
        PgTools.find(fakePgDump("16.1").toString()).requireAtLeast("pg_dump", 15);
    }

    @Test
    void aBinDirWithoutPgDumpIsAClearError() {
        assertThatThrownBy(() -> PgTools.find(dir.toString())).isInstanceOf(ConfigException.class)
                .hasMessageContaining("holds no pg_dump");
    }

    @Test
    void connectionSettingsNeverShowThePasswordAndPassTlsThrough() throws Exception {
        Path pw = Files.writeString(dir.resolve("pw"), "s3cr3t:with\\colon\n");
        PgConnection c = PgConnection.from(Settings.builder()
                .set("url", "jdbc:postgresql://db.example:6543/intel?sslmode=verify-full&sslrootcert=/etc/ca.pem")
                .set("user", "intel_user").set("password-file", pw.toString()).build());
        assertThat(c.toString()).isEqualTo("postgresql://intel_user@db.example:6543/intel").doesNotContain("s3cr3t");
        Path pgpass = dir.resolve("pgpass");
        var env = c.toolEnvironment(pgpass);
        assertThat(env).containsEntry("PGSSLMODE", "verify-full").containsEntry("PGSSLROOTCERT", "/etc/ca.pem")
                .containsEntry("PGPASSFILE", pgpass.toString()).containsEntry("PGPORT", "6543")
                .doesNotContainValue("s3cr3t:with\\colon");
        assertThat(Files.readString(pgpass)).isEqualTo("db.example:6543:*:intel_user:s3cr3t\\:with\\\\colon\n");
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(pgpass))).isEqualTo("rw-------");
        assertThat(c.redact("FATAL: s3cr3t:with\\colon")).doesNotContain("s3cr3t");
    }

    @Test
    void aPasswordInTheUrlIsHandledLikeAnyOtherAndRedacted() throws Exception {
        PgConnection c = PgConnection.from(Settings.builder()
                .set("url", "jdbc:postgresql://db:5432/intel?user=u&password=in-url-secret&sslmode=require").build());
        assertThat(c.user()).isEqualTo("u");
        assertThat(c.redact("error near in-url-secret")).doesNotContain("in-url-secret");
        var env = c.toolEnvironment(dir.resolve("pgpass2"));
        assertThat(env).containsEntry("PGSSLMODE", "require").containsKey("PGPASSFILE");
        assertThat(Files.readString(dir.resolve("pgpass2"))).contains(":u:in-url-secret");
    }

    @Test
    void aUrlThatIsNotPostgresIsRefused() {
        assertThatThrownBy(() -> PgConnection.from(Settings.builder().set("url", "jdbc:mysql://x/y?password=p").build()))
                .isInstanceOf(ConfigException.class).hasMessageContaining("jdbc:postgresql://")
                .hasMessageNotContaining("password=p");
    }
}
