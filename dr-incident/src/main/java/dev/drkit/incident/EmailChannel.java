package dev.drkit.incident;

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
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Date;
import java.util.List;
import java.util.Objects;
import java.util.Properties;

/**
 * Mails notices over SMTP (Jakarta Mail): the title as subject, the rendered notice as a plain
 * text body, to every recipient. STARTTLS (required when asked for, so that a password is never
 * sent in clear), SMTPS, and login with a user and password. The password is held only for
 * the login: it never appears in {@code toString()}, logs or events. Thread-safe; build with
 * {@link #builder(String, String)}.
 */
public final class EmailChannel implements IncidentChannel {
    private final String host;
    private final int port;
    private final InternetAddress from;
    private final List<InternetAddress> to;
    private final Session session;

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
        this.session = Session.getInstance(
                p,
                user == null
                        ? null
                        : new Authenticator() {
                            @Override
                            protected PasswordAuthentication getPasswordAuthentication() {
                                return new PasswordAuthentication(user, password);
                            }
                        });
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
            throw new NoticeRejectedException("the server refused the recipients: " + e.getMessage());
        } catch (MessagingException e) {
            throw new IOException(describe(e));
        }
    }

    /** The server's reason, without exception class names. */
    private static String describe(MessagingException e) {
        List<String> parts = new ArrayList<>();
        for (Throwable t = e; t != null && parts.size() < 3; t = t.getCause()) {
            if (t.getMessage() != null && !parts.contains(t.getMessage())) {
                parts.add(t.getMessage().strip());
            }
        }
        return parts.isEmpty() ? "sending failed" : String.join(": ", parts);
    }

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

        /** Adds a recipient. */
        public Builder to(String address) {
            to.add(address(address, "to"));
            return this;
        }

        /** @throws IllegalStateException when no recipient was given */
        public EmailChannel build() {
            if (to.isEmpty()) {
                throw new IllegalStateException("an e-mail channel needs at least one recipient ('to')");
            }
            return new EmailChannel(this);
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
