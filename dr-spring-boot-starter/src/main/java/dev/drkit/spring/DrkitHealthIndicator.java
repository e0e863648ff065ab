package dev.drkit.spring;

import dev.drkit.DrException;
import dev.drkit.DrKit;
import dev.drkit.DrStatus;
import dev.drkit.Objectives;
import dev.drkit.micrometer.DrMetrics;
import java.util.LinkedHashMap;
import java.util.Map;
import org.springframework.boot.health.contributor.Health;
import org.springframework.boot.health.contributor.HealthIndicator;

/**
 * The backups' health for Actuator ({@code /actuator/health/drkit}): UP when every target has a
 * complete backup within its RPO, its newest verification did not fail and its restore tests meet
 * its RTO; DOWN otherwise, with each target's state and problems as details. Every call reads the
 * repository's catalog. It also brings the {@link DrMetrics} gauges up to date, so they are right
 * after a restart too.
 */
public final class DrkitHealthIndicator implements HealthIndicator {
    private final DrKit kit;
    private final Map<String, Objectives> objectives;
    private final DrMetrics metrics;

    /**
     * @param objectives per target name, the objectives checked
     * @param metrics meters to update with each status, or null
     */
    public DrkitHealthIndicator(DrKit kit, Map<String, Objectives> objectives, DrMetrics metrics) {
        this.kit = kit;
        this.objectives = Map.copyOf(objectives);
        this.metrics = metrics;
    }

    @Override
    public Health health() {
        DrStatus status;
        try {
            status = kit.status(objectives);
        } catch (DrException e) {
            // no repository yet, or unreachable storage: no backup can be shown to exist
            return Health.down()
                    .withDetail("repository", kit.repositoryDescription())
                    .withDetail("error", e.getMessage())
                    .build();
        } catch (RuntimeException e) {
            // else Actuator would show the exception's class and message as the details
            return Health.down()
                    .withDetail("repository", kit.repositoryDescription())
                    .withDetail("error", DrkitViews.unexpected("reading the repository's status", e))
                    .build();
        }
        if (metrics != null) {
            metrics.record(status);
        }
        Health.Builder health = status.healthy() ? Health.up() : Health.down();
        health.withDetail("repository", kit.repositoryDescription());
        Map<String, Object> targets = new LinkedHashMap<>();
        for (DrStatus.Target t : status.targets()) {
            targets.put(t.name(), DrkitViews.target(t));
        }
        health.withDetail("targets", targets);
        if (!status.problems().isEmpty()) {
            health.withDetail("problems", status.problems());
        }
        return health.build();
    }
}
