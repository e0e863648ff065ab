/**
 * The operations behind the {@code DrKit} facade, one class each (backup, restore, verify, check,
 * prune, copy, status), and the state they share.
 *
 * <p>Internal to drkit: not an API. Nothing here is promised to stay, keep its name or behave the
 * same in the next release, and nothing outside dr-core may use it (an architecture test enforces
 * this). Hosts use {@code dev.drkit} and the documented packages; providers use
 * {@code dev.drkit.spi} and {@code dev.drkit.spi.support}.
 */
package dev.drkit.internal.ops;
