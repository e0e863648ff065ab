/**
 * OpenPGP encryption, decryption and manifest signing ({@code PgpEncryption},
 * {@code PgpDecryption}, {@code PgpManifestSigner}, {@code PgpManifestVerifier}) and key generation,
 * compatible with gpg. Public.
 */
package dev.drkit.crypto;
