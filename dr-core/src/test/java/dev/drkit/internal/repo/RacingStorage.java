package dev.drkit.internal.repo;

import dev.drkit.spi.StorageBackend;
import java.io.IOException;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Proxy;
import java.util.concurrent.atomic.AtomicBoolean;

/** A storage on which another process acts at a chosen moment: before the first read of a pack. */
final class RacingStorage {
    private RacingStorage() {}

    /** What the other process does, given the key of the pack about to be read. */
    @FunctionalInterface
    interface Action {
        void run(String packKey) throws IOException;
    }

    /** {@code disk}, with {@code action} run once, just before the first pack is opened. */
    static StorageBackend beforeFirstPackRead(StorageBackend disk, Action action) {
        AtomicBoolean done = new AtomicBoolean();
        return (StorageBackend) Proxy.newProxyInstance(
                StorageBackend.class.getClassLoader(), new Class<?>[] {StorageBackend.class}, (proxy, m, args) -> {
                    if (m.getName().equals("open")
                            && ((String) args[0]).endsWith(ChunkStore.PACK_SUFFIX)
                            && !done.getAndSet(true)) {
                        action.run((String) args[0]);
                    }
                    try {
                        return m.invoke(disk, args);
                    } catch (InvocationTargetException e) {
                        throw e.getCause();
                    }
                });
    }
}
