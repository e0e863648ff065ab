package dev.drkit.testkit;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A TCP proxy on loopback that sits between a client and a server and injects the faults
 * networks and object stores produce: connections reset in the middle of a request, or
 * {@code 503 Slow Down} answers. Used to prove that uploads complete through retries, or fail
 * cleanly. Thread-safe; faults can be switched while traffic flows.
 */
public final class FaultProxy implements AutoCloseable {
    /** What happens to new connections. */
    public enum Mode {
        /** Forward everything. */
        PASS,
        /** Forward, but reset each connection once the client has sent {@link #resetAfterBytes} bytes. */
        RESET_MID_REQUEST,
        /** Answer every request with 503 Slow Down and close. */
        SLOW_DOWN
    }

    private final ServerSocket server;
    private final InetSocketAddress upstream;
    private final Thread acceptor;
    private final AtomicInteger faults = new AtomicInteger();
    private volatile Mode mode = Mode.PASS;
    private volatile long resetAfterBytes = Long.MAX_VALUE;
    private final AtomicLong total = new AtomicLong();
    private volatile long outageAfterBytes = Long.MAX_VALUE;
    private volatile boolean closed;
    private final AtomicInteger errorsLeft = new AtomicInteger();
    private final AtomicInteger stallsLeft = new AtomicInteger();
    private final List<Socket> stalled = new CopyOnWriteArrayList<>();
    private final Set<Socket> forwarding = ConcurrentHashMap.newKeySet();

    private FaultProxy(InetSocketAddress upstream) throws IOException {
        this.upstream = upstream;
        this.server = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
        this.acceptor = new Thread(this::acceptLoop, "fault-proxy");
        this.acceptor.setDaemon(true);
        this.acceptor.start();
    }

    /** Starts a proxy in front of {@code target} (http://host:port). */
    public static FaultProxy inFrontOf(URI target) throws IOException {
        return new FaultProxy(new InetSocketAddress(target.getHost(), target.getPort()));
    }

    public URI endpoint() {
        return URI.create("http://127.0.0.1:" + server.getLocalPort());
    }

    /** Resets connections after this many bytes from the client. */
    public FaultProxy resetMidRequest(long afterBytes) {
        this.resetAfterBytes = afterBytes;
        this.mode = Mode.RESET_MID_REQUEST;
        return this;
    }

    public FaultProxy slowDown() {
        this.mode = Mode.SLOW_DOWN;
        return this;
    }

    public FaultProxy pass() {
        this.mode = Mode.PASS;
        this.outageAfterBytes = Long.MAX_VALUE;
        return this;
    }

    /** Answers the next {@code n} requests with 500 Internal Error (one per connection), then forwards again. */
    public FaultProxy internalErrors(int n) {
        errorsLeft.set(n);
        closeIdle();
        return this;
    }

    /**
     * Lets the next {@code n} connections hang: accepted, and then nothing (a stalled server),
     * until the client gives up or the proxy is closed.
     */
    public FaultProxy stalls(int n) {
        stallsLeft.set(n);
        closeIdle();
        return this;
    }

    /**
     * Closes the forwarded connections, as a server closes idle keep-alive connections, so that
     * the client's next requests open new ones and meet the faults just armed.
     */
    private void closeIdle() {
        for (Socket s : forwarding) {
            closeQuietly(s);
        }
    }

    /**
     * An outage that starts once clients have sent {@code bytes} in all: open connections are
     * reset and new ones answered with 503 until {@link #pass()}.
     */
    public FaultProxy outageAfter(long bytes) {
        this.outageAfterBytes = bytes;
        return this;
    }

    private boolean inOutage() {
        return total.get() > outageAfterBytes;
    }

    /** How many faults were injected so far. */
    public int faults() {
        return faults.get();
    }

    private void acceptLoop() {
        while (!closed) {
            try {
                Socket client = server.accept();
                Thread t = new Thread(() -> handle(client), "fault-proxy-conn");
                t.setDaemon(true);
                t.start();
            } catch (IOException e) {
                return;
            }
        }
    }

    private void handle(Socket client) {
        Mode m = inOutage() ? Mode.SLOW_DOWN : mode;
        try {
            if (stallsLeft.getAndUpdate(n -> Math.max(0, n - 1)) > 0) {
                faults.incrementAndGet();
                stalled.add(client); // never answered: nothing is read or written; closed with the proxy
                return;
            }
            if (errorsLeft.getAndUpdate(n -> Math.max(0, n - 1)) > 0) {
                answer(client, "500 Internal Server Error", "InternalError", "We encountered an internal error.");
                return;
            }
            if (m == Mode.SLOW_DOWN) {
                answer(client, "503 Slow Down", "SlowDown", "Please reduce your request rate.");
                return;
            }
            Socket server = new Socket(upstream.getAddress(), upstream.getPort());
            forwarding.add(client);
            long limit = m == Mode.RESET_MID_REQUEST ? resetAfterBytes : Long.MAX_VALUE;
            Thread back = new Thread(() -> pump(server, client, Long.MAX_VALUE, null), "fault-proxy-back");
            back.setDaemon(true);
            back.start();
            if (!pump(client, server, limit, this)) {
                faults.incrementAndGet();
                client.setSoLinger(true, 0); // RST, as a dropped connection looks
                client.close();
                server.close();
            }
            forwarding.remove(client);
        } catch (IOException e) {
            closeQuietly(client);
        }
    }

    /** Answers a request with an S3 error and closes the connection. */
    private void answer(Socket client, String status, String code, String message) throws IOException {
        faults.incrementAndGet();
        readRequestHead(client.getInputStream());
        byte[] body = ("<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>" + code + "</Code><Message>" + message
                        + "</Message></Error>")
                .getBytes(StandardCharsets.UTF_8);
        OutputStream out = client.getOutputStream();
        out.write(("HTTP/1.1 " + status + "\r\nContent-Type: application/xml\r\nContent-Length: " + body.length
                        + "\r\nConnection: close\r\n\r\n")
                .getBytes(StandardCharsets.US_ASCII));
        out.write(body);
        out.flush();
        client.close();
    }

    /** Copies until EOF (true), or false when {@code limit} bytes were copied or an outage began. */
    private static boolean pump(Socket from, Socket to, long limit, FaultProxy counting) {
        byte[] buf = new byte[64 * 1024];
        long total = 0;
        try {
            InputStream in = from.getInputStream();
            OutputStream out = to.getOutputStream();
            int n;
            while ((n = in.read(buf)) >= 0) {
                if (total + n > limit || (counting != null && counting.inOutage())) {
                    return false;
                }
                out.write(buf, 0, n);
                total += n;
                if (counting != null) {
                    counting.total.addAndGet(n);
                }
            }
            to.shutdownOutput();
        } catch (IOException e) {
            closeQuietly(from);
            closeQuietly(to);
        }
        return true;
    }

    private static void readRequestHead(InputStream in) throws IOException {
        ByteArrayOutputStream head = new ByteArrayOutputStream();
        int b;
        while ((b = in.read()) >= 0) {
            head.write(b);
            byte[] h = head.toByteArray();
            int l = h.length;
            if (l >= 4 && h[l - 4] == '\r' && h[l - 3] == '\n' && h[l - 2] == '\r' && h[l - 1] == '\n') {
                return;
            }
        }
    }

    private static void closeQuietly(Socket s) {
        try {
            s.close();
        } catch (IOException ignored) {
            // already gone
        }
    }

    @Override
    public void close() throws IOException {
        closed = true;
        server.close();
        for (Socket s : stalled) {
            closeQuietly(s);
        }
    }
}
