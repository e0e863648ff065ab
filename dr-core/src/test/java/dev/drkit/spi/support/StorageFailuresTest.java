package dev.drkit.spi.support;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.drkit.StorageException;
import dev.drkit.internal.repo.Repository;
import dev.drkit.internal.storage.ClassifiedStorage;
import dev.drkit.spi.ObjectInfo;
import dev.drkit.spi.ObjectUpload;
import dev.drkit.spi.StorageBackend;
import dev.drkit.spi.StorageIOException;
import dev.drkit.spi.StorageIOException.Reason;
import dev.drkit.storage.FileStorageBackend;
import java.io.IOException;
import java.io.InputStream;
import java.net.ConnectException;
import java.net.SocketException;
import java.nio.file.AccessDeniedException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class StorageFailuresTest {
    @TempDir
    Path dir;

    @Test
    void httpStatusesMapToReasons() {
        assertThat(Reason.ofHttpStatus(403)).isEqualTo(Reason.ACCESS_DENIED);
        assertThat(Reason.ofHttpStatus(401)).isEqualTo(Reason.ACCESS_DENIED);
        assertThat(Reason.ofHttpStatus(404)).isEqualTo(Reason.NOT_FOUND);
        assertThat(Reason.ofHttpStatus(400)).isEqualTo(Reason.REJECTED);
        assertThat(Reason.ofHttpStatus(409)).isEqualTo(Reason.REJECTED);
        assertThat(Reason.ofHttpStatus(501)).isEqualTo(Reason.REJECTED);
        assertThat(Reason.ofHttpStatus(429)).isEqualTo(Reason.UNAVAILABLE);
        assertThat(Reason.ofHttpStatus(408)).isEqualTo(Reason.UNAVAILABLE);
        assertThat(Reason.ofHttpStatus(500)).isEqualTo(Reason.UNAVAILABLE);
        assertThat(Reason.ofHttpStatus(503)).isEqualTo(Reason.UNAVAILABLE);
        assertThat(Reason.ofHttpStatus(0)).isEqualTo(Reason.OTHER);
        assertThat(Reason.UNAVAILABLE.retryable()).isTrue();
        assertThat(Reason.ACCESS_DENIED.retryable()).isFalse();
        assertThat(new StorageIOException("x", null, Reason.NO_SPACE).retryable())
                .isFalse();
        assertThat(new StorageIOException("x", null, Reason.OTHER, true).retryable())
                .isTrue();
    }

    @Test
    void plainFailuresAreClassifiedByTypeAndMessage() {
        assertThat(StorageFailures.classify(new AccessDeniedException("/repo/x")))
                .satisfies(s -> assertThat(s.reason()).isEqualTo(Reason.ACCESS_DENIED))
                .satisfies(s -> assertThat(s.retryable()).isFalse())
                .hasMessage("/repo/x: permission denied");
        assertThat(StorageFailures.classify(new FileSystemException("/repo/x", null, "Read-only file system"))
                        .reason())
                .isEqualTo(Reason.ACCESS_DENIED);
        StorageIOException full = StorageFailures.classify(new IOException("No space left on device"));
        assertThat(full.reason()).isEqualTo(Reason.NO_SPACE);
        assertThat(full.retryable()).isFalse();
        StorageIOException reset =
                StorageFailures.classify(new IOException("upload failed", new SocketException("Connection reset")));
        assertThat(reset.reason()).isEqualTo(Reason.UNAVAILABLE);
        assertThat(reset.retryable()).isTrue();
        assertThat(StorageFailures.classify(new ConnectException("Connection refused"))
                        .retryable())
                .isTrue();
        StorageIOException unknown = StorageFailures.classify(new IOException("something odd"));
        assertThat(unknown.reason()).isEqualTo(Reason.OTHER);
        assertThat(unknown.retryable()).isTrue();
        StorageIOException flagged = new StorageIOException("refused", null, Reason.ACCESS_DENIED);
        assertThat(StorageFailures.classify(flagged)).isSameAs(flagged);
        assertThat(StorageFailures.find(new IOException("wrapped", flagged))).isSameAs(flagged);
    }

    @Test
    void theRepositoryTakesRetryabilityFromTheStorage() {
        Repository repo = Repository.attach(new FailingStorage(), Clock.systemUTC());
        StorageException denied = repo.storageError(
                "reading x",
                new StorageIOException(
                        "reading x in failing failed: Access Denied (Status Code: 403)", null, Reason.ACCESS_DENIED));
        assertThat(denied.retryable()).isFalse();
        assertThat(denied).hasMessageContaining("Access Denied").hasMessageContaining("permissions");
        StorageException outage = repo.storageError(
                "reading x",
                new StorageIOException(
                        "reading x in failing failed: Service Unavailable (Status Code: 503)",
                        null,
                        Reason.UNAVAILABLE));
        assertThat(outage.retryable()).isTrue();
        assertThat(outage).hasMessageContaining("retry");
        // without a flag the type and message decide, as before
        assertThat(repo.storageError("writing x", new AccessDeniedException("/repo/x"))
                        .retryable())
                .isFalse();
        assertThat(repo.storageError("writing x", new IOException("No space left on device")))
                .hasMessageContaining("free space")
                .satisfies(e -> assertThat(e.retryable()).isFalse());
        assertThat(repo.storageError("writing x", new IOException("Connection reset"))
                        .retryable())
                .isTrue();
    }

    @Test
    void everyFailureOfAWrappedStorageCarriesAFlagButTheContractsAnswers() throws IOException {
        Path file = Files.writeString(dir.resolve("in-the-way"), "x");
        StorageBackend storage = ClassifiedStorage.of(new FileStorageBackend(file));
        assertThatThrownBy(() -> storage.create("a/b")).isInstanceOf(StorageIOException.class);
        assertThatThrownBy(() -> storage.stat("a/b")).isInstanceOf(StorageIOException.class);
        StorageBackend good = ClassifiedStorage.of(new FileStorageBackend(dir.resolve("repo")));
        assertThatThrownBy(() -> good.open("missing", 0)).isExactlyInstanceOf(NoSuchFileException.class);
        try (var up = good.create("k")) {
            up.stream().write(1);
            up.commit();
        }
        try (var up = good.create("k")) {
            assertThatThrownBy(up::commit).isExactlyInstanceOf(FileAlreadyExistsException.class);
        }
        assertThat(ClassifiedStorage.of(good)).isSameAs(good);
    }

    @Test
    void aLockThatCannotBeTakenIsRetryableAsTheStorageSays() {
        assertThatThrownBy(() -> RepositoryLock.acquire(
                        new FailingStorage(),
                        "db",
                        "backup",
                        Duration.ofMinutes(1),
                        Duration.ZERO,
                        Clock.systemUTC(),
                        s -> {}))
                .isInstanceOfSatisfying(
                        StorageException.class, e -> assertThat(e.retryable()).isTrue());
        FailingStorage denied = new FailingStorage();
        denied.failure = new StorageIOException(
                "listing locks/db/ in failing failed: Access Denied", null, Reason.ACCESS_DENIED);
        assertThatThrownBy(() -> RepositoryLock.acquire(
                        denied, "db", "backup", Duration.ofMinutes(1), Duration.ZERO, Clock.systemUTC(), s -> {}))
                .isInstanceOfSatisfying(
                        StorageException.class, e -> assertThat(e.retryable()).isFalse())
                .hasMessageContaining("Access Denied");
    }

    /** A storage whose every call fails, plainly unless told otherwise. */
    static final class FailingStorage implements StorageBackend {
        IOException failure = new IOException("broken");

        @Override
        public String describe() {
            return "failing";
        }

        @Override
        public ObjectUpload create(String key) throws IOException {
            throw failure;
        }

        @Override
        public boolean createIfAbsent(String key, byte[] content) throws IOException {
            throw failure;
        }

        @Override
        public InputStream open(String key, long offset) throws IOException {
            throw failure;
        }

        @Override
        public Optional<ObjectInfo> stat(String key) throws IOException {
            throw failure;
        }

        @Override
        public List<ObjectInfo> list(String prefix) throws IOException {
            throw failure;
        }

        @Override
        public void delete(String key) throws IOException {
            throw failure;
        }
    }
}
