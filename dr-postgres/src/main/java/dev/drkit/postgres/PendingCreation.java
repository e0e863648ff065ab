package dev.drkit.postgres;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFileAttributes;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;
import java.util.Set;

/**
 * A local note that a restore is about to create a database, written before {@code CREATE
 * DATABASE} and removed once the database carries its {@link RestoreInProgress} comment. The
 * server finishes a {@code CREATE DATABASE} whose client was killed, which left an unmarked
 * database that the next restore had to refuse; with this note, the next restore on this host
 * recognises a database that a dead restore created and never filled. Notes live in a directory
 * of this user's only ({@code java.io.tmpdir/drkit-pending-USER}, 0700); where that cannot be
 * had, there are none and an unmarked database is refused as before. Not thread-safe per database.
 */
final class PendingCreation {
    private PendingCreation() {}

    private static Optional<Path> dir() {
        try {
            Path dir =
                    Path.of(System.getProperty("java.io.tmpdir"), "drkit-pending-" + System.getProperty("user.name"));
            Set<PosixFilePermission> owner = PosixFilePermissions.fromString("rwx------");
            if (!Files.exists(dir, LinkOption.NOFOLLOW_LINKS)) {
                Files.createDirectory(dir, PosixFilePermissions.asFileAttribute(owner));
            }
            PosixFileAttributes a = Files.readAttributes(dir, PosixFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
            boolean mine = a.isDirectory()
                    && a.owner().getName().equals(System.getProperty("user.name"))
                    && a.permissions().equals(owner);
            return mine ? Optional.of(dir) : Optional.empty();
        } catch (IOException | UnsupportedOperationException | SecurityException e) {
            return Optional.empty();
        }
    }

    private static Optional<Path> file(String where) {
        try {
            byte[] id = MessageDigest.getInstance("SHA-256").digest(where.getBytes(StandardCharsets.UTF_8));
            return dir().map(d -> d.resolve(HexFormat.of().formatHex(id, 0, 16)));
        } catch (NoSuchAlgorithmException e) {
            return Optional.empty();
        }
    }

    /** Notes that this process creates the database {@code where} names (server and database). */
    static void write(String where, RestoreInProgress marker) {
        file(where).ifPresent(f -> {
            try {
                Path tmp = f.resolveSibling(
                        f.getFileName() + ".tmp" + ProcessHandle.current().pid());
                Files.write(tmp, List.of(where, marker.comment()), StandardCharsets.UTF_8);
                Files.move(tmp, f, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
            } catch (IOException e) {
                // without the note, a kill during the creation leaves a database the next restore refuses
            }
        });
    }

    /** The restore that noted it creates {@code where}, if a note is there. */
    static Optional<RestoreInProgress> read(String where) {
        Optional<Path> f = file(where);
        if (f.isEmpty() || !Files.isRegularFile(f.get(), LinkOption.NOFOLLOW_LINKS)) {
            return Optional.empty();
        }
        try {
            List<String> lines = Files.readAllLines(f.get(), StandardCharsets.UTF_8);
            return lines.size() == 2 && lines.get(0).equals(where)
                    ? RestoreInProgress.parse(lines.get(1))
                    : Optional.empty();
        } catch (IOException e) {
            return Optional.empty();
        }
    }

    /** Removes the note for {@code where}, if any. */
    static void clear(String where) {
        file(where).ifPresent(f -> {
            try {
                Files.deleteIfExists(f);
            } catch (IOException e) {
                // a stale note only matters for an empty unmarked database of a dead process
            }
        });
    }
}
