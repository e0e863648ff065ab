package dev.drkit.spi.support;

import java.util.Locale;

/** Byte counts as people read them, in binary units: {@code 950 B}, {@code 4.9 KiB}, {@code 48 MiB}. */
public final class ByteSizes {
    private ByteSizes() {}

    /** One decimal below 10 of a unit, none above. */
    public static String human(long bytes) {
        if (bytes < 1024) {
            return bytes + " B";
        }
        String[] units = {"KiB", "MiB", "GiB", "TiB", "PiB"};
        double v = bytes;
        int u = -1;
        while (v >= 1024 && u < units.length - 1) {
            v /= 1024;
            u++;
        }
        return String.format(Locale.ROOT, v < 10 ? "%.1f %s" : "%.0f %s", v, units[u]);
    }
}
