/**
 * The local-disk storage backend ({@code file:} URIs), with durable, atomic writes. S3 and MinIO
 * backends live in their own modules.
 */
package dev.drkit.storage;
