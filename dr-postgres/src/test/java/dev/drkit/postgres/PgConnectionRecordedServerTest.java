package dev.drkit.postgres;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.drkit.BackupManifest;
import dev.drkit.CorruptDataException;
import dev.drkit.Settings;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * A restore without setting 'url' connects, with its password, to the server the manifest records.
 * The manifest is the word of whoever can write the repository: connection parameters in the
 * recorded URL (TLS off, a socket factory that trusts any certificate, server options) went with
 * that password to the server; only what drkit records is taken.
 */
class PgConnectionRecordedServerTest {
    private static BackupManifest recording(Object server) {
        return new BackupManifest(
                1,
                "20260101T000000Z-abcdef",
                "app",
                "postgres-logical",
                "logical",
                null,
                List.of(),
                Instant.EPOCH,
                Instant.EPOCH,
                "test",
                "host",
                List.of(),
                Map.of("server", server, "user", "app_owner"));
    }

    private static final Settings RESTORE =
            Settings.builder().set("to-database", "copy").build();

    @Test
    void whatDrkitRecordsIsTheRestoresServer() {
        for (String url : List.of(
                "jdbc:postgresql://db.example.com:5432/shop",
                "jdbc:postgresql://10.0.0.7:6543/my db",
                "jdbc:postgresql://[::1]:5432/postgres")) {
            Settings s = PgConnection.withRecordedServer(RESTORE, recording(url));
            assertThat(s.get("url")).contains(url);
            assertThat(s.get("user")).contains("app_owner");
        }
        PgConnection c = PgConnection.from(PgConnection.withRecordedServer(
                RESTORE,
                recording(PgConnection.from(Settings.builder()
                                .set("url", "jdbc:postgresql://db.example.com:5432/shop?sslmode=require")
                                .build())
                        .recordedUrl())));
        assertThat(c.toString()).isEqualTo("postgresql://app_owner@db.example.com:5432/shop");
    }

    @Test
    void aRecordedServerWithConnectionParametersIsRefused() {
        for (Object forged : List.of(
                "jdbc:postgresql://db.example.com:5432/shop?sslmode=disable",
                "jdbc:postgresql://db.example.com:5432/shop?sslfactory=org.postgresql.ssl.NonValidatingFactory",
                "jdbc:postgresql://db.example.com:5432/shop?options=-c%20session_replication_role%3Dreplica",
                "jdbc:postgresql://evil@db.example.com:5432/shop",
                "jdbc:postgresql://db.example.com/shop#x",
                "jdbc:postgresql://db1:5432,db2:5432/shop",
                List.of("jdbc:postgresql://db.example.com:5432/shop"))) {
            assertThatThrownBy(() -> PgConnection.withRecordedServer(RESTORE, recording(forged)))
                    .as("%s", forged)
                    .isInstanceOf(CorruptDataException.class)
                    .hasMessageContaining("setting 'url'")
                    .hasMessageNotContaining("NonValidatingFactory");
        }
    }

    @Test
    void aGivenUrlIsTakenWhateverTheManifestRecords() {
        Settings given = RESTORE.toBuilder()
                .set("url", "jdbc:postgresql://mine:5432/postgres?sslmode=verify-full")
                .build();
        assertThat(PgConnection.withRecordedServer(given, recording("jdbc:postgresql://x:1/y?sslmode=disable")))
                .isEqualTo(given);
    }
}
