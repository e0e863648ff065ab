package dev.drkit.s3;

import dev.drkit.ConfigException;
import dev.drkit.Settings;
import dev.drkit.spi.StorageBackend;
import dev.drkit.spi.StorageBackendProvider;
import java.net.URI;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import software.amazon.awssdk.auth.credentials.DefaultCredentialsProvider;
import software.amazon.awssdk.core.checksums.RequestChecksumCalculation;
import software.amazon.awssdk.core.checksums.ResponseChecksumValidation;
import software.amazon.awssdk.core.retry.RetryMode;
import software.amazon.awssdk.http.apache.ApacheHttpClient;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.s3.S3Client;

/**
 * Provides {@link S3StorageBackend} for
 * {@code s3://bucket/prefix?region=R&endpoint=URL&pathStyle=true&sse=AES256|aws:kms&kmsKeyId=K&storageClass=C
 * &objectLock=GOVERNANCE|COMPLIANCE&lockFor=30d&sseCustomerKeyFile=PATH}.
 * Credentials come from the AWS default chain (environment {@code AWS_ACCESS_KEY_ID} /
 * {@code AWS_SECRET_ACCESS_KEY}, profiles, instance roles), or from a profile of a credentials
 * file ({@code credentialsFile=PATH}, {@code profile=NAME}). Checksums are sent only when
 * required, so S3-compatible servers that reject the SDK's default CRC headers work.
 * Throttling, 5xx, resets and timeouts are retried with backoff and jitter (standard mode).
 */
public final class S3StorageBackendProvider implements StorageBackendProvider {

    @Override
    public Set<String> schemes() {
        return Set.of("s3");
    }

    @Override
    public StorageBackend create(URI uri, Settings settings) {
        String bucket = uri.getHost();
        if (bucket == null || bucket.isBlank()) {
            throw new ConfigException("S3 repository URI needs a bucket: s3://BUCKET/PREFIX?region=..&endpoint=..");
        }
        Map<String, String> q = query(uri);
        String region = q.getOrDefault("region", settings.get("region", "us-east-1"));
        String endpoint = q.getOrDefault("endpoint", settings.get("endpoint", null));
        boolean pathStyle = Boolean.parseBoolean(q.getOrDefault("pathStyle", String.valueOf(endpoint != null)));
        var builder = S3Client.builder()
                .region(Region.of(region))
                .forcePathStyle(pathStyle)
                .credentialsProvider(credentials(q, settings))
                .requestChecksumCalculation(RequestChecksumCalculation.WHEN_REQUIRED)
                .responseChecksumValidation(ResponseChecksumValidation.WHEN_REQUIRED)
                .overrideConfiguration(c -> c.retryStrategy(RetryMode.STANDARD)
                        .apiCallAttemptTimeout(Duration.ofMinutes(5)))
                .httpClientBuilder(ApacheHttpClient.builder().maxConnections(32)
                        .connectionTimeout(Duration.ofSeconds(10)));
        if (endpoint != null) {
            builder.endpointOverride(URI.create(endpoint));
        }
        S3StorageBackend.Builder b = S3StorageBackend.builder().ownedClient(builder.build(), endpoint)
                .bucket(bucket).prefix(uri.getPath());
        String sse = q.getOrDefault("sse", settings.get("sse", null));
        if (sse != null) {
            b.serverSideEncryption(sse, q.getOrDefault("kmsKeyId", settings.get("kms-key-id", null)));
        }
        b.storageClass(q.getOrDefault("storageClass", settings.get("storage-class", null)));
        String keyFile = q.getOrDefault("sseCustomerKeyFile", settings.get("sse-customer-key-file", null));
        if (keyFile != null) {
            b.customerKey(customerKey(java.nio.file.Path.of(keyFile)));
        }
        String lockMode = q.getOrDefault("objectLock", settings.get("object-lock", null));
        if (lockMode != null) {
            String lockFor = q.getOrDefault("lockFor", settings.get("lock-for", null));
            if (lockFor == null) {
                throw new ConfigException("objectLock=" + lockMode + " needs lockFor=DURATION (e.g. lockFor=30d): how "
                        + "long each backup stays immutable; match it to the retention that keeps backups");
            }
            try {
                b.objectLock(lockMode, Settings.parseDuration("lockFor", lockFor));
            } catch (IllegalArgumentException e) {
                throw new ConfigException(e.getMessage());
            }
        }
        String partSize = q.getOrDefault("partSize", settings.get("part-size", null));
        if (partSize != null) {
            b.partSize((int) Math.min(Integer.MAX_VALUE, parseSize(partSize)));
        }
        return b.build();
    }

