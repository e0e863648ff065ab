package dev.drkit.redis;

import java.io.IOException;
import java.io.OutputStream;

/**
 * An artifact that is created only when its first byte arrives: a snapshot the server refuses
 * before sending anything leaves no artifact behind, so the backup can store the same artifact
 * another way. Not thread-safe.
 */
final class OpenOnWriteStream extends OutputStream {
    /** Creates the real stream. */
    interface Opener {
        OutputStream open() throws IOException;
    }

    private final Opener opener;
    private OutputStream out;

    OpenOnWriteStream(Opener opener) {
        this.opener = opener;
    }

    private OutputStream out() throws IOException {
        if (out == null) {
            out = opener.open();
        }
        return out;
    }

    @Override
    public void write(int b) throws IOException {
        out().write(b);
    }

    @Override
    public void write(byte[] b, int off, int len) throws IOException {
        out().write(b, off, len);
    }

    @Override
    public void flush() throws IOException {
        if (out != null) {
            out.flush();
        }
    }

    @Override
    public void close() throws IOException {
        if (out != null) {
            out.close();
        }
    }
}
