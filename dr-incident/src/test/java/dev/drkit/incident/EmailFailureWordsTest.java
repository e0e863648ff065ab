package dev.drkit.incident;

import static org.assertj.core.api.Assertions.assertThat;

import jakarta.mail.MessagingException;
import javax.net.ssl.SSLHandshakeException;
import org.junit.jupiter.api.Test;

/** What a failed mail says: the server's and the TLS layer's reasons, without Java class names. */
class EmailFailureWordsTest {
    @Test
    void aCertificateTheJdkDoesNotTrustIsDescribedWithoutClassNames() {
        SSLHandshakeException tls = new SSLHandshakeException("PKIX path building failed: "
                + "sun.security.provider.certpath.SunCertPathBuilderException: unable to find valid certification "
                + "path to requested target");
        MessagingException e = new MessagingException("Could not convert socket to TLS", tls);

        String said = EmailChannel.describe(e);

        assertThat(said)
                .isEqualTo("Could not convert socket to TLS: PKIX path building failed: unable to find valid "
                        + "certification path to requested target")
                .doesNotContain("sun.security", "Exception");
    }

    @Test
    void aServerReplyIsKeptAsItIs() {
        MessagingException e = new MessagingException("550 5.1.1 <left@example.com>: Recipient address rejected");

        assertThat(EmailChannel.describe(e)).isEqualTo("550 5.1.1 <left@example.com>: Recipient address rejected");
    }
}
