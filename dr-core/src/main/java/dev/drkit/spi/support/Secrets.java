package dev.drkit.spi.support;

import dev.drkit.ConfigException;
import dev.drkit.Settings;
import dev.drkit.spi.OptionSpec;
import dev.drkit.spi.OptionSpec.Type;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/** Where targets find a server's password, the same way for every target. */
public final class Secrets {
    private Secrets() {}

    /** The options {@link #password} reads, for a provider's schema. */
    public static List<OptionSpec> passwordOptions(String defaultEnv) {
        return List.of(
                OptionSpec.builder("password", Type.STRING)
                        .secret()
                        .description("the password itself, from the host's own configuration")
                        .build(),
                OptionSpec.builder("password-file", Type.PATH)
                        .description("a file whose first line is the password")
                        .build(),
                OptionSpec.builder("password-env", Type.STRING)
                        .defaultValue(defaultEnv)
                        .description("the environment variable that holds the password")
                        .build());
    }

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
            // refused when open to other users, as every other secret file is
            PrivateFiles.requirePrivate(f, "password file");
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
