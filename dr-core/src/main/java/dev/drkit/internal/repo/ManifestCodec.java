package dev.drkit.internal.repo;

import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectReader;
import dev.drkit.ArtifactInfo;
import dev.drkit.BackupManifest;
import dev.drkit.DamagedBackupException;
import dev.drkit.DrException;
import dev.drkit.spi.support.BackupIds;
import dev.drkit.spi.support.Json;
import dev.drkit.spi.support.Sha256;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.Arrays;
import java.util.HashSet;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * Writes manifests with their checksum and reads them back as input from a possible attacker:
 * the checksum file must match, the JSON must parse, and what the manifest says must agree
 * with where it is stored (target, id, the id's timestamp) and name nothing outside its own
 * backup. Internal to drkit.
 */
public final class ManifestCodec {
    /** The checksum file beside every manifest (and the repository configuration). */
    public static final String CHECKSUM_SUFFIX = RepositoryLayout.SHA256_SUFFIX;

    private static final Pattern HEX64 = Pattern.compile("[0-9a-f]{64}");
    // a key given twice or bytes after the document mean two readers could see two manifests
    private static final ObjectReader STRICT = Json.mapper()
            .readerFor(BackupManifest.class)
            .with(StreamReadFeature.STRICT_DUPLICATE_DETECTION)
            .with(DeserializationFeature.FAIL_ON_TRAILING_TOKENS);
    private static final Pattern HEX8 = Pattern.compile("[0-9a-f]{8}");

    private ManifestCodec() {}

    /** The content of the checksum file of a document stored as {@code fileName}. */
    public static byte[] checksumFile(byte[] document, String fileName) {
        return Sha256.sidecar(Sha256.hex(document, 0, document.length), fileName)
                .getBytes(StandardCharsets.US_ASCII);
    }

    /**
     * Checks a stored document against its checksum file; null when they agree, else the
     * reason. A missing checksum file ({@code checksum} null) is not checked here.
     */
    public static String checksumProblem(byte[] document, byte[] checksum, String fileName) {
        if (checksum == null) {
            return null;
        }
        byte[] expected = checksumFile(document, fileName);
        if (Arrays.equals(expected, checksum)) {
            return null;
        }
        String given = new String(checksum, StandardCharsets.US_ASCII);
        return given.startsWith(new String(expected, 0, 64, StandardCharsets.US_ASCII))
                ? "its checksum file " + fileName + CHECKSUM_SUFFIX + " is malformed"
                : "its content does not match its checksum file " + fileName + CHECKSUM_SUFFIX;
    }

    /**
     * Reads a manifest stored at {@code backups/<target>/<id>/manifest.json}.
     *
     * @param checksum the content of {@code manifest.json.sha256}, or null when there is none
     * @throws DamagedBackupException naming the reason when the manifest cannot be trusted
     */
    public static BackupManifest read(String target, String id, byte[] json, byte[] checksum) {
        String problem = checksumProblem(json, checksum, RepositoryLayout.MANIFEST);
        if (problem != null) {
            throw damaged(target, id, problem);
        }
        BackupManifest m;
        try {
            m = STRICT.readValue(json);
        } catch (JacksonException e) {
            JsonLocation at = e.getLocation();
            throw damaged(
                    target,
                    id,
                    "it is not a valid manifest document"
                            + (at == null || at.getLineNr() < 0
                                    ? ""
                                    : " (line " + at.getLineNr() + ", column " + at.getColumnNr() + ")"));
        } catch (IOException | RuntimeException e) {
            throw damaged(target, id, "it is not a valid manifest document");
        }
        if (m == null) {
            throw damaged(target, id, "it is empty");
        }
        if (m.format() > BackupManifest.FORMAT) {
            throw new DrException(
                    DrException.ErrorCode.REPOSITORY_FORMAT,
                    "backup " + target
                            + "/" + id + " has manifest format " + m.format() + " but this drkit reads up to "
                            + BackupManifest.FORMAT + "; upgrade drkit to read it");
        }
        if (checksum == null && m.format() >= 2) {
            throw damaged(
                    target, id, "its checksum file " + RepositoryLayout.MANIFEST + CHECKSUM_SUFFIX + " is missing");
        }
        String mismatch = contentProblem(target, id, m);
        if (mismatch != null) {
            throw damaged(target, id, mismatch);
        }
        return m;
    }

    /** What in a parsed manifest disagrees with where it is stored or with itself; null when nothing. */
    static String contentProblem(String target, String id, BackupManifest m) {
        if (!id.equals(m.id())) {
            return "it names backup " + printable(m.id());
        }
        if (!target.equals(m.target())) {
            return "it names target " + printable(m.target());
        }
        if (m.startedAt() == null || m.finishedAt() == null) {
            return "it has no start or end time";
        }
        Instant idTime;
        try {
            idTime = BackupIds.time(id);
        } catch (RuntimeException e) {
            return "its backup id does not name a valid time";
        }
        if (!idTime.equals(m.startedAt().truncatedTo(ChronoUnit.SECONDS))) {
            return "its start time " + m.startedAt() + " disagrees with the backup id";
        }
        if (m.finishedAt().isBefore(m.startedAt())) {
            return "it finished before it started";
        }
        if (!BackupIds.isValidName(m.type()) || m.kind() == null || m.kind().isBlank()) {
            return "it has no valid type or kind";
        }
        if (m.parent() != null && !BackupIds.isValid(m.parent())) {
            return "its parent '" + printable(m.parent()) + "' is not a backup id";
        }
        for (String dep : m.dependsOn()) {
            if (!BackupIds.isValid(dep)) {
                return "its dependency '" + printable(dep) + "' is not a backup id";
            }
        }
        if (m.artifacts().isEmpty()) {
            return "it lists no artifact";
        }
        Set<String> names = new HashSet<>();
        for (ArtifactInfo a : m.artifacts()) {
            String bad = artifactProblem(a);
            if (bad != null) {
                return bad;
            }
            if (!names.add(a.storedName()) || !names.add("name:" + a.name())) {
                return "it lists artifact " + a.name() + " twice";
            }
        }
        return null;
    }

    private static String artifactProblem(ArtifactInfo a) {
        if (!BackupIds.isValidArtifactName(a.name())
                || !BackupIds.isValidArtifactName(a.storedName())
                || !a.storedName().startsWith(a.name())) {
            return "it lists an artifact with an invalid name";
        }
        if (a.rawSize() < 0 || a.storedSize() < 0) {
            return "artifact " + a.name() + " has a negative size";
        }
        if (!HEX64.matcher(a.sha256()).matches()
                || (a.rawCrc32c() != null && !HEX8.matcher(a.rawCrc32c()).matches())) {
            return "artifact " + a.name() + " has a malformed checksum";
        }
        return null;
    }

    /**
     * A value read from the repository, fit to print: control characters (line breaks,
     * terminal escapes) become {@code ?} and it is cut at 100 characters, so that a forged
     * document cannot write lines of its own into a report.
     */
    public static String printable(String value) {
        if (value == null) {
            return "null";
        }
        StringBuilder b = new StringBuilder();
        value.codePoints()
                .limit(100)
                .forEach(c -> b.appendCodePoint(
                        Character.isISOControl(c) || Character.getType(c) == Character.FORMAT ? '?' : c));
        return value.codePointCount(0, value.length()) > 100 ? b + "..." : b.toString();
    }

    private static DamagedBackupException damaged(String target, String id, String reason) {
        return new DamagedBackupException(target, id, reason);
    }
}
