package dev.drkit.internal.repo;

import dev.drkit.spi.support.RepositoryLock;

/** Where things live in a repository (see DESIGN.md, "Repository format"). */
public final class RepositoryLayout {
    public static final String CONFIG = "drkit-repository.json";
    public static final String BACKUPS = "backups/";
    public static final String LOCKS = RepositoryLock.LOCKS;
    public static final String MANIFEST = "manifest.json";
    public static final String SHA256_SUFFIX = ".sha256";
    /** Written into a backup's folder before its manifest is deleted: what is left is incomplete. */
    public static final String DELETING = "deleting";

    private RepositoryLayout() {}

    public static String targetPrefix(String target) {
        return BACKUPS + target + "/";
    }

    public static String backupPrefix(String target, String backupId) {
        return targetPrefix(target) + backupId + "/";
    }

    public static String manifest(String target, String backupId) {
        return backupPrefix(target, backupId) + MANIFEST;
    }

    public static String object(String target, String backupId, String fileName) {
        return backupPrefix(target, backupId) + fileName;
    }
}
