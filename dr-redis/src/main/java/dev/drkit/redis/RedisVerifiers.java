package dev.drkit.redis;

import dev.drkit.ArtifactInfo;
import dev.drkit.DrException;
import dev.drkit.Settings;
import dev.drkit.VerificationResult;
import dev.drkit.VerificationResult.Status;
import dev.drkit.VerifyLevel;
import dev.drkit.spi.VerificationContext;
import dev.drkit.spi.Verifier;
import dev.drkit.spi.VerifierProvider;
import java.io.IOException;
import java.io.InputStream;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Verifiers for {@code redis} backups. {@code redis-rdb} (level decode) walks the stored
 * {@code dump.rdb} from the magic through every opcode to EOF, checks the CRC-64 trailer (a
 * zero trailer, written by a server with {@code rdbchecksum no}, leaves the file
 * unverified rather than valid) and compares the key count per database with the manifest.
 */
public final class RedisVerifiers {
    private RedisVerifiers() {
    }

    /** Provides {@code redis-rdb} at level decode. */
    public static final class RdbProvider implements VerifierProvider {
        @Override
        public String name() {
            return "redis-rdb";
        }

        @Override
        public VerifyLevel level() {
            return VerifyLevel.DECODE;
        }

        @Override
        public boolean supports(String targetType) {
            return RedisTargetProvider.TYPE.equals(targetType);
        }

        @Override
        public Verifier create(Settings settings) {
            return new RdbVerifier();
        }
    }

    static final class RdbVerifier implements Verifier {
        @Override
        public String name() {
            return "redis-rdb";
        }

        @Override
        public VerificationResult verify(VerificationContext context) throws IOException {
            long start = System.nanoTime();
            ArtifactInfo artifact = context.manifest().artifact(RedisTarget.ARTIFACT).orElse(null);
            List<String> problems = new ArrayList<>();
            Map<String, Object> details = new LinkedHashMap<>();
            Status status = Status.PASSED;
            if (artifact == null) {
                problems.add("the backup has no " + RedisTarget.ARTIFACT);
                return result(start, Status.FAILED, problems, details);
            }
            String source = RedisTarget.ARTIFACT + " of backup " + context.manifest().id();
            try (InputStream in = context.openDecoded(artifact)) {
                RdbParser.Summary s = new RdbParser(in, null, source, false, false).parse(null);
                if (in.read() >= 0) {
                    problems.add(source + " has bytes after the end of the RDB");
                }
                in.transferTo(java.io.OutputStream.nullOutputStream());
                details.put("rdbVersion", s.version);
                details.put("keys", s.keys);
                details.put("checksum", s.checksum.name().toLowerCase(java.util.Locale.ROOT));
                switch (s.checksum) {
                    case MISMATCH -> problems.add(source + " fails its CRC-64 check (trailer "
                            + Long.toHexString(s.storedCrc) + ", computed " + Long.toHexString(s.computedCrc) + ")");
                    case ABSENT, NONE -> {
                        status = Status.UNVERIFIED;
                        problems.add(source + " carries no CRC-64 (the server runs with rdbchecksum no, or the RDB "
                                + "version predates checksums): its structure is intact but its values are unchecked");
                    }
                    default -> {
                    }
                }
                compareKeys(context.manifest().metadata(), s, problems);
            } catch (DrException e) {
                problems.add(e.getMessage());
            }
            if (problems.stream().anyMatch(p -> !p.contains("carries no CRC-64"))) {
                status = Status.FAILED;
            }
            return result(start, status, problems, details);
        }

        @SuppressWarnings("unchecked")
        private static void compareKeys(Map<String, Object> metadata, RdbParser.Summary s, List<String> problems) {
            Object recorded = metadata.get("keysPerDb");
            if (!(recorded instanceof Map)) {
                problems.add("the manifest records no key counts to compare with");
                return;
            }
            Map<String, Long> actual = s.keysPerDbAsStrings();
            Map<String, Object> expected = (Map<String, Object>) recorded;
            java.util.Set<String> dbs = new java.util.TreeSet<>(expected.keySet());
            dbs.addAll(actual.keySet());
            for (String db : dbs) {
                long want = expected.get(db) instanceof Number n ? n.longValue() : 0;
                long have = actual.getOrDefault(db, 0L);
                if (want != have) {
                    problems.add("database " + db + " holds " + have + " keys in the RDB but the manifest records "
                            + want);
                }
            }
        }

        private VerificationResult result(long start, Status status, List<String> problems, Map<String, Object> details) {
            return new VerificationResult(name(), status, problems, Duration.ofNanos(System.nanoTime() - start), details);
        }
    }
}
