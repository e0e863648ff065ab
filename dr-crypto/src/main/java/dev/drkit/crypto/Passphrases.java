package dev.drkit.crypto;

import dev.drkit.ConfigException;
import dev.drkit.spi.support.PrivateFiles;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/** Reads passphrases from files or the environment, never from arguments. */
public final class Passphrases {
    private Passphrases() {}

    /**
     * The first line of a file (without its line ending).
     *
     * @throws ConfigException when the file is missing, empty, or open to other users
     */
    public static char[] fromFile(Path file) {
        PrivateFiles.requirePrivate(file, "passphrase file");
        try {
            String text = Files.readString(file, StandardCharsets.UTF_8);
            int nl = text.indexOf('\n');
            String line = nl < 0 ? text : text.substring(0, nl);
            if (line.endsWith("\r")) {
                line = line.substring(0, line.length() - 1);
            }
            if (line.isEmpty()) {
                throw new ConfigException("passphrase file " + file + " is empty");
            }
            return line.toCharArray();
        } catch (IOException e) {
            throw new ConfigException("cannot read passphrase file " + file + ": " + e.getMessage());
        }
    }

    /** The value of an environment variable, or null when unset. */
    public static char[] fromEnvironment(String variable) {
        String v = System.getenv(variable);
        return v == null || v.isEmpty() ? null : v.toCharArray();
    }
}
