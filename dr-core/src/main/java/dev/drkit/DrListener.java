package dev.drkit;

/**
 * Receives progress reports and events. Called on the thread doing the work, so
 * implementations must be quick and must not throw (a throwing listener is logged and
 * otherwise ignored). Register with {@link DrKit.Builder#listener(DrListener)}.
 */
public interface DrListener {

    /** Progress of a long operation, reported at most a few times per second. */
    default void onProgress(Progress progress) {}

    /** Something happened. */
    default void onEvent(DrEvent event) {}
}
