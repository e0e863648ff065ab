package dev.drkit.spi.support;

import java.nio.charset.Charset;
import java.nio.charset.StandardCharsets;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;

/**
 * File names as the JVM sees them. On Linux a file name is bytes; the JVM turns them into text
 * with its file-name charset, which comes from the locale it was started under. Under a C or
 * POSIX locale (a systemd unit or a cron job without {@code LANG}) that charset is ASCII: a name
 * such as {@code été.txt} then reads as {@code ??t??.txt} and cannot be turned back into the
 * file's bytes. A name whose bytes are not valid UTF-8 reads the same way under any locale.
 * A backup that stored such a text would restore another name, so backups leave these files out
 * by name, and restores refuse names the JVM cannot write.
 */
public final class FileNames {
    private static final char REPLACEMENT = '\uFFFD';

    private FileNames() {}

    /** The charset the JVM reads and writes file names with. */
    public static Charset charset() {
        String name = System.getProperty("sun.jnu.encoding");
        try {
            return name == null ? Charset.defaultCharset() : Charset.forName(name);
        } catch (RuntimeException e) {
            return Charset.defaultCharset();
        }
    }

    /**
     * Whether {@code p} (a path a directory listing gave, or a link's target as
     * {@code Files.readSymbolicLink} gave it) cannot be written back as text: its bytes did not
     * decode, so its text names another file, or none.
     */
    public static boolean notText(Path p) {
        if (p == null || p.toString().indexOf(REPLACEMENT) < 0) {
            return false;
        }
        try {
            // such a path keeps the file's own bytes; the same text turned back into a path has
            // the bytes the charset gives it, which differ where the text is a replacement
            return !p.equals(Path.of(p.toString()));
        } catch (InvalidPathException e) {
            return true;
        }
    }

    /** Whether {@code name} can be a file name under the JVM's file-name charset. */
    public static boolean canWrite(String name) {
        for (int i = 0; i < name.length(); i++) {
            if (name.charAt(i) >= 0x80) {
                return charset().newEncoder().canEncode(name);
            }
        }
        return true;
    }

    /** What to do about a name {@link #notText} or {@link #canWrite} refused. */
    public static String advice() {
        Charset cs = charset();
        if (!cs.equals(StandardCharsets.UTF_8)) {
            return "this JVM reads file names as " + cs.name() + " (a C or POSIX locale); start it under a UTF-8 "
                    + "locale, for example with LANG=C.UTF-8 in its environment";
        }
        return "its name is not valid UTF-8; rename it to back it up";
    }
}