    /**
     * The AWS default chain, or with {@code credentialsFile=PATH} and/or {@code profile=NAME} a
     * profile of a credentials file in the AWS format ({@code ~/.aws/credentials} when only the
     * profile is named), which must not be readable by others.
     */
    private static software.amazon.awssdk.auth.credentials.AwsCredentialsProvider credentials(Map<String, String> q,
                                                                                               Settings settings) {
        String file = q.getOrDefault("credentialsFile", settings.get("credentials-file", null));
        String profile = q.getOrDefault("profile", settings.get("profile", null));
        if (file == null && profile == null) {
            return DefaultCredentialsProvider.builder().build();
        }
        java.nio.file.Path path = file != null ? java.nio.file.Path.of(file)
                : java.nio.file.Path.of(System.getProperty("user.home"), ".aws", "credentials");
        requirePrivate(path, "credentials file");
        var profiles = software.amazon.awssdk.profiles.ProfileFile.builder().content(path)
                .type(software.amazon.awssdk.profiles.ProfileFile.Type.CREDENTIALS).build();
        String name = profile == null ? "default" : profile;
        if (profiles.profile(name).isEmpty()) {
            throw new ConfigException("no profile '" + name + "' in the credentials file " + path + " (it has "
                    + profiles.profiles().keySet() + ")");
        }
        return software.amazon.awssdk.auth.credentials.ProfileCredentialsProvider.builder().profileFile(profiles)
                .profileName(name).build();
    }

    private static void requirePrivate(java.nio.file.Path file, String what) {
        try {
            if (java.nio.file.Files.getPosixFilePermissions(file).contains(
                    java.nio.file.attribute.PosixFilePermission.OTHERS_READ)) {
                throw new ConfigException("the " + what + " " + file + " is readable by every user; chmod 600 it");
            }
        } catch (java.io.IOException e) {
            throw new ConfigException("cannot read the " + what + " " + file + ": " + e.getMessage());
        }
    }

    /**
     * Reads an SSE-C key file: 32 raw bytes, or their base64 on one line (as
     * {@code openssl rand -base64 32} writes). The file must not be readable by others.
     */
    static byte[] customerKey(java.nio.file.Path file) {
        requirePrivate(file, "SSE-C key file");
        try {
            byte[] raw = java.nio.file.Files.readAllBytes(file);
            byte[] key = raw.length == 32 ? raw
                    : java.util.Base64.getDecoder().decode(new String(raw, StandardCharsets.US_ASCII).trim());
            if (key.length != 32) {
                throw new ConfigException("the SSE-C key file " + file + " must hold a 256-bit key: 32 bytes, or "
                        + "their base64 (openssl rand -base64 32)");
            }
            return key;
        } catch (IllegalArgumentException e) {
            throw new ConfigException("the SSE-C key file " + file + " is neither 32 bytes nor base64 of them");
        } catch (java.io.IOException e) {
            throw new ConfigException("cannot read the SSE-C key file " + file + ": " + e.getMessage());
        }
    }

    private static long parseSize(String s) {
        String t = s.trim().toUpperCase(java.util.Locale.ROOT);
        long mult = t.endsWith("M") || t.endsWith("MB") || t.endsWith("MIB") ? 1L << 20 : 1;
        return Long.parseLong(t.replaceAll("[^0-9]", "")) * mult;
    }

    private static Map<String, String> query(URI uri) {
        Map<String, String> q = new LinkedHashMap<>();
        if (uri.getRawQuery() != null) {
            for (String kv : uri.getRawQuery().split("&")) {
                int eq = kv.indexOf('=');
                if (eq > 0) {
                    q.put(kv.substring(0, eq), URLDecoder.decode(kv.substring(eq + 1), StandardCharsets.UTF_8));
                }
            }
        }
        return q;
    }
}
