package dev.drkit.postgres;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Exact row counts of every user table in the backup's snapshot, keyed
 * {@code quote_ident(schema).quote_ident(table)} as the restore test looks them up. A table's
 * count is what {@code SELECT count(*)} on it returns: its own rows and those of all its
 * partitions and inheritance children.
 *
 * <p>The counts come from the archive pg_dump writes (see {@link PgDumpRowCounter}), which holds
 * every row of the snapshot once, so no second scan is needed. A table whose rows the archive
 * cannot tell exactly (an extension's table, which pg_dump leaves out or filters; a foreign or
 * temporary child; a name in another encoding) is counted with a query, and so is every table if
 * the archive was not understood: the snapshot's transaction is still open then, so the
 * numbers are the same.
 */
final class SnapshotRowCounts {
    private static final Logger LOG = LoggerFactory.getLogger(SnapshotRowCounts.class);

    /** A table, partition or inheritance child whose rows a counted table's count includes. */
    private record Member(PgDumpRowCounter.Table table, boolean inArchive) {}

    private final Map<String, List<Member>> tables;

    private SnapshotRowCounts(Map<String, List<Member>> tables) {
        this.tables = tables;
    }

    /** The tables to count and what each one's count is made of, read in the snapshot. */
    static SnapshotRowCounts plan(Connection jdbc, String encoding) throws SQLException {
        boolean utf8 = "UTF8".equalsIgnoreCase(encoding);
        Map<String, List<Member>> tables = new LinkedHashMap<>();
        try (Statement s = jdbc.createStatement();
                ResultSet rs = s.executeQuery("WITH RECURSIVE counted AS ("
                        + "SELECT c.oid, quote_ident(n.nspname) || '.' || quote_ident(c.relname) AS key FROM pg_class c "
                        + "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind IN ('r', 'p') "
                        + "AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_toast%' "
                        + "AND n.nspname NOT LIKE 'pg_temp%' AND NOT c.relispartition), "
                        + "tree (key, rel) AS (SELECT key, oid FROM counted UNION "
                        + "SELECT t.key, i.inhrelid FROM tree t JOIN pg_inherits i ON i.inhparent = t.rel) "
                        + "SELECT t.key, n.nspname, c.relname, c.relkind, c.relpersistence, EXISTS (SELECT 1 FROM pg_depend d "
                        + "WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e') "
                        + "FROM tree t JOIN pg_class c ON c.oid = t.rel JOIN pg_namespace n ON n.oid = c.relnamespace "
                        + "ORDER BY t.key")) {
            while (rs.next()) {
                List<Member> members = tables.computeIfAbsent(rs.getString(1), k -> new ArrayList<>());
                String schema = rs.getString(2);
                String name = rs.getString(3);
                String relkind = rs.getString(4);
                if ("p".equals(relkind)) {
                    continue; // a partitioned table holds no rows of its own
                }
                boolean inArchive = "r".equals(relkind)
                        && !"t".equals(rs.getString(5))
                        && !rs.getBoolean(6)
                        && (utf8 || (isAscii(schema) && isAscii(name)));
                members.add(new Member(new PgDumpRowCounter.Table(schema, name), inArchive));
            }
        }
        return new SnapshotRowCounts(tables);
    }

    private static boolean isAscii(String s) {
        return s.chars().allMatch(c -> c < 0x80);
    }

    /** The table keys, in the order the counts are recorded. */
    List<String> keys() {
        return new ArrayList<>(tables.keySet());
    }

    /**
     * The counts, from the archive {@code counter} has seen completely where it can tell them, else
     * with a query on {@code jdbc}, which must still be in the snapshot's transaction.
     */
    Map<String, Long> count(Connection jdbc, PgDumpRowCounter counter) throws SQLException {
        Optional<Map<PgDumpRowCounter.Table, Long>> archived = counter.rows();
        if (archived.isEmpty()) {
            LOG.info(
                    "counting the rows of {} tables with queries in the backup's snapshot: {}",
                    tables.size(),
                    counter.failure());
        }
        Map<String, Long> counts = new LinkedHashMap<>();
        try (Statement s = jdbc.createStatement()) {
            for (Map.Entry<String, List<Member>> e : tables.entrySet()) {
                Optional<Long> fromArchive = archived.flatMap(rows -> sum(e.getValue(), rows));
                if (fromArchive.isPresent()) {
                    counts.put(e.getKey(), fromArchive.get());
                } else {
                    if (archived.isPresent()) {
                        LOG.debug("counting the rows of {} with a query: the archive does not tell them", e.getKey());
                    }
                    counts.put(e.getKey(), query(s, e.getKey()));
                }
            }
        }
        return counts;
    }

    private static Optional<Long> sum(List<Member> members, Map<PgDumpRowCounter.Table, Long> rows) {
        long total = 0;
        for (Member m : members) {
            Long n = m.inArchive() ? rows.get(m.table()) : null;
            if (n == null) {
                return Optional.empty();
            }
            total += n;
        }
        return Optional.of(total);
    }

    private static long query(Statement s, String key) throws SQLException {
        try (ResultSet rs = s.executeQuery("SELECT count(*) FROM " + key)) {
            rs.next();
            return rs.getLong(1);
        }
    }
}
