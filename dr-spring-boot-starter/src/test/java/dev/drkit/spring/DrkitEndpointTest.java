package dev.drkit.spring;

import static org.assertj.core.api.Assertions.assertThat;

import dev.drkit.DrKit;
import dev.drkit.RecoveryTest;
import dev.drkit.TestSchedule;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.springframework.boot.actuate.endpoint.web.WebEndpointResponse;

class DrkitEndpointTest {
    @TempDir
    Path tmp;

    @Test
    void aSecondBackupOfATargetWhileOneRunsIsAConflictAndTheFirstFinishes() throws Exception {
        LatchedTarget.reset();
        try (DrKit kit = DrKit.builder()
                .repository(tmp.resolve("repo").toString())
                .target("slow", new LatchedTarget())
                .build()) {
            DrkitEndpoint endpoint = new DrkitEndpoint(kit, Map.of(), null);
            CompletableFuture<WebEndpointResponse<Object>> first =
                    CompletableFuture.supplyAsync(() -> endpoint.backup("slow"));
            assertThat(LatchedTarget.started.await(30, TimeUnit.SECONDS)).isTrue();

            WebEndpointResponse<Object> second = endpoint.backup("slow");

            assertThat(second.getStatus()).isEqualTo(409);
            assertThat(second.getBody().toString()).contains("code=LOCKED");
            LatchedTarget.release.countDown();
            assertThat(first.get(30, TimeUnit.SECONDS).getStatus()).isEqualTo(WebEndpointResponse.STATUS_OK);
            assertThat(kit.list("slow")).hasSize(1);
        }
    }

    @Test
    void unknownOrOddTargetNamesAreAnsweredNotThrown() {
        try (DrKit kit =
                DrKit.builder().repository(tmp.resolve("repo").toString()).build()) {
            DrkitEndpoint endpoint = new DrkitEndpoint(kit, Map.of(), null);

            WebEndpointResponse<Object> post = endpoint.backup("..");
            assertThat(post.getStatus()).isEqualTo(WebEndpointResponse.STATUS_NOT_FOUND);
            assertThat(post.getBody().toString()).contains("no target is configured under the name '..'");
            assertThat(endpoint.backups("..").getStatus()).isIn(400, 404);
            assertThat(endpoint.backups("nothing-here").getStatus()).isEqualTo(404);
            assertThat(List.of(tmp.toFile().list())).doesNotContain("repo");
        }
    }

    @Test
    @SuppressWarnings("unchecked")
    void theStatusListsEachTargetsChecklistAndTheTestingScheduleWithTheSetupsFrequencies() {
        LatchedTarget.reset();
        LatchedTarget.release.countDown();
        try (DrKit kit = DrKit.builder()
                .repository(tmp.resolve("repo").toString())
                .target("slow", new LatchedTarget())
                .build()) {
            kit.backup("slow");
            DrkitEndpoint endpoint = new DrkitEndpoint(
                    kit, Map.of(), null, TestSchedule.plan().with(RecoveryTest.FAILOVER, Duration.ofDays(14)));
            Map<String, Object> status = endpoint.status();
            List<Map<String, Object>> testing = (List<Map<String, Object>>) status.get("testing");
            assertThat(testing)
                    .extracting(m -> m.get("test"))
                    .containsExactly("backup-integrity", "database-restore", "failover", "full-recovery");
            assertThat(testing.get(2)).containsEntry("every", "PT336H").containsEntry("overdue", true);
            Map<String, Object> slow = (Map<String, Object>) ((Map<String, Object>) status.get("targets")).get("slow");
            List<Map<String, Object>> checklist = (List<Map<String, Object>>) slow.get("checklist");
            assertThat(checklist).hasSize(5);
            assertThat(checklist.get(0))
                    .containsEntry("item", "backups accessible")
                    .containsEntry("state", "passed");
        }
    }
}
