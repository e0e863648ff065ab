package dev.drkit.internal.ops;

import dev.drkit.CheckOptions;
import dev.drkit.CheckReport;
import dev.drkit.internal.pipeline.ProgressMeter;
import dev.drkit.internal.repo.RepositoryCheck;
import java.io.IOException;
import java.util.Objects;
import java.util.Set;
import java.util.TreeSet;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** The check of a whole repository (see {@link RepositoryCheck}), with progress. Thread-safe. */
public final class CheckOperation {
    private static final Logger LOG = LoggerFactory.getLogger(CheckOperation.class);

    private final OperationContext ctx;

    public CheckOperation(OperationContext ctx) {
        this.ctx = ctx;
    }

    public CheckReport check(CheckOptions options) {
        Objects.requireNonNull(options, "options");
        ProgressMeter meter = ctx.meter("check", null);
        try {
            CheckReport report = new RepositoryCheck(
                            ctx.repository(), ctx.clock(), ctx.config().lockTtl(), meter, this::archiveAreas)
                    .run(options);
            meter.finish();
            return report;
        } catch (IOException e) {
            throw ctx.repository().storageError("checking the repository", e);
        }
    }

    /** The archive areas (e.g. {@code wal}) of the backup types found and of the registered ones. */
    private Set<String> archiveAreas(Set<String> found) {
        Set<String> types = new TreeSet<>(ctx.registry().targetTypes());
        types.addAll(found);
        Set<String> areas = new TreeSet<>();
        for (String type : types) {
            try {
                areas.addAll(ctx.registry().target(type).archiveAreas());
            } catch (RuntimeException e) {
                LOG.warn(
                        "cannot tell which files backups of type {} keep besides their own; a check leaves them "
                                + "alone: {}",
                        type,
                        e.getMessage());
            }
        }
        return areas;
    }
}
