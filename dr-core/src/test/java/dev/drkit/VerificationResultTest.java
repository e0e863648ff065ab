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
        VerificationResult.Timer timer = VerificationResult.start("checksum");
        VerificationResult passed = timer.result(List.of(), Map.of("artifacts", 2));
        VerificationResult failed = timer.result(List.of("artifact a is damaged"), null);

        assertThat(passed.status()).isEqualTo(Status.PASSED);
        assertThat(passed.verifier()).isEqualTo("checksum");
        assertThat(passed.details()).containsExactly(Map.entry("artifacts", 2));
        assertThat(failed.status()).isEqualTo(Status.FAILED);
        assertThat(failed.problems()).containsExactly("artifact a is damaged");
        assertThat(failed.details()).isEmpty();
    }

    @Test
    void durationRunsFromTheStart() throws Exception {
        VerificationResult.Timer timer = VerificationResult.start("decode");
        long before = System.nanoTime();
        Thread.sleep(30);
        Duration waited = Duration.ofNanos(System.nanoTime() - before);

        VerificationResult r = timer.result(Status.UNVERIFIED, null, Map.of());

        assertThat(r.status()).isEqualTo(Status.UNVERIFIED);
        assertThat(r.problems()).isEmpty();
        assertThat(r.duration()).isGreaterThanOrEqualTo(waited).isLessThan(Duration.ofSeconds(60));
        assertThat(timer.seconds()).isGreaterThanOrEqualTo(0.03);
    }

    @Test
    void failedAndUnverifiedCarryTheirOneLine() {
        VerificationResult.Timer timer = VerificationResult.start("redis-rdb");

        assertThat(timer.failed("the backup has no dump.rdb"))
                .extracting(VerificationResult::status, VerificationResult::problems)
                .containsExactly(Status.FAILED, List.of("the backup has no dump.rdb"));
        assertThat(timer.unverified("no server to load it"))
                .extracting(VerificationResult::status, VerificationResult::problems)
                .containsExactly(Status.UNVERIFIED, List.of("no server to load it"));
    }

    @Test
    void copiesTheProblemsItIsGiven() {
        List<String> problems = new ArrayList<>(List.of("one"));
        VerificationResult r = VerificationResult.start("x").result(problems, null);
        problems.add("two");

        assertThat(r.problems()).containsExactly("one");
    }
}
