package dev.drkit.postgres;

import dev.drkit.CorruptDataException;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.function.Function;

/**
 * What the page map and page delta formats share: a magic, then records that each start with a
 * u16 name length (1 to 4096) and the name in UTF-8, ended by a u16 0. Reading is strict, since
 * a repository's contents may have been forged.
 */
final class PageStreams {
    private static final int MAX_NAME = 4096;

    private PageStreams() {}

    /** Writes the next record's name. */
    static void writeName(DataOutputStream out, String name) throws IOException {
        byte[] n = name.getBytes(StandardCharsets.UTF_8);
        if (n.length == 0 || n.length > MAX_NAME) {
            throw new IllegalArgumentException("a data file name of " + n.length + " bytes");
        }
        out.writeShort(n.length);
        out.write(n);
    }

    /** Ends the records and closes the stream. */
    static void end(DataOutputStream out) throws IOException {
        out.writeShort(0);
        out.flush();
        out.close();
    }

    /** Checks the stream's magic; {@code damaged} makes the error from a reason. */
    static void expectMagic(DataInputStream in, byte[] magic, Function<String, CorruptDataException> damaged)
            throws IOException {
        if (!Arrays.equals(in.readNBytes(magic.length), magic)) {
            throw damaged.apply("it does not start with the magic " + new String(magic, StandardCharsets.US_ASCII));
        }
    }

    /** The next record's name, or null after the last record. */
    static String nextName(DataInputStream in, Function<String, CorruptDataException> damaged) throws IOException {
        int length = in.readUnsignedShort();
        if (length == 0) {
            return null;
        }
        if (length > MAX_NAME) {
            throw damaged.apply("a name is " + length + " bytes long");
        }
        return new String(in.readNBytes(length), StandardCharsets.UTF_8);
    }
}
