package dev.drkit.incident;

import com.samskivert.mustache.Mustache;
import com.samskivert.mustache.MustacheException;
import com.samskivert.mustache.Template;
import dev.drkit.ConfigException;
import dev.drkit.spi.support.Hosts;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.EnumMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The templates notices are rendered from: Mustache (logic-less: {@code {{name}}} for a value,
 * {@code {{#actions}}- {{.}}{{/actions}}} for each line of a list), plain text without HTML
 * escaping. The defaults follow the DR plan's "Initial Incident Notice" and "Resolution
 * Notice"; each can be replaced by a file.
 *
 * <p>Variables: {@code id}, {@code title}, {@code kind}, {@code severity}, {@code target},
 * {@code affectedSystems}, {@code startTime}, {@code endTime}, {@code duration}, {@code impact},
 * {@code rootCause}, {@code status}, {@code actions} (a list), {@code nextUpdate}, {@code host}.
 * A variable that is not set renders empty; a name that is not a variable is an error when the
 * template is loaded, so a typo fails at startup rather than in the middle of an incident.
 *
 * <p>Immutable and thread-safe.
 */
public final class NoticeTemplates {
    private static final Mustache.Compiler COMPILER =
            Mustache.compiler().escapeHTML(false).nullValue("");
    private static final int MAX_TEMPLATE_BYTES = 64 * 1024;

    private final Map<Notice.Type, Template> templates;

    private NoticeTemplates(Map<Notice.Type, Template> templates) {
        this.templates = new EnumMap<>(templates);
    }

    /** The built-in templates. */
    public static NoticeTemplates defaults() {
        return of(Map.of());
    }

    /**
     * Templates read from files (UTF-8), the built-in ones for the types not given.
     *
     * @param files per notice type, a Mustache template file
     * @throws ConfigException when a file cannot be read, is larger than 64 KiB, is not a valid
     *     template, or names a variable that does not exist
     */
    public static NoticeTemplates of(Map<Notice.Type, Path> files) {
        Map<Notice.Type, Template> out = new EnumMap<>(Notice.Type.class);
        for (Notice.Type type : Notice.Type.values()) {
            Path file = files.get(type);
            out.put(type, file == null ? builtIn(type) : fromFile(type, file));
        }
        return new NoticeTemplates(out);
    }

    /**
     * Renders a notice.
     *
     * @param type which notice
     * @param incident the incident as it stands
     * @param now when the notice is made
     * @param nextUpdate when the next update is due, or null
     */
    public Notice render(Notice.Type type, Incident incident, Instant now, Instant nextUpdate) {
        String text = templates.get(type).execute(variables(incident, now, nextUpdate));
        String title = switch (type) {
            case INITIAL -> "[" + incident.severity() + "] " + incident.title();
            case UPDATE -> "[" + incident.severity() + "] Update: " + incident.title();
            case RESOLUTION -> "[RESOLVED] " + incident.title();
        };
        return new Notice(type, incident, title, text, now, nextUpdate);
    }

    static Map<String, Object> variables(Incident i, Instant now, Instant nextUpdate) {
        Map<String, Object> v = new LinkedHashMap<>();
        v.put("id", i.id());
        v.put("title", i.title());
        v.put("kind", i.kind().slug());
        v.put("severity", i.severity().name());
        v.put("target", i.target());
        v.put("affectedSystems", i.target());
        v.put("startTime", i.startedAt().toString());
        v.put("endTime", i.endedAt() == null ? null : i.endedAt().toString());
        v.put("duration", human(i.duration(now)));
        v.put("impact", i.impact());
        v.put("rootCause", i.rootCause());
        v.put("status", i.status());
        v.put("actions", i.actions());
        v.put("nextUpdate", nextUpdate == null ? null : nextUpdate.toString());
        v.put("host", Hosts.name());
        return v;
    }

    /** {@code 1h 5min}, {@code 3min 20s}, {@code 12s}. */
    static String human(Duration d) {
        long s = Math.max(0, d.toSeconds());
        if (s >= 86_400) {
            return s / 86_400 + "d " + (s % 86_400) / 3600 + "h";
        }
        if (s >= 3600) {
            return s / 3600 + "h " + (s % 3600) / 60 + "min";
        }
        if (s >= 60) {
            return s / 60 + "min " + s % 60 + "s";
        }
        return s + "s";
    }

    private static Template builtIn(Notice.Type type) {
        String name = type.name().toLowerCase(Locale.ROOT) + ".mustache";
        try (InputStream in = NoticeTemplates.class.getResourceAsStream(name)) {
            if (in == null) {
                throw new IllegalStateException(
                        "the built-in notice template " + name + " is missing from dr-incident");
            }
            return COMPILER.compile(new String(in.readAllBytes(), StandardCharsets.UTF_8));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static Template fromFile(Notice.Type type, Path file) {
        String where = "the " + type.name().toLowerCase(Locale.ROOT) + " notice template " + file;
        String text;
        // read up to the limit rather than trusting Files.size: a device or a pipe has size 0 and no end
        try (InputStream in = Files.newInputStream(file)) {
            byte[] bytes = in.readNBytes(MAX_TEMPLATE_BYTES + 1);
            if (bytes.length > MAX_TEMPLATE_BYTES) {
                throw new ConfigException(where + " is larger than 64 KiB; a notice template is a page of text");
            }
            text = new String(bytes, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new ConfigException("cannot read " + where + " (" + e.getMessage()
                    + "); check that it exists and that this user may read it");
        }
        try {
            Template t = COMPILER.compile(text);
            Instant sample = Instant.EPOCH;
            Incident probe = new Incident(
                    "drkit-sample",
                    Incident.Kind.RPO_AT_RISK,
                    "sample",
                    Incident.Severity.ERROR,
                    sample,
                    sample,
                    "",
                    "",
                    "",
                    List.of("sample"),
                    sample);
            t.execute(variables(probe, sample, sample)); // an unknown name fails now, not during an incident
            return t;
        } catch (MustacheException e) {
            throw new ConfigException(where + ": " + e.getMessage() + " (variables: id, title, kind, severity, "
                    + "target, affectedSystems, startTime, endTime, duration, impact, rootCause, status, "
                    + "actions, nextUpdate, host)");
        }
    }
}
