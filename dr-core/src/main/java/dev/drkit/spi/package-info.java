/**
 * The service provider interfaces: backup targets, storage backends, retention policies,
 * verifiers, encryption and manifest signing. Implementations are found with
 * {@link java.util.ServiceLoader} or registered on {@link dev.drkit.DrKitConfig}. Public and kept
 * compatible within a major version.
 */
package dev.drkit.spi;
