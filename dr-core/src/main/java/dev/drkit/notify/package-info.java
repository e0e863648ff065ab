/**
 * Ready-made {@link dev.drkit.DrListener}s: logging and an HTTP webhook.
 */
package dev.drkit.notify;
