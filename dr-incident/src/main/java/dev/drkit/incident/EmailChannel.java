package dev.drkit.incident;

import jakarta.mail.Address;
import jakarta.mail.Authenticator;
import jakarta.mail.Message;
import jakarta.mail.MessagingException;
import jakarta.mail.PasswordAuthentication;
import jakarta.mail.SendFailedException;
import jakarta.mail.Session;
import jakarta.mail.Transport;
import jakarta.mail.internet.AddressException;
import jakarta.mail.internet.InternetAddress;
import jakarta.mail.internet.MimeMessage;
import java.io.IOException;
import java.net.InetAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Date;
import java.util.List;
import java.util.Objects;
import java.util.Properties;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;
import javax.net.SocketFactory;

/**
 * Mails notices over SMTP (Jakarta Mail): the title as subject, the rendered notice as a plain
 * text body, to every recipient. STARTTLS (required when asked for), SMTPS, and login with a
 * user and password, which is never sent in clear: a login needs STARTTLS or SMTPS, but to a
 * relay on this host. The password is held only for
 * the login: it never appears in {@code toString()}, logs or events. Thread-safe; build with
 * {@link #builder(String, String)}.
 */
public final class EmailChannel implements IncidentChannel {
    /** The longest one mail may take by default, connection included. */
    private static final Duration DEADLINE = Duration.ofSeconds(60);

