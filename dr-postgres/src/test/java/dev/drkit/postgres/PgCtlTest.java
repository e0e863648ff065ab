package dev.drkit.postgres;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.drkit.CorruptDataException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class PgCtlTest {
    @TempDir
    Path data;

    /** A control file's start as PostgreSQL 18 writes it (values read from a real 18.2 cluster). */
    private void controlFile(int controlVersion, int state, int length) throws Exception {
        ByteBuffer b = ByteBuffer.allocate(8192).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(7_578_870_563_283_475_936L)
                .putInt(controlVersion)
                .putInt(202506291)
                .putInt(state);
        Files.createDirectories(data.resolve("global"));
        Files.write(data.resolve("global/pg_control"), Arrays.copyOf(b.array(), length));
    }

    @Test
    void theClusterStateComesFromTheControlFileWithoutPgControldata() throws Exception {
        controlFile(1800, 6, 8192);
        assertThat(PgCtl.clusterState(data)).isEqualTo(PgCtl.DB_IN_PRODUCTION);
        controlFile(1300, 5, 8192); // 15's control file version, in archive recovery
        assertThat(PgCtl.clusterState(data)).isEqualTo(5);
    }

    @Test
    void aFileThatIsNoControlFileIsRefusedAsCorrupt() throws Exception {
        controlFile(0x01000000, 6, 8192); // big-endian 1, or any file that is not a control file
        assertThatThrownBy(() -> PgCtl.clusterState(data))
                .isInstanceOf(CorruptDataException.class)
                .hasMessageContaining("pg_control")
                .hasMessageContaining("control file version");
        controlFile(1800, 6, 12);
        assertThatThrownBy(() -> PgCtl.clusterState(data))
                .isInstanceOf(CorruptDataException.class)
                .hasMessageContaining("too short");
    }
}
