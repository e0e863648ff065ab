package dev.drkit.postgres;

import dev.drkit.BackupManifest;
import dev.drkit.BackupNotFoundException;
import dev.drkit.ChecksumMismatchException;
import dev.drkit.CorruptDataException;
import dev.drkit.spi.BackupContext;
import dev.drkit.spi.support.TarWriter;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.Reader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.regex.Pattern;
import java.util.zip.CRC32C;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@link PostgresPhysicalTarget#FILE_LIST}: every data file of a base backup with its size,
 * mtime, CRC32C and the backup and tar that hold its bytes; and the choice, for an incremental
 * backup, of which files the previous backups already hold.
 */
final class FileList {
    /** Files changed this close to the previous backup's start are copied again: mtime granularity. */
    private static final Duration MTIME_SLACK = Duration.ofSeconds(2);

    private static final Logger LOG = LoggerFactory.getLogger(FileList.class);

    /**
     * One line of the file list: a file, the backup and tar artifact that hold its whole bytes
     * (for an incremental's unchanged file, an earlier backup's), and, for a file stored page
     * by page, the page delta artifacts ("backup/artifact", oldest first) that rebuild it from
     * there; the CRC-32C is that of the file as rebuilt.
     */
    record FileEntry(
            String name, long size, long mtime, String crc32c, String backup, String artifact, List<String> deltas) {
        private static final Pattern DELTA = Pattern.compile("[A-Za-z0-9TZ-]{1,64}/pages-\\d{1,4}\\.bin");
        private static final Pattern BACKUP = Pattern.compile("[A-Za-z0-9TZ-]{1,64}");
        private static final Pattern TAR = Pattern.compile("data-\\d{1,4}\\.tar");

        FileEntry {
            deltas = List.copyOf(deltas);
        }

        String line() {
            if (!DataDirectoryScan.listable(name)) { // the scan leaves such names out
                throw new IllegalArgumentException("a file list line cannot hold the name " + name);
            }
            String line = name + "\t" + size + "\t" + mtime + "\t" + crc32c + "\t" + backup + "\t" + artifact;
            return deltas.isEmpty() ? line : line + "\t" + String.join(",", deltas);
        }

        /** This file rebuilt from this entry's pieces plus the deltas in {@code backupId}'s artifact. */
        FileEntry plusDelta(String backupId, String deltaArtifact, long newSize, long newMtime, String newCrc) {
            List<String> more = new ArrayList<>(deltas);
            more.add(backupId + "/" + deltaArtifact);
            return new FileEntry(name, newSize, newMtime, newCrc, backup, artifact, more);
        }

        static FileEntry parse(String line) {
            String[] f = line.split("\t");
            if (f.length != 6 && f.length != 7) {
                throw new CorruptDataException("a line of the file list has " + f.length + " fields instead of 6 or 7; "
                        + "the backup is damaged, restore another one");
            }
            if (!relative(f[0])) {
                throw new CorruptDataException("the file list names a file '" + f[0] + "' that is not inside the "
                        + "data directory; the backup is damaged, restore another one");
            }
            if (!BACKUP.matcher(f[4]).matches() || !TAR.matcher(f[5]).matches()) {
                throw new CorruptDataException("the file list says " + f[0] + " is in '" + f[4] + "/" + f[5]
                        + "', which is no data tar of a backup; the backup is damaged, restore another one");
            }
            List<String> deltas = f.length == 7 ? List.of(f[6].split(",")) : List.of();
            for (String d : deltas) {
                if (!DELTA.matcher(d).matches()) {
                    throw new CorruptDataException("the file list names page deltas '" + d + "' for " + f[0]
                            + ", which is no delta artifact; the backup is damaged, restore another one");
                }
            }
            long size;
            long mtime;
            try {
                size = Long.parseLong(f[1]);
                mtime = Long.parseLong(f[2]);
            } catch (NumberFormatException e) {
                throw new CorruptDataException("the file list gives " + f[0] + " a size or time that is no number; "
                        + "the backup is damaged, restore another one");
            }
            if (size < 0) {
                throw new CorruptDataException("the file list gives " + f[0] + " a negative size (" + size + " bytes); "
                        + "the backup is damaged, restore another one");
            }
            return new FileEntry(f[0], size, mtime, f[3], f[4], f[5], deltas);
        }
    }

