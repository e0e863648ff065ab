package dev.drkit.spi.support;

import dev.drkit.ConfigException;

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
}
