package dev.drkit.spi.support;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * Another user at work while a tree is written or removed: swaps a directory for a link to
 * {@code outside} and back, each for a millisecond, again and again, until closed. Each swap moves the directory aside
 * under a name of its own, so one the code under test replaced meanwhile does not stop it.
 */
final class LinkSwapper implements AutoCloseable {
    private final AtomicBoolean stop = new AtomicBoolean();
    private final Thread thread;

    LinkSwapper(Path directory, Path outside) {
        thread = new Thread(() -> {
            for (int n = 0; !stop.get(); n++) {
                Path aside = directory.resolveSibling(directory.getFileName() + ".real" + n);
                try {
                    Files.move(directory, aside);
                    Files.createSymbolicLink(directory, outside);
                    Thread.sleep(1); // long enough for the code under test to use the link
                    Files.delete(directory);
                    Files.move(aside, directory);
                    Thread.sleep(1);
                } catch (IOException e) {
                    // the code under test moved or removed something meanwhile: try again
                } catch (InterruptedException e) {
                    return;
                }
            }
        });
        thread.start();
    }

    @Override
    public void close() throws InterruptedException {
        stop.set(true);
        thread.join();
    }
}