    /**
     * What a backup copies whole, the changed relation files it stores page by page against the
     * parent's page map (with the parent's hashes), and the unchanged files it takes from
     * earlier backups instead.
     */
    record Selection(List<TarWriter.Item> copy, Map<TarWriter.Item, long[]> paged, Map<String, FileEntry> referenced) {
        /** This selection with the changed files that {@code parentPages} maps stored page by page. */
        Selection byPage(Map<String, long[]> parentPages) {
            List<TarWriter.Item> whole = new ArrayList<>();
            Map<TarWriter.Item, long[]> byPage = new LinkedHashMap<>();
            for (TarWriter.Item item : copy) {
                long[] hashes = parentPages.get(item.name());
                if (hashes != null && item.kind() == TarWriter.Item.Kind.FILE && item.size() % PageMaps.PAGE == 0) {
                    byPage.put(item, hashes);
                } else {
                    whole.add(item);
                }
            }
            return new Selection(whole, byPage, referenced);
        }
    }

    private FileList() {}

    /** The previous backup's files, when it can serve as the base of an incremental one; else empty. */
    static Map<String, FileEntry> previousFiles(BackupContext context, String systemId) throws IOException {
        BackupManifest prev = context.previous().orElse(null);
        if (prev == null
                || prev.artifact(PostgresPhysicalTarget.FILE_LIST).isEmpty()
                || !systemId.equals(String.valueOf(prev.metadata().get("systemIdentifier")))) {
            LOG.info("no earlier base backup of this cluster to build on: taking a full backup");
            return Map.of();
        }
        if (Boolean.TRUE.equals(prev.metadata().get(BackupManifest.SYNTHETIC_FULL_DUE))) {
            // the synthetic full that should have followed it failed or was stopped: building on it
            // would grow the chain past setting 'max-chain', and on one that may not rebuild
            context.warn("no synthetic full backup followed backup " + prev.id() + ", which ended a chain as long "
                    + "as setting 'max-chain' allows: taking a full backup (a warning said why the synthetic full "
                    + "failed)");
            return Map.of();
        }
        Map<String, FileEntry> files = new HashMap<>();
        Set<String> holders = new TreeSet<>();
        try (InputStream in = context.openArtifact(prev, PostgresPhysicalTarget.FILE_LIST)) {
            for (FileEntry e : parse(in)) {
                files.put(e.name(), e);
                holders.add(e.backup());
                e.deltas().forEach(d -> holders.add(d.substring(0, d.indexOf('/'))));
            }
        } catch (CorruptDataException | ChecksumMismatchException | BackupNotFoundException e) {
            // as for damaged page maps below: one full backup, rather than every incremental failing on it
            LOG.warn("{}", e.getMessage());
            context.warn("the file list of backup " + prev.id() + ", on which an incremental builds, is damaged, so "
                    + "nothing can build on it: taking a full backup (check the repository)");
            return Map.of();
        }
        holders.remove(prev.id());
        for (String id : holders) {
            if (context.earlier(id).isEmpty()) {
                // building on it would make a backup that can never be restored
                context.warn("backup " + prev.id() + " takes files from backup " + id + ", which is gone or damaged, "
                        + "so it cannot be restored and nothing can build on it: taking a full backup");
                return Map.of();
            }
        }
        // an incremental compares every page with these maps and carries them on: read them through
        // first, so that a damaged map costs one full backup instead of failing every incremental
        try {
            PageMaps.readAllThrough(prev, name -> context.openArtifact(prev, name));
        } catch (CorruptDataException | ChecksumMismatchException | BackupNotFoundException e) {
            LOG.warn("{}", e.getMessage());
            context.warn("the page maps of backup " + prev.id() + ", against which an incremental compares pages, "
                    + "are damaged, so nothing can build on it: taking a full backup (check the repository)");
            return Map.of();
        }
        return files;
    }

    /**
     * The longest line a file list may hold: a name of at most 4096 characters, its numbers, and
     * the page deltas of a chain of tens of thousands of backups.
     */
    static final int MAX_LINE = 4 << 20;

    /**
     * The entries of a file list, read a line at a time: the list comes from the repository, so
     * its size is whatever whoever wrote it chose, and only the entries are kept, never the text
     * whole (nor a line longer than {@link #MAX_LINE}).
     */
    static List<FileEntry> parse(InputStream in) throws IOException {
        List<FileEntry> entries = new ArrayList<>();
        Set<String> names = new HashSet<>();
        Reader text = new InputStreamReader(in, StandardCharsets.UTF_8);
        char[] buffer = new char[64 * 1024];
        StringBuilder line = new StringBuilder();
        for (int n; (n = text.read(buffer)) >= 0; ) {
            int start = 0;
            for (int i = 0; i < n; i++) {
                if (buffer[i] == '\n') {
                    line.append(buffer, start, i - start);
                    take(line, entries, names);
                    start = i + 1;
                }
            }
            line.append(buffer, start, n - start);
            if (line.length() > MAX_LINE) {
                throw lineTooLong();
            }
        }
        take(line, entries, names);
        return entries;
    }

