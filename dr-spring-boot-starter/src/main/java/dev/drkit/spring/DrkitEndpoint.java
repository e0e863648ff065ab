package dev.drkit.spring;

import dev.drkit.BackupNotFoundException;
import dev.drkit.BackupResult;
import dev.drkit.ConfigException;
import dev.drkit.DrException;
import dev.drkit.DrKit;
import dev.drkit.DrStatus;
import dev.drkit.Objectives;
import dev.drkit.RepositoryLockedException;
import dev.drkit.RepositoryNotFoundException;
import dev.drkit.TestSchedule;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.springframework.boot.actuate.endpoint.Access;
import org.springframework.boot.actuate.endpoint.annotation.Endpoint;
import org.springframework.boot.actuate.endpoint.annotation.ReadOperation;
import org.springframework.boot.actuate.endpoint.annotation.Selector;
import org.springframework.boot.actuate.endpoint.annotation.WriteOperation;
import org.springframework.boot.actuate.endpoint.web.WebEndpointResponse;

/**
 * The {@code drkit} Actuator endpoint. Exposed like any other endpoint ({@code
 * management.endpoints.web.exposure.include=drkit}) and read-only by default: running a backup
 * needs {@code management.endpoint.drkit.access=unrestricted}, and the application's own security
 * rules for {@code /actuator/**} apply.
 *
 * <ul>
 *   <li>{@code GET /actuator/drkit}: the status of every target, as the health indicator sees it, with its
 *       verification checklist, and the recovery testing schedule;</li>
 *   <li>{@code GET /actuator/drkit/{target}}: the target's complete backups, oldest first;</li>
 *   <li>{@code POST /actuator/drkit/{target}}: backs the target up now and answers with the new
 *       backup (409 while another backup or prune of the target holds its lock).</li>
 * </ul>
 */
@Endpoint(id = "drkit", defaultAccess = Access.READ_ONLY)
public class DrkitEndpoint {
    private final DrKit kit;
    private final Map<String, Objectives> objectives;
    private final DrkitSchedulerLifecycle scheduler;
    private final TestSchedule testing;

    /** @param scheduler the scheduler whose jobs the status lists, or null */
    public DrkitEndpoint(DrKit kit, Map<String, Objectives> objectives, DrkitSchedulerLifecycle scheduler) {
        this(kit, objectives, scheduler, TestSchedule.plan());
    }

    /**
     * @param scheduler the scheduler whose jobs the status lists, or null
     * @param testing how often each recovery test is due, for the testing schedule the status lists
     */
    public DrkitEndpoint(
            DrKit kit, Map<String, Objectives> objectives, DrkitSchedulerLifecycle scheduler, TestSchedule testing) {
        this.kit = kit;
        this.objectives = Map.copyOf(objectives);
        this.scheduler = scheduler;
        this.testing = java.util.Objects.requireNonNull(testing, "testing");
    }

    /** Every target's status. */
    @ReadOperation
    public Map<String, Object> status() {
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("repository", kit.repositoryDescription());
        try {
            DrStatus s = kit.status(objectives, testing);
            out.put("healthy", s.healthy());
            out.put("at", s.at().toString());
            Map<String, Object> targets = new LinkedHashMap<>();
            s.targets().forEach(t -> targets.put(t.name(), DrkitViews.target(t)));
            out.put("targets", targets);
            out.put("problems", s.problems());
            out.put("testing", s.schedule().stream().map(DrkitViews::scheduled).toList());
        } catch (DrException e) {
            out.put("healthy", false);
            out.put("problems", List.of(e.getMessage()));
        } catch (RuntimeException e) {
            out.put("healthy", false);
            out.put("problems", List.of(DrkitViews.unexpected("reading the repository's status", e)));
        }
        out.put("jobs", scheduler == null ? Map.of() : scheduler.jobs());
        return out;
    }

    /** A target's complete backups, oldest first. */
    @ReadOperation
    public WebEndpointResponse<Object> backups(@Selector String target) {
        try {
            return new WebEndpointResponse<>(
                    kit.list(target).stream().map(DrkitViews::backup).toList());
        } catch (RepositoryNotFoundException e) {
            return error(WebEndpointResponse.STATUS_NOT_FOUND, e);
        } catch (ConfigException e) {
            return error(WebEndpointResponse.STATUS_BAD_REQUEST, e);
        } catch (DrException e) {
            return error(WebEndpointResponse.STATUS_INTERNAL_SERVER_ERROR, e);
        } catch (RuntimeException e) {
            return unexpected("listing a target's backups", e);
        }
    }

    /** Backs up a configured target now; the answer describes the new backup. */
    @WriteOperation
    public WebEndpointResponse<Object> backup(@Selector String target) {
        if (!kit.configuredTargets().contains(target)) {
            return new WebEndpointResponse<>(
                    Map.of(
                            "error",
                            "no target is configured under the name '" + target + "'; configured: "
                                    + kit.configuredTargets()),
                    WebEndpointResponse.STATUS_NOT_FOUND);
        }
        try {
            BackupResult r = kit.backup(target);
            Map<String, Object> out = DrkitViews.backup(r.manifest());
            return new WebEndpointResponse<>(out);
        } catch (RepositoryLockedException e) {
            return error(409, e);
        } catch (BackupNotFoundException e) {
            return error(WebEndpointResponse.STATUS_NOT_FOUND, e);
        } catch (DrException e) {
            return error(WebEndpointResponse.STATUS_INTERNAL_SERVER_ERROR, e);
        } catch (RuntimeException e) {
            return unexpected("the backup of target '" + target + "'", e);
        }
    }

    private static WebEndpointResponse<Object> unexpected(String doing, RuntimeException e) {
        return new WebEndpointResponse<>(
                Map.of("error", DrkitViews.unexpected(doing, e)), WebEndpointResponse.STATUS_INTERNAL_SERVER_ERROR);
    }

    private static WebEndpointResponse<Object> error(int status, DrException e) {
        return new WebEndpointResponse<>(
                Map.of("error", e.getMessage(), "code", e.code().name()), status);
    }
}
