package dev.drkit;

import static org.assertj.core.api.Assertions.assertThat;

import dev.drkit.VerificationResult.Status;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class VerificationResultTest {

    @Test
    void noProblemsPassesAndProblemsFail() {
        long start = System.nanoTime();
        VerificationResult passed = VerificationResult.of("checksum", List.of(), start, Map.of("artifacts", 2));
        VerificationResult failed = VerificationResult.of("checksum", List.of("artifact a is damaged"), start, null);

        assertThat(passed.status()).isEqualTo(Status.PASSED);
        assertThat(passed.verifier()).isEqualTo("checksum");
        assertThat(passed.details()).containsExactly(Map.entry("artifacts", 2));
        assertThat(failed.status()).isEqualTo(Status.FAILED);
        assertThat(failed.problems()).containsExactly("artifact a is damaged");
        assertThat(failed.details()).isEmpty();
    }

    @Test
    void durationRunsFromTheStartReading() {
        long start = System.nanoTime() - Duration.ofSeconds(3).toNanos();
        long before = System.nanoTime();

        VerificationResult r = VerificationResult.of("decode", Status.UNVERIFIED, null, start, Map.of());

        assertThat(r.status()).isEqualTo(Status.UNVERIFIED);
        assertThat(r.problems()).isEmpty();
        assertThat(r.duration())
                .isGreaterThanOrEqualTo(Duration.ofNanos(before - start))
                .isLessThan(Duration.ofSeconds(60));
    }

    @Test
    void copiesTheProblemsItIsGiven() {
        List<String> problems = new ArrayList<>(List.of("one"));
        VerificationResult r = VerificationResult.of("x", problems, System.nanoTime(), null);
        problems.add("two");

        assertThat(r.problems()).containsExactly("one");
    }
}
