package dev.drkit.postgres;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.drkit.ConfigException;
import dev.drkit.Settings;
import dev.drkit.testkit.Prerequisites;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFileAttributeView;
import java.nio.file.attribute.UserPrincipalLookupService;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Run as root, a restore gave the restored cluster to the owner its backup records, and started
 * it as that user: from a repository anyone can write, any user of the host, not only the one
 * PostgreSQL runs as. The owner now comes from setting {@code cluster-owner}, else the directory
 * above the destination, else the backup's only when it is {@code postgres}.
 */
class ClusterOwnerTest {
    @TempDir
    Path dir;

    private final UserPrincipalLookupService names = FileSystems.getDefault().getUserPrincipalLookupService();
    private Path pgVersion;

    @BeforeEach
    void setUp() throws Exception {
        // only a restore run as root gives files away; CI runs as root, so there this never skips
        Prerequisites.require(
                PgProcesses.root(), "running as root: only a restore run as root gives files away (CI runs as root)");
        pgVersion = Files.writeString(
                Files.createDirectories(dir.resolve("staging")).resolve("PG_VERSION"), "15\n");
    }

    private void recordedOwner(String user) throws Exception {
        Files.setOwner(pgVersion, names.lookupPrincipalByName(user));
    }

    @Test
    void aRecordedOwnerOtherThanPostgresIsRefusedWithoutASetting() throws Exception {
        recordedOwner("daemon");
        Path dest = dir.resolve("restored"); // the directory above is root's
        assertThatThrownBy(() -> PhysicalRestore.clusterOwner(Settings.empty(), dest, pgVersion))
                .isInstanceOf(ConfigException.class)
                .hasMessageContaining("records user daemon")
                .hasMessageContaining("setting 'cluster-owner'");
    }

    @Test
    void theRecordedPostgresIsTakenAndASettingWins() throws Exception {
        recordedOwner("postgres");
        Path dest = dir.resolve("restored");
        assertThat(PhysicalRestore.clusterOwner(Settings.empty(), dest, pgVersion)
                        .user()
                        .getName())
                .isEqualTo("postgres");
        PhysicalRestore.Owner named = PhysicalRestore.clusterOwner(
                Settings.builder().set("cluster-owner", "daemon").build(), dest, pgVersion);
        assertThat(named.user().getName()).isEqualTo("daemon");
        assertThat(named.group().getName()).isEqualTo("daemon");
    }

    @Test
    void theOwnerOfTheDirectoryAboveTheDestinationWinsOverTheRecordedOne() throws Exception {
        recordedOwner("daemon");
        Path above = Files.createDirectories(dir.resolve("pgdata-parent"));
        Files.setOwner(above, names.lookupPrincipalByName("postgres"));
        assertThat(PhysicalRestore.clusterOwner(Settings.empty(), above.resolve("main"), pgVersion)
                        .user()
                        .getName())
                .isEqualTo("postgres");
    }

    @Test
    void rootAndUnknownUsersAreRefusedAsOwners() throws Exception {
        recordedOwner("postgres");
        Path dest = dir.resolve("restored");
        assertThatThrownBy(() -> PhysicalRestore.clusterOwner(
                        Settings.builder().set("cluster-owner", "root").build(), dest, pgVersion))
                .isInstanceOf(ConfigException.class)
                .hasMessageContaining("root");
        assertThatThrownBy(() -> PhysicalRestore.clusterOwner(
                        Settings.builder()
                                .set("cluster-owner", "no-such-user-here")
                                .build(),
                        dest,
                        pgVersion))
                .isInstanceOf(ConfigException.class)
                .hasMessageContaining("does not know");
    }

    @Test
    void theGroupOfARecordedPostgresOwnerIsNotTakenFromTheBackup() throws Exception {
        recordedOwner("postgres");
        Files.getFileAttributeView(pgVersion, PosixFileAttributeView.class)
                .setGroup(names.lookupPrincipalByGroupName("shadow"));
        PhysicalRestore.Owner o = PhysicalRestore.clusterOwner(Settings.empty(), dir.resolve("restored"), pgVersion);
        assertThat(o.user().getName()).isEqualTo("postgres");
        assertThat(o.group().getName()).isEqualTo("postgres");
    }
}
