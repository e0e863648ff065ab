/**
 * The repository: layout, catalog, manifests and their checksums, locks, artifact reading and writing, the check.
 *
 * <p>Internal to drkit: not an API. Nothing here is promised to stay, keep its name or behave the
 * same in the next release, and nothing outside dr-core may use it (an architecture test enforces
 * this). Hosts use {@code dev.drkit} and the documented packages; providers use
 * {@code dev.drkit.spi} and {@code dev.drkit.spi.support}.
 */
package dev.drkit.internal.repo;
