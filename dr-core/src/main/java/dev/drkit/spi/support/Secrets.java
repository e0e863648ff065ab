package dev.drkit.spi.support;

import dev.drkit.ConfigException;
import dev.drkit.Settings;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/** Where targets find a server's password, the same way for every target. */
public final class Secrets {
    private Secrets() {}

    /**
     * The password from {@code password} (the host's own configuration), else the first line
     * of {@code password-file}, else the environment variable named by {@code password-env}
     * (default {@code defaultEnv}); null when none is set.
     */
    public static String password(Settings s, String defaultEnv) {
        if (s.has("password")) {
            return s.require("password");
        }
        if (s.has("password-file")) {
            Path f = Path.of(s.require("password-file"));
            try {
                String text = Files.readString(f, StandardCharsets.UTF_8);
                int nl = text.indexOf('\n');
                return (nl < 0 ? text : text.substring(0, nl)).strip();
            } catch (IOException e) {
                throw new ConfigException("cannot read password file " + f + ": " + e.getMessage());
            }
        }
        String env = System.getenv(s.get("password-env", defaultEnv));
        return env == null || env.isEmpty() ? null : env;
    }
}
