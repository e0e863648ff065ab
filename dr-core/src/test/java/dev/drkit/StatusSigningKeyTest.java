package dev.drkit;

import static org.assertj.core.api.Assertions.assertThat;

import dev.drkit.spi.ManifestSigner;
import dev.drkit.spi.ManifestVerifier;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A signing key that expires stops every backup and WAL archiving from then on (restores would
 * not believe what it signed): status says so a week ahead, while there is time to act, and
 * once it has happened; the signer's own log line 30 days ahead is easy to miss.
 */
class StatusSigningKeyTest {
    @TempDir
    Path dir;

    private final MutableClock clock = new MutableClock(Instant.parse("2026-11-02T02:00:00Z"));

    /** The toy signer, with its key expiring at {@code until}. */
    private static ManifestSigner expiringAt(Instant until) {
        return new ManifestSigner() {
            @Override
            public String signatureSuffix() {
                return ToySignatures.SIGNER.signatureSuffix();
            }

            @Override
            public byte[] sign(byte[] manifest) {
                return ToySignatures.reversed(manifest);
            }

            @Override
            public Optional<Instant> validUntil() {
                return Optional.of(until);
            }
        };
    }

    private DrStatus status(ManifestSigner signer) {
        return status(signer, null);
    }

    private DrStatus status(ManifestSigner signer, ManifestVerifier trusted) {
        try (DrKit kit = DrKit.builder()
                .repository(dir.resolve("repo").toString())
                .clock(clock)
                .signer(signer)
                .trustedSignatures(trusted)
                .build()) {
            kit.initRepository();
            return kit.status(Map.of());
        }
    }

    @Test
    void aKeyExpiringWithinAWeekIsAProblemOfTheStatus() {
        DrStatus status = status(expiringAt(clock.instant().plus(Duration.ofDays(3))));

        assertThat(status.healthy()).isFalse();
        assertThat(status.problems())
                .singleElement()
                .asString()
                .startsWith("the key that signs manifests and WAL expires on 2026-11-05T02:00:00Z (in 72 hours)")
                .contains("give it as sign-with");
    }

    @Test
    void anExpiredKeyIsAProblemOfTheStatus() {
        DrStatus status = status(expiringAt(clock.instant().minus(Duration.ofHours(1))));

        assertThat(status.healthy()).isFalse();
        assertThat(status.problems())
                .singleElement()
                .asString()
                .startsWith("the key that signs manifests and WAL expired on 2026-11-02T01:00:00Z");
    }

    @Test
    void anExpiredKeyThatRefusesToSignIsAProblemOfTheStatusOfAKitWithTrustedKeysToo() {
        Instant expired = clock.instant().minus(Duration.ofHours(1));
        ManifestSigner refusing = new ManifestSigner() {
            @Override
            public String signatureSuffix() {
                return ToySignatures.SIGNER.signatureSuffix();
            }

            @Override
            public byte[] sign(byte[] manifest) {
                // as the OpenPGP signer does once its key expired
                throw new ConfigException("the signing key expired on " + expired);
            }

            @Override
            public Optional<Instant> validUntil() {
                return Optional.of(expired);
            }
        };

        DrStatus status = status(refusing, ToySignatures.TRUSTED);

        assertThat(status.healthy()).isFalse();
        assertThat(status.problems())
                .anySatisfy(p -> assertThat(p).startsWith("the key that signs manifests and WAL expired on"));
    }

    @Test
    void aKeyValidForMoreThanAWeekOrForEverIsNoProblem() {
        assertThat(status(expiringAt(clock.instant().plus(Duration.ofDays(8)))).problems())
                .isEmpty();
        assertThat(status(ToySignatures.SIGNER).problems()).isEmpty();
    }
}
