package dev.drkit.internal.ops;

import static org.assertj.core.api.Assertions.assertThat;

import dev.drkit.BackupManifest;
import dev.drkit.CheckOptions;
import dev.drkit.DrKit;
import dev.drkit.ForwardingStorage;
import dev.drkit.PruneResult;
import dev.drkit.TargetSpec;
import dev.drkit.internal.repo.Repository;
import dev.drkit.retention.GfsRetentionPolicy;
import dev.drkit.spi.StorageBackend;
import dev.drkit.storage.FileStorageBackend;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** An operation reads each manifest of the catalog once, however many steps use the list. */
class CatalogReadsTest {
    @TempDir
    Path dir;

    private CountingStorage storage;

    @BeforeEach
    void repository() throws IOException {
        Files.writeString(Files.createDirectories(dir.resolve("data")).resolve("app.conf"), "x=1\n");
        storage = new CountingStorage(new FileStorageBackend(dir.resolve("repo")));
    }

    private DrKit kit() {
        return DrKit.builder().storage(storage).build();
    }

    private TargetSpec files(String name) {
        return TargetSpec.files(name, dir.resolve("data").toString());
    }

    @Test
    void aPruneReadsEveryManifestOnceWhetherItPlansOrDeletes() {
        try (DrKit kit = kit()) {
            for (int i = 0; i < 3; i++) {
                kit.backup(files("config"));
                kit.backup(files("other"));
            }
            GfsRetentionPolicy keepTwo =
                    GfsRetentionPolicy.builder().keepLast(2).build();

            storage.manifestReads.clear();
            PruneResult plan = kit.prune(null, keepTwo, true);
            assertThat(plan.deleted()).containsOnlyKeys("config", "other");
            assertThat(storage.manifestReads)
                    .hasSize(6)
                    .allSatisfy((key, reads) -> assertThat(reads).as(key).isEqualTo(1));

            storage.manifestReads.clear();
            PruneResult one = kit.prune("config", keepTwo, false);
            assertThat(one.deleted().get("config")).hasSize(1);
            assertThat(storage.manifestReads)
                    .hasSize(6)
                    .allSatisfy((key, reads) -> assertThat(reads).as(key).isEqualTo(1));

            storage.manifestReads.clear();
            PruneResult all =
                    kit.prune(null, GfsRetentionPolicy.builder().keepLast(1).build(), false);
            assertThat(all.deleted().get("config")).hasSize(1);
            assertThat(all.deleted().get("other")).hasSize(2);
            assertThat(storage.manifestReads)
                    .hasSize(5)
                    .allSatisfy((key, reads) -> assertThat(reads).as(key).isEqualTo(1));
        }
    }

    @Test
    void aCheckReadsEveryManifestOnce() {
        try (DrKit kit = kit()) {
            kit.backup(files("config"));
            kit.backup(files("config"));
            storage.manifestReads.clear();

            assertThat(kit.check(CheckOptions.catalogOnly()).clean()).isTrue();

            assertThat(storage.manifestReads)
                    .hasSize(2)
                    .allSatisfy((key, reads) -> assertThat(reads).as(key).isEqualTo(1));
        }
    }

    @Test
    void aCatalogReadAgainReadsOnlyManifestsItDoesNotKnowAndDropsDeletedOnes() {
        try (DrKit kit = kit()) {
            kit.backup(files("config"));
            String second = kit.backup(files("config")).id();
            Repository repository = Repository.attach(storage, Clock.systemUTC());
            List<BackupManifest> known = repository.catalog("config").backups();
            String third = kit.backup(files("config")).id();
            kit.prune("config", GfsRetentionPolicy.builder().keepLast(2).build(), false);
            storage.manifestReads.clear();

            Repository.Catalog now = repository.catalog("config", known);

            assertThat(now.backups()).extracting(BackupManifest::id).containsExactly(second, third);
            assertThat(now.backups()).doesNotContain(known.get(0)).contains(known.get(1));
            assertThat(storage.manifestReads).containsOnlyKeys("backups/config/" + third + "/manifest.json");
        }
    }

    /** Counts the reads of manifests. */
    static final class CountingStorage extends ForwardingStorage {
        final Map<String, Integer> manifestReads = new ConcurrentHashMap<>();

        CountingStorage(StorageBackend disk) {
            super(disk);
        }

        @Override
        public InputStream open(String key, long offset) throws IOException {
            if (key.endsWith("/manifest.json")) {
                manifestReads.merge(key, 1, Integer::sum);
            }
            return delegate.open(key, offset);
        }

        @Override
        public int cleanIncompleteUploads(Duration olderThan) throws IOException {
            return delegate.cleanIncompleteUploads(olderThan);
        }
    }
}
