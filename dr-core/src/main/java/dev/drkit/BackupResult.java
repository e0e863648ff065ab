package dev.drkit;

/**
 * A completed backup.
 *
 * @param manifest its manifest, as stored
 */
public record BackupResult(BackupManifest manifest) {
    public String id() {
        return manifest.id();
    }
}
