package dev.drkit.testkit;

import dev.drkit.spi.StorageBackend;
import dev.drkit.storage.FileStorageBackend;
import java.io.IOException;
import java.nio.file.Path;
import org.junit.jupiter.api.io.TempDir;

class FileStorageBackendContractTest extends StorageBackendContract {
    @TempDir
    Path dir;

    @Override
    protected StorageBackend newBackend() throws IOException {
        return new FileStorageBackend(dir);
    }
}
