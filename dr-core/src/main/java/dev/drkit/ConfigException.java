package dev.drkit;

import java.util.List;

/**
 * Configuration or arguments are invalid. Carries every problem found, not just the first,
 * so that a user fixes them all in one go.
 */
public class ConfigException extends DrException {
    private static final long serialVersionUID = 1L;
    private final List<String> problems;

    public ConfigException(String problem) {
        this(List.of(problem));
    }

    /** One problem, found while doing something that failed with {@code cause}. */
    public ConfigException(String problem, Throwable cause) {
        super(ErrorCode.CONFIG_INVALID, problem, cause);
        this.problems = List.of(problem);
    }

    public ConfigException(List<String> problems) {
        super(ErrorCode.CONFIG_INVALID, format(problems));
        this.problems = List.copyOf(problems);
    }

    /** Every problem found, in the order they were found. */
    public List<String> problems() {
        return problems;
    }

    private static String format(List<String> problems) {
        if (problems.size() == 1) {
            return problems.get(0);
        }
        return problems.size() + " configuration problems:\n  " + String.join("\n  ", problems);
    }
}
