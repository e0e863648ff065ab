/**
 * Building blocks that implementation modules share: contained tar writing and extraction,
 * private scratch space and files, JSON, secrets handling, object keys, storage failure
 * classification, chunked pipes, lease locks in a repository's storage. Public so that provider
 * modules (drkit's own and third-party ones) and the scheduler can use them; less stable than
 * {@code dev.drkit} and {@code dev.drkit.spi}: hosts should not need them, and they may change in
 * a minor version.
 */
package dev.drkit.spi.support;
