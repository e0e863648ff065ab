package dev.drkit.examples.cli;

import dev.drkit.spi.support.ByteSizes;

/** Human-readable byte counts (binary units). */
final class Sizes {
    private Sizes() {}

    static String human(long bytes) {
        return ByteSizes.human(bytes);
    }
}
