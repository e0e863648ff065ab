package dev.drkit.postgres;

import dev.drkit.DrException;
import dev.drkit.DrException.ErrorCode;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** Pieces of I/O run side by side, a thread each: the tar streams of a base backup and of its restore. */
final class ParallelIo {
    private static final Logger LOG = LoggerFactory.getLogger(ParallelIo.class);
    private static final Duration TASK_END_WAIT = Duration.ofSeconds(30);

    /** A piece of I/O work for {@link #runAll}. */
    @FunctionalInterface
    interface IoTask {
        void run() throws IOException;
    }

    private ParallelIo() {}

    /**
     * Runs the tasks on a thread each and waits for all; the first failure is rethrown as it was,
     * once the other tasks have ended (they are interrupted), so that the caller may remove what
     * they were writing without racing them.
     */
    static void runAll(String threadName, List<IoTask> tasks, String doing) throws IOException {
        List<Thread> threads = Collections.synchronizedList(new ArrayList<>());
        ExecutorService pool = Executors.newFixedThreadPool(Math.max(1, tasks.size()), r -> {
            Thread t = new Thread(r, threadName);
            t.setDaemon(true);
            threads.add(t);
            return t;
        });
        try {
            List<Future<?>> running = new ArrayList<>();
            for (IoTask task : tasks) {
                running.add(pool.submit(() -> {
                    task.run();
                    return null;
                }));
            }
            for (Future<?> f : running) {
                f.get();
            }
        } catch (ExecutionException e) {
            Throwable c = e.getCause();
            if (c instanceof IOException io) {
                throw io;
            }
            if (c instanceof RuntimeException re) {
                throw re;
            }
            if (c instanceof Error error) {
                throw error; // as it is: wrapped, its name became the message people read
            }
            throw new IOException(c);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new DrException(ErrorCode.INTERRUPTED, "interrupted while " + doing);
        } finally {
            pool.shutdownNow();
            awaitEnd(pool, threads, doing);
        }
    }

    /**
     * Waits for the interrupted tasks to end, as long as a run without failure would have waited:
     * a file channel gives up at once when interrupted, a storage read when its stream fails. The
     * threads themselves are joined too: a pool is terminated while its last thread is still on its
     * way out, and the caller is promised that none is left.
     */
    private static void awaitEnd(ExecutorService pool, List<Thread> threads, String doing) {
        boolean interrupted = false;
        try {
            while (true) {
                try {
                    if (pool.awaitTermination(TASK_END_WAIT.toMillis(), TimeUnit.MILLISECONDS)) {
                        break;
                    }
                    LOG.warn("{} failed; still waiting for its other threads to end", doing);
                } catch (InterruptedException e) {
                    interrupted = true;
                }
            }
            synchronized (threads) {
                for (Thread t : threads) {
                    while (t.isAlive()) {
                        try {
                            t.join();
                        } catch (InterruptedException e) {
                            interrupted = true;
                        }
                    }
                }
            }
        } finally {
            if (interrupted) {
                Thread.currentThread().interrupt();
            }
        }
    }
}
