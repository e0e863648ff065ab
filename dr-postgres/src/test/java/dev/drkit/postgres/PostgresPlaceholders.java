package dev.drkit.postgres;

/** How PostgreSQL 16 and later expand archive_command and restore_command (replace_percent_placeholders). */
final class PostgresPlaceholders {
    private PostgresPlaceholders() {}

    /**
     * {@code command} with %f as {@code name}, %p as {@code path}, %r as a segment name and %%
     * as one %; any other % is refused, as PostgreSQL 16+ refuses the setting (up to 15 it kept
     * it as it is).
     */
    static String expand(String command, String name, String path) {
        StringBuilder b = new StringBuilder();
        for (int i = 0; i < command.length(); i++) {
            char c = command.charAt(i);
            if (c != '%') {
                b.append(c);
                continue;
            }
            char n = i + 1 < command.length() ? command.charAt(++i) : '\0';
            switch (n) {
                case '%' -> b.append('%');
                case 'f' -> b.append(name);
                case 'p' -> b.append(path);
                case 'r' -> b.append("000000010000000000000001");
                default -> throw new IllegalArgumentException("unexpected placeholder \"%" + n + "\" in " + command);
            }
        }
        return b.toString();
    }
}
