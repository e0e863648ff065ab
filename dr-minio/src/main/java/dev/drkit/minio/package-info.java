/**
 * MinIO: the storage backend on the MinIO SDK and the {@code minio-bucket} target that backs up a
 * bucket's objects, versions, metadata and tags.
 */
package dev.drkit.minio;
