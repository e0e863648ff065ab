package dev.drkit.postgres;

import static org.assertj.core.api.Assertions.assertThat;

import dev.drkit.BackupManifest;
import dev.drkit.spi.RestoreContext;
import java.io.ByteArrayInputStream;
import java.io.InputStream;
import java.io.InterruptedIOException;
import java.lang.reflect.Proxy;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;

/** The opens of a chain restore's threads take turns, and a thread waiting for its turn can be interrupted. */
class SharedOpensTest {

    @Test
    void aThreadWaitingBehindAnOpenThatHangsGivesUpWhenInterrupted() throws Exception {
        CountDownLatch inside = new CountDownLatch(1);
        AtomicBoolean release = new AtomicBoolean();
        BackupManifest head = new BackupManifest(
                2,
                "B",
                "pg",
                "postgres",
                "incremental",
                "A",
                List.of(),
                Instant.EPOCH,
                Instant.EPOCH,
                "test",
                "host",
                List.of(),
                Map.of());
        RestoreContext context = (RestoreContext) Proxy.newProxyInstance(
                getClass().getClassLoader(), new Class<?>[] {RestoreContext.class}, (proxy, method, args) -> {
                    switch (method.getName()) {
                        case "manifest":
                            return head;
                        case "openArtifact":
                            inside.countDown();
                            // a storage that stopped answering, as a socket read: deaf to interrupts
                            while (!release.get()) {
                                Thread.onSpinWait();
                            }
                            return new ByteArrayInputStream(new byte[0]);
                        default:
                            throw new UnsupportedOperationException(method.getName());
                    }
                });
        PhysicalRestore.SharedOpens opens = new PhysicalRestore.SharedOpens(context);
        Thread hung = new Thread(() -> {
            try (InputStream in = opens.open("A/data-0.tar")) {
                in.readAllBytes();
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        });
        hung.start();
        try {
            assertThat(inside.await(10, TimeUnit.SECONDS)).isTrue();
            CompletableFuture<Throwable> waiting = new CompletableFuture<>();
            Thread waiter = new Thread(() -> {
                try (InputStream in = opens.open("A/data-1.tar")) {
                    waiting.complete(null);
                } catch (Exception e) {
                    waiting.complete(e);
                }
            });
            waiter.start();
            while (waiter.getState() != Thread.State.WAITING && waiter.getState() != Thread.State.BLOCKED) {
                Thread.onSpinWait(); // waits for its turn
            }
            waiter.interrupt();
            assertThat(waiting.get(10, TimeUnit.SECONDS))
                    .as("the waiting open gives up while the other still hangs")
                    .isInstanceOf(InterruptedIOException.class)
                    .hasMessageContaining("A/data-1.tar");
            assertThat(hung.isAlive()).isTrue();
        } finally {
            release.set(true);
            hung.join(10_000);
        }
        assertThat(hung.isAlive()).isFalse();
    }
}
