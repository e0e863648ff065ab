package dev.drkit.redis;

import java.nio.charset.StandardCharsets;
import java.util.regex.Pattern;

/** A Redis glob ({@code *}, {@code ?}, {@code [a-z]}, {@code [^x]}, {@code \} escapes) over key bytes. */
final class KeyPattern {
    private final Pattern regex;
    private final String glob;

    private KeyPattern(String glob) {
        this.glob = glob;
        this.regex = Pattern.compile(toRegex(glob), Pattern.DOTALL);
    }

    /** The pattern, or null (everything) for null or {@code *}. */
    static KeyPattern of(String glob) {
        return glob == null || glob.equals("*") ? null : new KeyPattern(glob);
    }

    boolean matches(byte[] key) {
        return regex.matcher(new String(key, StandardCharsets.ISO_8859_1)).matches();
    }

    String glob() {
        return glob;
    }

    private static String toRegex(String glob) {
        // keys are compared as ISO-8859-1 text, byte for byte, so the glob is converted the same way
        String g = new String(glob.getBytes(StandardCharsets.UTF_8), StandardCharsets.ISO_8859_1);
        StringBuilder r = new StringBuilder();
        for (int i = 0; i < g.length(); i++) {
            char c = g.charAt(i);
            switch (c) {
                case '*' -> r.append(".*");
                case '?' -> r.append('.');
                case '\\' -> {
                    if (i + 1 < g.length()) {
                        r.append(Pattern.quote(String.valueOf(g.charAt(++i))));
                    }
                }
                case '[' -> {
                    int end = g.indexOf(']', i + 1);
                    if (end < 0) {
                        r.append("\\[");
                        break;
                    }
                    String set = g.substring(i + 1, end);
                    boolean negate = set.startsWith("^");
                    if (negate) {
                        set = set.substring(1);
                    }
                    r.append(negate ? "[^" : "[");
                    for (char s : set.toCharArray()) {
                        if (s == '-' || Character.isLetterOrDigit(s)) {
                            r.append(s);
                        } else {
                            r.append('\\').append(s); // escaping a non-letter is always literal in a class
                        }
                    }
                    r.append(']');
                    i = end;
                }
                default -> r.append(Pattern.quote(String.valueOf(c)));
            }
        }
        return r.toString();
    }
}