    private static final ScheduledExecutorService WATCHDOG = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "drkit-mail-deadline");
        t.setDaemon(true);
        return t;
    });

    private final String host;
    private final int port;
    private final InternetAddress from;
    private final List<InternetAddress> to;
    private final Properties properties;
    private final Authenticator login;
    private final boolean ssl;
    private final Duration deadlineAfter;

    private EmailChannel(Builder b) {
        this.host = b.host;
        this.port = b.port > 0 ? b.port : b.ssl ? 465 : b.starttls ? 587 : 25;
        this.from = b.from;
        this.to = List.copyOf(b.to);
        Properties p = new Properties();
        String proto = b.ssl ? "smtps" : "smtp";
        p.put("mail.transport.protocol", proto);
        p.put("mail." + proto + ".host", host);
        p.put("mail." + proto + ".port", Integer.toString(port));
        p.put("mail." + proto + ".connectiontimeout", "15000");
        p.put("mail." + proto + ".timeout", "30000");
        p.put("mail." + proto + ".writetimeout", "30000");
        // a recipient the server does not know must not keep the notice from the others
        p.put("mail." + proto + ".sendpartial", "true");
        // TLS without checking the certificate's name is TLS to whoever answers
        p.put("mail." + proto + ".ssl.checkserveridentity", "true");
        if (b.starttls) {
            p.put("mail.smtp.starttls.enable", "true");
            p.put("mail.smtp.starttls.required", "true");
        }
        if (b.user != null) {
            p.put("mail." + proto + ".auth", "true");
        }
        String user = b.user;
        String password = b.password;
        this.properties = p;
        this.ssl = b.ssl;
        this.deadlineAfter = b.deadline;
        this.login = user == null
                ? null
                : new Authenticator() {
                    @Override
                    protected PasswordAuthentication getPasswordAuthentication() {
                        return new PasswordAuthentication(user, password);
                    }
                };
    }

    /**
     * Makes the sockets of one send and closes them at its deadline: Jakarta Mail's timeouts are
     * per read, so a server that answers a byte at a time would hold the send for good.
     */
    private static final class Deadline extends SocketFactory {
        private final List<Socket> sockets = new CopyOnWriteArrayList<>();
        private volatile boolean expired;

        @Override
        public Socket createSocket() throws IOException {
            Socket s = new Socket();
            sockets.add(s);
            if (expired) {
                s.close();
            }
            return s;
        }

        @Override
        public Socket createSocket(String host, int port) throws IOException {
            throw new UnsupportedOperationException();
        }

        @Override
        public Socket createSocket(String host, int port, InetAddress local, int localPort) throws IOException {
            throw new UnsupportedOperationException();
        }

        @Override
        public Socket createSocket(InetAddress host, int port) throws IOException {
            throw new UnsupportedOperationException();
        }

        @Override
        public Socket createSocket(InetAddress host, int port, InetAddress local, int localPort) throws IOException {
            throw new UnsupportedOperationException();
        }

        void expire() {
            expired = true;
            for (Socket s : sockets) {
                try {
                    s.close();
                } catch (IOException e) {
                    // closing is all that is wanted
                }
            }
        }
    }

    /**
     * A builder of a channel that mails {@code from} the given address through {@code host}.
     *
     * @throws IllegalArgumentException when the host is empty or the address is not one
     */
    public static Builder builder(String host, String from) {
        return new Builder(host, from);
    }

    @Override
    public void send(Notice notice) throws IOException {
        Deadline deadline = new Deadline();
        Properties p = new Properties();
        p.putAll(properties);
        p.put(ssl ? "mail.smtps.ssl.socketFactory" : "mail.smtp.socketFactory", deadline);
        Session session = Session.getInstance(p, login);
        ScheduledFuture<?> timer = WATCHDOG.schedule(deadline::expire, deadlineAfter.toMillis(), TimeUnit.MILLISECONDS);
        try {
            MimeMessage m = new MimeMessage(session);
            m.setFrom(from);
            m.setRecipients(Message.RecipientType.TO, to.toArray(new InternetAddress[0]));
            m.setSubject(notice.title(), StandardCharsets.UTF_8.name());
            m.setText(notice.text(), StandardCharsets.UTF_8.name());
            m.setSentDate(Date.from(notice.at()));
            // a header value ends at a line break: one in the id would start headers of its own
            m.setHeader("X-Drkit-Incident", notice.incident().id().replaceAll("\\p{Cntrl}", " "));
            Transport.send(m);
        } catch (SendFailedException e) {
            Address[] sent = e.getValidSentAddresses();
            if (sent != null && sent.length > 0) {
                // sent to some: sending it again would send it to them twice
                throw new NoticeRejectedException("delivered to " + sent.length + " recipient(s), refused for "
                        + addresses(e.getInvalidAddresses(), e.getValidUnsentAddresses()) + ": "
                        + describe(e));
            }
            if (temporary(e)) {
                throw new IOException("the server asked to try again later: " + describe(e));
            }
            throw new NoticeRejectedException("the server refused the recipients: " + describe(e));
        } catch (MessagingException e) {
            if (deadline.expired) {
                throw new IOException("the mail server did not finish within " + deadlineAfter.toSeconds() + " s");
            }
            throw new IOException(describe(e));
        } finally {
            timer.cancel(false);
        }
    }

    /** A 4xx reply (RFC 5321: try again later), for every recipient or for the whole mail. */
    private static boolean temporary(SendFailedException e) {
        Address[] invalid = e.getInvalidAddresses();
        Address[] unsent = e.getValidUnsentAddresses();
        if ((invalid == null || invalid.length == 0) && unsent != null && unsent.length > 0) {
            return true;
        }
        for (Exception x = e; x != null; x = x instanceof MessagingException m ? m.getNextException() : null) {
            String msg = x.getMessage();
            if (msg != null && msg.matches("(?s)5\\d\\d.*")) {
                return false;
            }
            if (msg != null && msg.matches("(?s)4\\d\\d.*")) {
                return true;
            }
        }
        return false;
    }

    private static String addresses(Address[]... lists) {
        List<String> out = new ArrayList<>();
        for (Address[] list : lists) {
            for (Address a : list == null ? new Address[0] : list) {
                out.add(a.toString());
            }
        }
        return String.join(", ", out);
    }

    /** The server's reason, without exception class names. */
    static String describe(MessagingException e) {
        List<String> parts = new ArrayList<>();
        for (Throwable t = e; t != null && parts.size() < 3; t = t.getCause()) {
            // the JDK's TLS messages quote the class names of their causes
            String m = t.getMessage() == null
                    ? null
                    : CLASS_NAME.matcher(t.getMessage()).replaceAll("").strip();
            if (m != null && !m.isEmpty() && !parts.contains(m)) {
                parts.add(m);
            }
        }
        return parts.isEmpty() ? "sending failed" : String.join(": ", parts);
    }

    /** A qualified exception class name and its colon, as messages quote their causes. */
    private static final Pattern CLASS_NAME =
            Pattern.compile("\\b(?:[a-z][\\w$]*\\.)+[A-Z][\\w$]*(?:Exception|Error)(?::\\s*|\\b)");

    @Override
    public String toString() {
        return "e-mail via " + host + ":" + port + " to " + to.size() + " recipient(s)";
    }

    /** Builds an {@link EmailChannel}. Not thread-safe. */
    public static final class Builder {
        private final String host;
        private final InternetAddress from;
        private final List<InternetAddress> to = new ArrayList<>();
        private int port;
        private boolean starttls = true;
        private boolean ssl;
        private String user;
        private String password;
        private Duration deadline = DEADLINE;

        private Builder(String host, String from) {
            if (host == null || host.isBlank()) {
                throw new IllegalArgumentException("the SMTP host is empty");
            }
            this.host = host;
            this.from = address(from, "from");
        }

        /** The SMTP port (default 465 with SSL, 587 with STARTTLS, else 25). */
        public Builder port(int port) {
            if (port < 1 || port > 65535) {
                throw new IllegalArgumentException("the SMTP port must be 1 to 65535, not " + port);
            }
            this.port = port;
            return this;
        }

        /** Whether to require STARTTLS before anything else is sent (default true). */
        public Builder starttls(boolean starttls) {
            this.starttls = starttls;
            return this;
        }

        /** Whether to speak SMTP inside TLS from the start (SMTPS, usually port 465; default false). */
        public Builder ssl(boolean ssl) {
            this.ssl = ssl;
            return this;
        }

        /**
         * Logs in with this user and password.
         *
         * @param password a secret, kept only for the login
         */
        public Builder login(String user, String password) {
            this.user = Objects.requireNonNull(user, "user");
            this.password = Objects.requireNonNull(password, "password");
            return this;
        }

        /** The longest one mail may take, connection included (default 60 s; tests). */
        Builder deadline(Duration deadline) {
            this.deadline = Objects.requireNonNull(deadline, "deadline");
            return this;
        }

        /** Adds a recipient. */
        public Builder to(String address) {
            to.add(address(address, "to"));
            return this;
        }

        /**
         * @throws IllegalStateException when no recipient was given, or a login would cross the
         *     network without TLS (neither STARTTLS nor SSL, to a host other than this one)
         */
        public EmailChannel build() {
            if (to.isEmpty()) {
                throw new IllegalStateException("an e-mail channel needs at least one recipient ('to')");
            }
            if (user != null && !starttls && !ssl && !thisHost(host)) {
                throw new IllegalStateException("an e-mail channel that logs in ('user') needs 'starttls' or 'ssl': "
                        + "without them its password would cross the network in clear (only a relay on this host, "
                        + "localhost or a loopback address, may go without)");
            }
            return new EmailChannel(this);
        }

        /** Whether {@code host} names this host by a loopback name or address (no name is looked up). */
        private static boolean thisHost(String host) {
            String h = host.startsWith("[") && host.endsWith("]") ? host.substring(1, host.length() - 1) : host;
            return h.equalsIgnoreCase("localhost")
                    || h.matches("127\\.\\d{1,3}\\.\\d{1,3}\\.\\d{1,3}")
                    || h.equals("::1")
                    || h.equals("0:0:0:0:0:0:0:1");
        }

        private static InternetAddress address(String text, String key) {
            try {
                InternetAddress a = new InternetAddress(text, true);
                a.validate();
                return a;
            } catch (AddressException | NullPointerException e) {
                throw new IllegalArgumentException("'" + text + "' is not an e-mail address (" + key + ")");
            }
        }
    }
}
