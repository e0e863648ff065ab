package dev.drkit.files;

import dev.drkit.ArtifactInfo;
import dev.drkit.DrException;
import dev.drkit.VerificationResult;
import dev.drkit.VerifyLevel;
import dev.drkit.spi.OptionSchema;
import dev.drkit.spi.VerificationContext;
import dev.drkit.spi.Verifier;
import dev.drkit.spi.support.TarEntryReader;
import dev.drkit.spi.support.TarEntryReader.Entry;
import dev.drkit.spi.support.TarEntryReader.Kind;
import dev.drkit.spi.support.TarPlacement;
import dev.drkit.spi.support.TargetVerifierProvider;
import java.io.IOException;
import java.io.InputStream;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * {@code files-archive} (level decode): walks a {@code files} backup's {@code files.tar} to
 * its end-of-archive marker with the rules a restore applies ({@link TarEntryReader},
 * {@link TarPlacement}), without writing anything, and compares the entries counted with the
 * {@code files}, {@code directories}, {@code symlinks} and {@code bytes} the manifest records. A
 * backup that passes restores without an archive error. Memory grows with the number of entry
 * names (to check placement), not with the data.
 */
public final class FilesArchiveVerifier implements Verifier {
    /** The verifier's name. */
    public static final String NAME = "files-archive";

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public VerificationResult verify(VerificationContext context) throws IOException {
        VerificationResult.Timer timer = VerificationResult.start(NAME);
        List<String> problems = new ArrayList<>();
        Map<String, Object> details = new LinkedHashMap<>();
        String backup = context.manifest().target() + "/" + context.manifest().id();
        ArtifactInfo artifact =
                context.manifest().artifact(FilesBackupTarget.ARTIFACT).orElse(null);
        if (artifact == null) {
            problems.add("backup " + backup + " has no " + FilesBackupTarget.ARTIFACT + "; it cannot be restored");
        } else {
            String what = FilesBackupTarget.ARTIFACT + " of backup " + backup;
            try (InputStream in = context.openDecoded(artifact)) {
                Counts counts = walk(in, what);
                details.putAll(counts.asMap());
                compare(context.manifest().metadata(), counts, what, problems);
            } catch (DrException e) {
                String m = e.getMessage();
                problems.add(m.contains(what) ? m : what + ": " + m);
            }
        }
        return timer.result(problems, details);
    }

    /** Reads the whole archive as a restore would, counting what it would restore. */
    static Counts walk(InputStream in, String what) throws IOException {
        TarEntryReader reader = new TarEntryReader(in, what);
        Map<String, Kind> seen = new HashMap<>();
        Counts c = new Counts();
        byte[] buffer = new byte[256 * 1024];
        Entry e;
        while ((e = reader.next()) != null) {
            if (!e.kind().restored()) {
                c.special++;
                continue;
            }
            TarPlacement.check(e, seen::get);
            for (int i = e.name().indexOf('/'); i >= 0; i = e.name().indexOf('/', i + 1)) {
                seen.putIfAbsent(e.name().substring(0, i), Kind.DIRECTORY);
            }
            seen.put(e.name(), TarPlacement.standing(e.kind()));
            if (e.setIdStripped()) {
                c.setId++;
            }
            switch (e.kind()) {
                case FILE -> {
                    c.files++;
                    int n;
                    while ((n = reader.read(buffer)) >= 0) {
                        c.bytes += n;
                    }
                }
                case DIRECTORY -> c.directories++;
                case SYMLINK -> c.symlinks++;
                default -> c.hardlinks++;
            }
        }
        return c;
    }

    private static void compare(Map<String, Object> metadata, Counts counts, String what, List<String> problems) {
        Map<String, Long> actual = counts.recorded();
        for (Map.Entry<String, Long> a : actual.entrySet()) {
            Object recorded = metadata.get(a.getKey());
            if (recorded instanceof Number n && n.longValue() != a.getValue()) {
                problems.add(what + " holds " + a.getValue() + " " + a.getKey() + " but the manifest records "
                        + n.longValue() + "; the archive does not match its backup, restore another one");
            }
        }
        if (counts.special > 0) {
            problems.add(what + " holds " + counts.special + " device or FIFO entries, which a files backup never "
                    + "writes and a restore skips; the archive does not match its backup");
        }
    }

    /** What an archive holds. */
    static final class Counts {
        long files;
        long directories;
        long symlinks;
        long hardlinks;
        long bytes;
        long special;
        long setId;

        /** The figures a files backup records in its manifest. */
        Map<String, Long> recorded() {
            Map<String, Long> m = new LinkedHashMap<>();
            m.put("files", files);
            m.put("directories", directories);
            m.put("symlinks", symlinks);
            m.put("bytes", bytes);
            return m;
        }

        Map<String, Object> asMap() {
            Map<String, Object> m = new LinkedHashMap<>(recorded());
            if (hardlinks > 0) {
                m.put("hardlinks", hardlinks);
            }
            if (special > 0) {
                m.put("skippedSpecialFiles", special);
            }
            if (setId > 0) {
                m.put("setIdBitsStripped", setId);
            }
            return m;
        }
    }

    /** Provides {@code files-archive} at level decode for {@code files} backups. */
    public static final class Provider extends TargetVerifierProvider {
        public Provider() {
            super(
                    NAME,
                    VerifyLevel.DECODE,
                    FilesBackupTargetProvider.TYPE,
                    OptionSchema.none(),
                    settings -> new FilesArchiveVerifier());
        }
    }
}
