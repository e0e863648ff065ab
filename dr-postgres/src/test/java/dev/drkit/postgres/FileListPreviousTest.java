package dev.drkit.postgres;

import static org.assertj.core.api.Assertions.assertThat;

import dev.drkit.BackupManifest;
import dev.drkit.BackupNotFoundException;
import dev.drkit.ChecksumMismatchException;
import dev.drkit.spi.BackupContext;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.lang.reflect.Proxy;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/** What an incremental backup takes from the backup it would build on, when that one is damaged. */
class FileListPreviousTest {
    private static final String PREVIOUS = "20261202T010000Z-aaaaaa";
    private static final String SYSTEM = "7000000000000000001";
    private static final byte[] LIST =
            ("base/5/16384\t8192\t1000\t00000000\t" + PREVIOUS + "\tdata-0.tar\n").getBytes(StandardCharsets.UTF_8);

    private final List<String> warnings = new ArrayList<>();
    private Map<String, Object> previousMetadata = Map.of("systemIdentifier", SYSTEM);

    @Test
    void anIntactFileListIsBuiltOn() throws IOException {
        assertThat(FileList.previousFiles(context(() -> new ByteArrayInputStream(LIST)), SYSTEM))
                .containsOnlyKeys("base/5/16384");
        assertThat(warnings).isEmpty();
    }

    /**
     * The previous backup's file list fails its checksum (a flipped byte in the repository), is
     * gone, or does not parse: the backup warns and is taken in full. Before, every incremental
     * failed on it until someone took a full backup by hand; damaged page maps were already
     * handled so.
     */
    @Test
    void aDamagedOrMissingFileListMakesTheNextBackupAFullOneWithAWarning() throws IOException {
        List<Opener> damaged = List.of(
                () -> new ByteArrayInputStream(LIST) {
                    @Override
                    public synchronized int read(byte[] b, int off, int len) {
                        int n = super.read(b, off, len);
                        if (n < 0) { // as the repository's check at the end of a stream
                            throw new ChecksumMismatchException("stored artifact files.tsv has another sha256");
                        }
                        return n;
                    }
                },
                () -> {
                    throw new BackupNotFoundException("artifact files.tsv is missing");
                },
                () -> new ByteArrayInputStream("base/5/16384\tno\tnumbers\n".getBytes(StandardCharsets.UTF_8)));
        for (Opener open : damaged) {
            warnings.clear();
            assertThat(FileList.previousFiles(context(open), SYSTEM)).isEmpty();
            assertThat(warnings)
                    .singleElement()
                    .asString()
                    .contains("file list of backup " + PREVIOUS)
                    .contains("taking a full backup");
        }
    }

    /**
     * The previous backup asked for a synthetic full (its chain is as long as setting 'max-chain'
     * allows) and none followed: the build failed, for example on a damaged backup of the chain,
     * or was stopped. Before, the next incremental built on it anyway, so the chain grew past
     * 'max-chain' every hour, and on a damaged backup every later one was as unrestorable.
     */
    @Test
    void aPreviousBackupNotFollowedByTheSyntheticFullItAskedForIsNotBuiltOn() throws IOException {
        previousMetadata = Map.of("systemIdentifier", SYSTEM, BackupManifest.SYNTHETIC_FULL_DUE, true);
        assertThat(FileList.previousFiles(context(() -> new ByteArrayInputStream(LIST)), SYSTEM))
                .isEmpty();
        assertThat(warnings)
                .singleElement()
                .asString()
                .contains("no synthetic full backup followed backup " + PREVIOUS)
                .contains("setting 'max-chain'")
                .contains("taking a full backup");
    }

    @FunctionalInterface
    private interface Opener {
        InputStream open() throws IOException;
    }

    /** A backup context whose previous backup holds only a file list, opened by {@code open}; it takes warnings. */
    private BackupContext context(Opener open) {
        var previous = IncrementalChainAttackTest.manifest(
                PREVIOUS, null, List.of(PostgresPhysicalTarget.FILE_LIST), previousMetadata);
        return (BackupContext) Proxy.newProxyInstance(
                getClass().getClassLoader(), new Class<?>[] {BackupContext.class}, (proxy, method, args) -> {
                    switch (method.getName()) {
                        case "previous":
                            return Optional.of(previous);
                        case "openArtifact":
                            return open.open();
                        case "warn":
                            warnings.add((String) args[0]);
                            return null;
                        default:
                            throw new UnsupportedOperationException(method.getName());
                    }
                });
    }
}
