package dev.drkit.postgres;

import dev.drkit.spi.support.FileTrees;
import dev.drkit.spi.support.TarEntryReader;
import dev.drkit.spi.support.TarWriter;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What of a data directory goes into a base backup: everything but what PostgreSQL's own base
 * backups leave out (WAL, replication slots, statistics temp files, unlogged and temporary
 * relations, {@code postmaster.pid}, signal files, ...), with each tablespace's contents under
 * the name of its {@code pg_tblspc} link. {@code global/pg_control} is left out too: the
 * backup stores it apart so that a restore writes it last.
 */
final class DataDirectoryScan {
    /** Directories whose contents base backups leave out (the directories themselves are kept). */
    static final Set<String> EMPTY_DIRS = Set.of(
            "pg_wal",
            "pg_replslot",
            "pg_stat_tmp",
            "pg_dynshmem",
            "pg_notify",
            "pg_serial",
            "pg_snapshots",
            "pg_subtrans");
    /** Files base backups leave out, wherever they are. */
    private static final Set<String> SKIP_FILES = Set.of(
            "postmaster.pid",
            "postmaster.opts",
            "backup_label",
            "tablespace_map",
            "backup_manifest",
            "recovery.signal",
            "standby.signal",
            "recovery.conf",
            "pg_internal.init",
            "current_logfiles");

    private static final Logger LOG = LoggerFactory.getLogger(DataDirectoryScan.class);
    private static final Pattern TEMP_RELATION = Pattern.compile("t\\d+_\\d+(_\\w+)?(\\.\\d+)?");
    private static final Pattern RELATION_FILE = Pattern.compile("(\\d+)(_\\w+)?(\\.\\d+)?");

    private DataDirectoryScan() {}

    /** Lists what goes into the backup, directories first, with the standard exclusions. */
    static List<TarWriter.Item> scan(Path dataDir) throws IOException {
        List<TarWriter.Item> items = new ArrayList<>();
        scanTree(dataDir, dataDir, "", items);
        Path links = dataDir.resolve("pg_tblspc");
        if (Files.isDirectory(links)) {
            try (Stream<Path> s = Files.list(links)) {
                for (Path link : s.sorted().toList()) {
                    // a tablespace: its directory's contents, under the name of its link
                    Path location = link.toRealPath();
                    String prefix = "pg_tblspc/" + link.getFileName();
                    items.add(TarWriter.Item.of(location, prefix));
                    scanTree(dataDir, location, prefix + "/", items);
                }
            }
        }
        return items;
    }

    /** The tablespaces of a data directory: OID to location. */
    static Map<String, String> tablespaces(Path dataDir) throws IOException {
        Map<String, String> out = new TreeMap<>();
        Path links = dataDir.resolve("pg_tblspc");
        if (Files.isDirectory(links)) {
            try (Stream<Path> s = Files.list(links)) {
                for (Path link : s.toList()) {
                    out.put(link.getFileName().toString(), link.toRealPath().toString());
                }
            }
        }
        return out;
    }

    private static void scanTree(Path dataDir, Path root, String prefix, List<TarWriter.Item> items)
            throws IOException {
        List<Path> tree = tree(root, prefix.isEmpty());
        Set<String> unlogged = unloggedRelations(tree);
        for (Path p : tree) {
            if (p.equals(root)) {
                continue;
            }
            String rel = prefix + root.relativize(p);
            boolean skip = prefix.isEmpty()
                    ? excluded(dataDir, p, unlogged) || rel.startsWith("pg_tblspc/")
                    : excludedRelation(p, unlogged);
            if (skip) {
                continue;
            }
            if (!listable(rel)) {
                // PostgreSQL never makes such a name; a file list line cannot hold it, and a backup
                // whose list could not be read back could never be restored
                LOG.warn(
                        "leaves {} out of the backup: its name holds a tab or a line break, which the backup's "
                                + "file list cannot record",
                        TarEntryReader.printable(rel));
                continue;
            }
            if (rel.equals("postgresql.auto.conf") && Files.isSymbolicLink(p)) {
                // a restore writes its recovery settings into it and never through a link: the
                // contents go in as a file of that name (ALTER SYSTEM replaces such a link anyway)
                LOG.info("stores postgresql.auto.conf, a link to {}, as a file with its contents", p.toRealPath());
                items.add(TarWriter.Item.of(p.toRealPath(), rel));
                continue;
            }
            try {
                items.add(TarWriter.Item.of(p, rel));
            } catch (NoSuchFileException e) {
                // dropped while we listed: WAL replay recreates what matters
            }
        }
    }

    /**
     * Every path under {@code root}, sorted (see {@link FileTrees#list}): the server keeps
     * creating and removing files while it runs (WAL segments, {@code archive_status} markers,
     * temporary files, dropped relations), and what vanishes while listed is left out (WAL
     * replay recreates what matters). In a data directory, the contents of the directories
     * whose contents base backups leave out are not walked.
     */
    static List<Path> tree(Path root, boolean dataDirectory) throws IOException {
        return FileTrees.list(root, dir -> {
            Path rel = root.relativize(dir);
            return !dataDirectory
                    || rel.getNameCount() < 2
                    || !EMPTY_DIRS.contains(rel.getName(0).toString());
        });
    }

    /** Relations with an init fork ("directory/relfilenode"): unlogged ones. */
    private static Set<String> unloggedRelations(List<Path> tree) {
        Set<String> unlogged = new HashSet<>();
        for (Path p : tree) {
            String name = p.getFileName() == null ? "" : p.getFileName().toString();
            Matcher m = RELATION_FILE.matcher(name);
            if (name.endsWith("_init") && m.matches()) {
                unlogged.add(p.getParent() + "/" + m.group(1));
            }
        }
        return unlogged;
    }

    /** Whether a name can go into the backup's file list: one line, tab-separated fields. */
    static boolean listable(String name) {
        return name.indexOf('\t') < 0 && name.indexOf('\n') < 0 && name.indexOf('\r') < 0;
    }

    /** Temporary files and relations, and unlogged relations but for their init fork. */
    private static boolean excludedRelation(Path p, Set<String> unlogged) {
        String name = p.getFileName().toString();
        if (name.startsWith("pgsql_tmp") || TEMP_RELATION.matcher(name).matches()) {
            return true;
        }
        Matcher m = RELATION_FILE.matcher(name);
        return m.matches() && !"_init".equals(m.group(2)) && unlogged.contains(p.getParent() + "/" + m.group(1));
    }

    private static boolean excluded(Path dataDir, Path p, Set<String> unlogged) {
        Path rel = dataDir.relativize(p);
        String name = p.getFileName().toString();
        String top = rel.getName(0).toString();
        if (EMPTY_DIRS.contains(top)) {
            if (rel.getNameCount() == 1) {
                return Files.isSymbolicLink(p); // a linked pg_wal becomes a plain directory on restore
            }
            return !rel.toString().equals("pg_wal/archive_status"); // contents left out
        }
        if (rel.toString().equals("global/pg_control")) {
            return true; // stored apart, restored last
        }
        if (rel.getNameCount() == 1 && SKIP_FILES.contains(name) || name.equals("pg_internal.init")) {
            return true;
        }
        return excludedRelation(p, unlogged);
    }
}
