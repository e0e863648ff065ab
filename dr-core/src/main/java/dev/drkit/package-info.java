/**
 * The drkit API for hosts: the {@link dev.drkit.DrKit} facade and its configuration
 * ({@link dev.drkit.DrKitConfig}, {@link dev.drkit.Settings}), the requests and results of each
 * operation, the {@link dev.drkit.DrException} family with its error codes, and the events a
 * {@link dev.drkit.DrListener} receives. Public and kept compatible within a major version.
 */
package dev.drkit;