    private static CorruptDataException lineTooLong() {
        return new CorruptDataException("the file list has a line longer than " + MAX_LINE + " characters, which no "
                + "backup writes; the backup is damaged, restore another one");
    }

    private static void take(StringBuilder line, List<FileEntry> entries, Set<String> names) {
        if (line.length() > MAX_LINE) {
            throw lineTooLong();
        }
        String text = line.toString();
        line.setLength(0);
        if (!text.isBlank()) {
            FileEntry e = FileEntry.parse(text);
            if (!names.add(e.name())) {
                throw new CorruptDataException(
                        "the file list names " + e.name() + " twice; the backup is " + "damaged, restore another one");
            }
            entries.add(e);
        }
    }

    /** A name relative to the data directory, in the form a scan gives: no empty, "." or ".." component. */
    private static boolean relative(String name) {
        if (name.isEmpty() || name.length() > 4096 || name.indexOf('\0') >= 0) {
            return false;
        }
        for (String part : name.split("/", -1)) {
            if (part.isEmpty() || part.equals(".") || part.equals("..")) {
                return false;
            }
        }
        return true;
    }

    /**
     * Files whose size and mtime are those in {@code previous} and that were last changed
     * before {@code previousStart} are referenced, the others copied; with
     * {@code compareChecksums}, a referenced file's bytes must match its recorded CRC32C too.
     */
    static Selection select(
            List<TarWriter.Item> items,
            Map<String, FileEntry> previous,
            Instant previousStart,
            boolean compareChecksums)
            throws IOException {
        List<TarWriter.Item> copy = new ArrayList<>();
        Map<String, FileEntry> referenced = new TreeMap<>();
        for (TarWriter.Item item : items) {
            FileEntry before = item.kind() == TarWriter.Item.Kind.FILE ? previous.get(item.name()) : null;
            boolean same = before != null
                    && before.size() == item.size()
                    && before.mtime() == item.mtime().toMillis()
                    && item.mtime().toInstant().isBefore(previousStart.minus(MTIME_SLACK));
            if (same && compareChecksums) {
                // size and mtime can lie (a restored or touched file): compare the bytes too
                same = before.crc32c().equals(crc32c(item.path(), item.size()));
            }
            if (same) {
                referenced.put(item.name(), before);
            } else {
                copy.add(item);
            }
        }
        return new Selection(copy, Map.of(), referenced);
    }

    /**
     * The file list entries of a backup that copied {@code selection}'s files (whole or page by page,
     * stored as {@code stored}) and references the rest.
     */
    static List<FileEntry> entries(
            String backupId,
            Selection selection,
            Map<String, ParallelTarWriter.Stored> stored,
            Map<String, FileEntry> previous) {
        List<FileEntry> all = new ArrayList<>(selection.referenced().values());
        for (TarWriter.Item item : selection.copy()) {
            if (item.kind() == TarWriter.Item.Kind.FILE) {
                ParallelTarWriter.Stored where = stored.get(item.name());
                all.add(new FileEntry(
                        item.name(),
                        item.size(),
                        item.mtime().toMillis(),
                        where.crc32c(),
                        backupId,
                        where.artifact(),
                        List.of()));
            }
        }
        for (TarWriter.Item item : selection.paged().keySet()) {
            ParallelTarWriter.Stored where = stored.get(item.name());
            if (where != null) { // else it vanished before it was read: WAL replay drops it too
                all.add(previous.get(item.name())
                        .plusDelta(
                                backupId,
                                where.artifact(),
                                item.size(),
                                item.mtime().toMillis(),
                                where.crc32c()));
            }
        }
        all.sort(Comparator.comparing(FileEntry::name));
        return all;
    }

    /** The file list's text. */
    static String format(List<FileEntry> entries) {
        StringBuilder b = new StringBuilder();
        entries.forEach(e -> b.append(e.line()).append('\n'));
        return b.toString();
    }

    /** CRC32C (hex) of a file's first {@code size} bytes, zero-padded like the tar copy; null when it is gone. */
    static String crc32c(Path file, long size) throws IOException {
        CRC32C crc = new CRC32C();
        byte[] buffer = new byte[1 << 16];
        long left = size;
        try (InputStream in = Files.newInputStream(file)) {
            while (left > 0) {
                int n = in.read(buffer, 0, (int) Math.min(buffer.length, left));
                if (n < 0) {
                    break;
                }
                crc.update(buffer, 0, n);
                left -= n;
            }
        } catch (NoSuchFileException e) {
            return null;
        }
        Arrays.fill(buffer, (byte) 0);
        while (left > 0) {
            int n = (int) Math.min(buffer.length, left);
            crc.update(buffer, 0, n);
            left -= n;
        }
        return String.format("%08x", crc.getValue());
    }
}
