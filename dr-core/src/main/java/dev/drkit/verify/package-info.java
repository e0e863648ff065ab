/**
 * Verifiers that work for every target type: artifact checksums, decoding (decompression and
 * decryption) and the checksum files of the catalog.
 */
package dev.drkit.verify;
