package dev.drkit.postgres;

import dev.drkit.DrException;
import dev.drkit.DrException.ErrorCode;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

/** Pieces of I/O run side by side, a thread each: the tar streams of a base backup and of its restore. */
final class ParallelIo {
    /** A piece of I/O work for {@link #runAll}. */
    @FunctionalInterface
    interface IoTask {
        void run() throws IOException;
    }

    private ParallelIo() {}

    /**
     * Runs the tasks on a thread each and waits for all; the first failure is rethrown as it was,
     * once the other tasks have been interrupted and have ended.
     */
    static void runAll(String threadName, List<IoTask> tasks, String doing) throws IOException {
        ExecutorService pool = Executors.newFixedThreadPool(Math.max(1, tasks.size()), r -> {
            Thread t = new Thread(r, threadName);
            t.setDaemon(true);
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
            throw new IOException(c);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new DrException(ErrorCode.INTERRUPTED, "interrupted while " + doing);
        } finally {
            // after a failure the others are interrupted (file channels give up at once) and
            // awaited, so that nothing writes into a directory the caller is about to remove
            pool.shutdownNow();
            awaitTermination(pool);
        }
    }

    private static void awaitTermination(ExecutorService pool) {
        boolean interrupted = false;
        long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(1);
        while (!pool.isTerminated() && System.nanoTime() < deadline) {
            try {
                pool.awaitTermination(1, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                interrupted = true;
            }
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
    }
}
