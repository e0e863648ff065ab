/**
 * The S3 storage backend ({@code s3://} repositories) on the AWS SDK v2, with server-side
 * encryption, Object Lock and versioned buckets.
 */
package dev.drkit.s3;
