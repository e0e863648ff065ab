package dev.drkit.s3;

import dev.drkit.ConfigException;
import dev.drkit.Settings;
import dev.drkit.spi.StorageBackend;
import dev.drkit.spi.StorageBackendProvider;
import dev.drkit.spi.support.PrivateFiles;
import java.io.IOException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Base64;
import java.util.Optional;
import java.util.Set;
import software.amazon.awssdk.auth.credentials.AwsCredentialsProvider;
import software.amazon.awssdk.auth.credentials.DefaultCredentialsProvider;
import software.amazon.awssdk.auth.credentials.ProfileCredentialsProvider;
import software.amazon.awssdk.core.checksums.RequestChecksumCalculation;
import software.amazon.awssdk.core.checksums.ResponseChecksumValidation;
import software.amazon.awssdk.core.retry.RetryMode;
import software.amazon.awssdk.http.apache.ApacheHttpClient;
import software.amazon.awssdk.profiles.ProfileFile;
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
        // the URI's options (camelCase) win over the host's settings (kebab-case); both are
        // parsed and checked before anything is built, so a typo fails here and names itself
        Settings q = Settings.fromQuery(uri);
        String region = q.get("region", settings.get("region", "us-east-1"));
        String endpoint = q.get("endpoint", settings.get("endpoint", null));
        boolean pathStyle = q.bool("pathStyle", endpoint != null);
        Optional<Long> partSize = q.has("partSize") ? q.size("partSize") : settings.size("part-size");
        String lockMode = q.get("objectLock", settings.get("object-lock", null));
        Optional<Duration> lockFor = q.has("lockFor") ? q.duration("lockFor") : settings.duration("lock-for");
        if (lockMode != null && lockFor.isEmpty()) {
            throw new ConfigException("objectLock=" + lockMode + " needs lockFor=DURATION (e.g. lockFor=30d): how "
                    + "long each backup stays immutable; match it to the retention that keeps backups");
        }
        String keyFile = q.get("sseCustomerKeyFile", settings.get("sse-customer-key-file", null));
        byte[] customerKey = keyFile == null ? null : customerKey(Path.of(keyFile));

        var builder = S3Client.builder()
                .region(Region.of(region))
                .forcePathStyle(pathStyle)
                .credentialsProvider(credentials(q, settings))
                .requestChecksumCalculation(RequestChecksumCalculation.WHEN_REQUIRED)
                .responseChecksumValidation(ResponseChecksumValidation.WHEN_REQUIRED)
                .overrideConfiguration(
                        c -> c.retryStrategy(RetryMode.STANDARD).apiCallAttemptTimeout(Duration.ofMinutes(5)))
                .httpClientBuilder(
                        ApacheHttpClient.builder().maxConnections(32).connectionTimeout(Duration.ofSeconds(10)));
        if (endpoint != null) {
            builder.endpointOverride(URI.create(endpoint));
        }
        S3StorageBackend.Builder b = S3StorageBackend.builder().bucket(bucket).prefix(uri.getPath());
        try {
            if (lockMode != null) {
                b.objectLock(lockMode, lockFor.get());
            }
            if (partSize.isPresent()) {
                if (partSize.get() < (5 << 20)) {
                    throw new ConfigException("partSize=" + q.get("partSize", settings.get("part-size", null))
                            + " is too small: S3 parts are at least 5MiB (e.g. partSize=16MiB)");
                }
                b.partSize((int) Math.min(Integer.MAX_VALUE, partSize.get()));
            }
            String sse = q.get("sse", settings.get("sse", null));
            if (sse != null) {
                b.serverSideEncryption(sse, q.get("kmsKeyId", settings.get("kms-key-id", null)));
            }
            b.storageClass(q.get("storageClass", settings.get("storage-class", null)));
            if (customerKey != null) {
                b.customerKey(customerKey);
            }
        } catch (IllegalArgumentException e) {
            throw new ConfigException(e.getMessage());
        }
        S3Client client = builder.build();
        try {
            return b.ownedClient(client, endpoint).build();
        } catch (IllegalArgumentException e) {
            client.close();
            throw new ConfigException(e.getMessage());
        }
    }

    /**
     * The AWS default chain, or with {@code credentialsFile=PATH} and/or {@code profile=NAME} a
     * profile of a credentials file in the AWS format ({@code ~/.aws/credentials} when only the
     * profile is named), which must not be readable by others.
     */
    private static AwsCredentialsProvider credentials(Settings q, Settings settings) {
        String file = q.get("credentialsFile", settings.get("credentials-file", null));
        String profile = q.get("profile", settings.get("profile", null));
        if (file == null && profile == null) {
            return DefaultCredentialsProvider.builder().build();
        }
        Path path = file != null ? Path.of(file) : Path.of(System.getProperty("user.home"), ".aws", "credentials");
        PrivateFiles.requirePrivate(path, "credentials file");
        var profiles = ProfileFile.builder()
                .content(path)
                .type(ProfileFile.Type.CREDENTIALS)
                .build();
        String name = profile == null ? "default" : profile;
        if (profiles.profile(name).isEmpty()) {
            throw new ConfigException("no profile '" + name + "' in the credentials file " + path + " (it has "
                    + profiles.profiles().keySet() + ")");
        }
        return ProfileCredentialsProvider.builder()
                .profileFile(profiles)
                .profileName(name)
                .build();
    }

    /**
     * Reads an SSE-C key file: 32 raw bytes, or their base64 on one line (as
     * {@code openssl rand -base64 32} writes). The file must not be readable by others.
     */
    static byte[] customerKey(Path file) {
        PrivateFiles.requirePrivate(file, "SSE-C key file");
        try {
            byte[] raw = Files.readAllBytes(file);
            byte[] key = raw.length == 32
                    ? raw
                    : Base64.getDecoder().decode(new String(raw, StandardCharsets.US_ASCII).trim());
            if (key.length != 32) {
                throw new ConfigException("the SSE-C key file " + file + " must hold a 256-bit key: 32 bytes, or "
                        + "their base64 (openssl rand -base64 32)");
            }
            return key;
        } catch (IllegalArgumentException e) {
            throw new ConfigException("the SSE-C key file " + file + " is neither 32 bytes nor base64 of them");
        } catch (IOException e) {
            throw new ConfigException("cannot read the SSE-C key file " + file + ": " + e.getMessage());
        }
    }
}
