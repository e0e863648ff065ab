package dev.drkit.spi.support;

import dev.drkit.ConfigException;
import java.util.List;

/** Checks storage keys: relative, {@code /}-separated, no empty, {@code .} or {@code ..} segment. */
public final class ObjectKeys {
    private ObjectKeys() {}

    /** Returns the key when valid, else throws {@link ConfigException} naming it. */
    public static String check(String key) {
        if (!isValid(key)) {
            throw new ConfigException("invalid storage key '" + TarEntryReader.printable(key) + "'");
        }
        return key;
    }

    /**
     * Whether {@code key} is one drkit could have written: a storage may list others (an S3
     * bucket takes {@code a//b} or {@code a/../b}), which are no objects of the repository.
     */
    public static boolean isValid(String key) {
        if (key == null
                || key.isEmpty()
                || key.startsWith("/")
                || key.endsWith("/")
                || key.contains("\\")
                || key.contains("\0")) {
            return false;
        }
        for (String segment : key.split("/", -1)) {
            if (segment.isEmpty() || segment.equals(".") || segment.equals("..")) {
                return false;
            }
        }
        return true;
    }

    /**
     * The folders a repository uploads large objects into (artifacts, chunk packs, archived WAL),
     * the only places a repository at a bucket's root looks for its own unfinished uploads: the
     * rest of such a bucket may be another application's, whose uploads are not drkit's to abort.
     */
    private static final List<String> ROOT_UPLOAD_FOLDERS = List.of("backups/", "chunks/", "wal/");

    /**
     * Whether an unfinished multipart upload of {@code fullKey} (a bucket's key) can be that of
     * the repository at {@code prefix} ("" at the bucket's root): under the prefix, or at a root
     * in the folders a repository uploads into.
     */
    public static boolean isRepositoryUpload(String prefix, String fullKey) {
        if (!prefix.isEmpty()) {
            return fullKey.startsWith(prefix + "/");
        }
        return isValid(fullKey) && ROOT_UPLOAD_FOLDERS.stream().anyMatch(fullKey::startsWith);
    }
}
