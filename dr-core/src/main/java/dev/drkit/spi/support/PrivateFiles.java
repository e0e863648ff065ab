package dev.drkit.spi.support;

import dev.drkit.ConfigException;
import java.io.IOException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.EnumSet;
import java.util.Set;

/**
 * The checks for files a person names in configuration: secret keys, passphrases and
 * credentials must exist and be the owner's alone (as ssh demands of its keys), other files
 * must at least exist. One place, so that every secret file is refused the same way.
 * Stateless and thread-safe.
 */
public final class PrivateFiles {
    private static final Set<PosixFilePermission> OWNER_ONLY = EnumSet.of(
            PosixFilePermission.OWNER_READ, PosixFilePermission.OWNER_WRITE, PosixFilePermission.OWNER_EXECUTE);

    private PrivateFiles() {}

    /**
     * Makes {@code dir} an owner-only directory (0700), creating it (and its parents) when
     * missing, for spools that hold plain-text data and outlive a crash. Another process
     * creating it at the same time is fine; an existing one is narrowed.
     *
     * @return {@code dir}
     */
    public static Path ownerOnlyDirectory(Path dir) throws IOException {
        if (!Files.isDirectory(dir)) {
            Files.createDirectories(dir.toAbsolutePath().getParent());
            try {
                Files.createDirectory(dir, PosixFilePermissions.asFileAttribute(OWNER_ONLY));
            } catch (FileAlreadyExistsException raced) {
                // another process made it: narrowed below like any existing one
            }
        }
        Files.setPosixFilePermissions(dir, OWNER_ONLY);
        return dir;
    }

    /**
     * Checks that {@code file} exists and that neither its group nor other users have any
     * permission on it. On file systems without POSIX permissions only existence is checked.
     *
     * @param what what the file holds, e.g. {@code "secret key file"}; it starts the messages
     * @throws ConfigException when the file is missing, unreadable or open to other users
     */
    public static void requirePrivate(Path file, String what) {
        Set<PosixFilePermission> perms;
        try {
            perms = Files.getPosixFilePermissions(file);
        } catch (UnsupportedOperationException e) {
            requireExisting(file, what);
            return;
        } catch (IOException e) {
            throw unreadable(file, what, e);
        }
        requireExisting(file, what);
        Set<PosixFilePermission> open = EnumSet.copyOf(perms);
        open.removeAll(OWNER_ONLY);
        if (!open.isEmpty()) {
            throw new ConfigException("the " + what + " " + file + " is open to other users ("
                    + PosixFilePermissions.toString(perms) + "); chmod 600 " + file
                    + " so that only its owner can read it");
        }
    }

    /**
     * Checks that {@code file} exists and is a regular file (following links).
     *
     * @param what what the file holds, e.g. {@code "public key file"}
     * @throws ConfigException when it does not exist or is not a file
     */
    public static void requireExisting(Path file, String what) {
        if (!Files.exists(file)) {
            throw missing(file, what);
        }
        if (!Files.isRegularFile(file)) {
            throw new ConfigException("the " + what + " " + file + " is not a file; give the path of the file itself");
        }
    }

    private static ConfigException unreadable(Path file, String what, IOException e) {
        if (e instanceof NoSuchFileException || !Files.exists(file, LinkOption.NOFOLLOW_LINKS)) {
            return missing(file, what);
        }
        return new ConfigException("cannot read the " + what + " " + file + " (" + reason(e)
                + "); check that it exists and that this user may read it");
    }

    private static ConfigException missing(Path file, String what) {
        return new ConfigException(
                "the " + what + " " + file + " does not exist; check the path that names it, " + "or create the file");
    }

    /** The operating system's reason without the exception's class name. */
    private static String reason(IOException e) {
        return e.getMessage() == null ? "input/output error" : e.getMessage();
    }
}
