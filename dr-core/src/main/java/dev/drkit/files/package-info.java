/**
 * The {@code files} target: a directory tree backed up as a tar stream and restored inside its
 * destination only, and its archive verifier. Hosts construct {@link dev.drkit.files.FilesBackupTarget}
 * directly or name the {@code files} type in a {@link dev.drkit.TargetSpec}.
 */
package dev.drkit.files;
