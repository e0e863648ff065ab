package dev.drkit.examples.cli;

import dev.drkit.ConfigException;
import dev.drkit.spi.BackupTargetProvider;
import dev.drkit.spi.OptionSchema;
import dev.drkit.spi.OptionSpec;
import dev.drkit.spi.VerifierProvider;
import dev.drkit.spi.support.OptionValidator;
import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.ServiceLoader;
import java.util.TreeMap;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * {@code drkit targets [TYPE]}: the target types on the class path with the options each
 * publishes (its settings, its restore options, the options of its verifiers that take any), from
 * the providers' schemas: the same ones backups, restores and the setup file are checked against.
 */
@Command(
        name = "targets",
        description =
                "List the target types and their options (settings, restore and verify options), " + "or one type's.")
final class TargetsCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Parameters(arity = "0..1", paramLabel = "TYPE", description = "Only this target type, e.g. postgres-logical.")
    String type;

    @Override
    public Integer call() {
        GlobalOptions global = GlobalOptions.of(spec);
        PrintWriter out = spec.commandLine().getOut();
        ClassLoader loader = DrkitCli.class.getClassLoader();
        Map<String, BackupTargetProvider> types = new TreeMap<>();
        for (BackupTargetProvider p : ServiceLoader.load(BackupTargetProvider.class, loader)) {
            types.merge(p.type(), p, (a, b) -> b.priority() > a.priority() ? b : a);
        }
        List<VerifierProvider> verifiers = new ArrayList<>();
        ServiceLoader.load(VerifierProvider.class, loader).forEach(verifiers::add);
        verifiers.sort(Comparator.comparing(VerifierProvider::level).thenComparing(VerifierProvider::name));
        if (type != null && !types.containsKey(type)) {
            Optional<String> near = OptionValidator.closest(type, types.keySet());
            throw new ConfigException("unknown target type '" + type + "'"
                    + near.map(n -> "; did you mean '" + n + "'?").orElse("")
                    + " Known: " + String.join(", ", types.keySet()));
        }
        List<Map<String, Object>> described = new ArrayList<>();
        for (BackupTargetProvider p : types.values()) {
            if (type == null || type.equals(p.type())) {
                described.add(describe(p, verifiers));
            }
        }
        if (global.json) {
            GlobalOptions.printJson(out, type == null ? described : described.get(0));
        } else {
            described.forEach(d -> print(out, d));
        }
        out.flush();
        return 0;
    }

    private static Map<String, Object> describe(BackupTargetProvider p, List<VerifierProvider> verifiers) {
        Map<String, Object> d = new LinkedHashMap<>();
        d.put("type", p.type());
        d.put("settings", options(p.schema()));
        d.put("restore", options(p.restoreSchema()));
        Map<String, Object> verify = new LinkedHashMap<>();
        for (VerifierProvider v : verifiers) {
            if (v.supports(p.type()) && !v.schema().options().isEmpty()) {
                verify.put(v.name() + " (" + v.level().name().toLowerCase(Locale.ROOT) + ")", options(v.schema()));
            }
        }
        d.put("verify", verify);
        return d;
    }

    /** The options of a schema, or null when the provider publishes none. */
    private static List<Map<String, Object>> options(OptionSchema schema) {
        if (!schema.checked()) {
            return null;
        }
        List<Map<String, Object>> all = new ArrayList<>();
        for (OptionSpec o : schema.options()) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("name", o.displayName());
            m.put("type", o.type().label());
            if (!o.allowed().isEmpty()) {
                m.put("allowed", o.allowed());
            }
            o.defaultValue().ifPresent(v -> m.put("default", v));
            m.put("required", o.required());
            m.put("repeatable", o.repeatable());
            m.put("secret", o.secret());
            m.put("description", o.description());
            all.add(m);
        }
        return all;
    }

    @SuppressWarnings("unchecked")
    private static void print(PrintWriter out, Map<String, Object> d) {
        out.println(d.get("type"));
        section(out, "settings", (List<Map<String, Object>>) d.get("settings"));
        section(out, "restore options", (List<Map<String, Object>>) d.get("restore"));
        Map<String, Object> verify = (Map<String, Object>) d.get("verify");
        if (verify.isEmpty()) {
            out.println("  verify options: none");
        }
        verify.forEach((verifier, options) ->
                section(out, "verify options of " + verifier, (List<Map<String, Object>>) options));
        out.println();
    }

    @SuppressWarnings("unchecked")
    private static void section(PrintWriter out, String title, List<Map<String, Object>> options) {
        if (options == null) {
            out.println("  " + title + ": not published (the provider has no option schema; nothing is checked)");
            return;
        }
        if (options.isEmpty()) {
            out.println("  " + title + ": none");
            return;
        }
        out.println("  " + title + ":");
        for (Map<String, Object> o : options) {
            String type = o.containsKey("allowed")
                    ? String.join("|", (List<String>) o.get("allowed"))
                    : (String) o.get("type");
            List<String> flags = new ArrayList<>();
            if ((Boolean) o.get("required")) {
                flags.add("required");
            }
            if ((Boolean) o.get("repeatable")) {
                flags.add("repeatable");
            }
            if ((Boolean) o.get("secret")) {
                flags.add("secret");
            }
            if (o.containsKey("default")) {
                flags.add("default " + (o.get("default").toString().isEmpty() ? "''" : o.get("default")));
            }
            out.printf(
                    "    %-22s %-18s %-30s %s%n", o.get("name"), type, String.join(", ", flags), o.get("description"));
        }
    }
}
