package dev.drkit.spring;

import dev.drkit.ConfigException;
import java.util.stream.Collectors;
import org.springframework.boot.diagnostics.AbstractFailureAnalyzer;
import org.springframework.boot.diagnostics.FailureAnalysis;

/**
 * Turns a start-up failure on drkit's configuration into Spring Boot's failure report: every
 * problem of the {@code drkit.*} properties, one per line, without a stack trace.
 */
public final class DrkitFailureAnalyzer extends AbstractFailureAnalyzer<ConfigException> {
    @Override
    protected FailureAnalysis analyze(Throwable rootFailure, ConfigException cause) {
        String problems = cause.problems().stream().map(p -> "  - " + p).collect(Collectors.joining("\n"));
        return new FailureAnalysis(
                "drkit's configuration has " + cause.problems().size() + " problem(s):\n" + problems,
                "Fix the drkit.* properties named above (each target type's options are listed in drkit's README), "
                        + "or set drkit.enabled=false to start without drkit.",
                cause);
    }
}
