package dev.drkit.spi.support;

import dev.drkit.ConfigException;

/** Checks storage keys: relative, {@code /}-separated, no empty, {@code .} or {@code ..} segment. */
public final class ObjectKeys {
    private ObjectKeys() {}

    /** Returns the key when valid, else throws {@link ConfigException} naming it. */
    public static String check(String key) {
        if (key == null
                || key.isEmpty()
                || key.startsWith("/")
                || key.endsWith("/")
                || key.contains("\\")
                || key.contains("\0")) {
            throw new ConfigException("invalid storage key '" + key + "'");
        }
        for (String segment : key.split("/", -1)) {
            if (segment.isEmpty() || segment.equals(".") || segment.equals("..")) {
                throw new ConfigException("invalid storage key '" + key + "'");
            }
        }
        return key;
    }
}
