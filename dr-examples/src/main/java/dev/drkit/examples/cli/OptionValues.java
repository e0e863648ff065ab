package dev.drkit.examples.cli;

import dev.drkit.Settings;

/** Copies the command-line options that were given into target settings. */
final class OptionValues {
    private OptionValues() {}

    /** Sets {@code key} when the option was given; an option left out leaves the setting (or the setup file's) alone. */
    static Settings.Builder set(Settings.Builder b, String key, String value) {
        if (value != null) {
            b.set(key, value);
        }
        return b;
    }
}
