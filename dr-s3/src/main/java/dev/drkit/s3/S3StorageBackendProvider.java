package dev.drkit.s3;

import dev.drkit.ConfigException;
import dev.drkit.Settings;
import dev.drkit.spi.OptionSchema;
import dev.drkit.spi.OptionSpec;
import dev.drkit.spi.OptionSpec.Type;
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
 * {@code s3://bucket/prefix?region=R&endpoint=URL&path-style=true&sse=AES256|aws:kms&kms-key-id=K
 * &storage-class=C&object-lock=GOVERNANCE|COMPLIANCE&lock-for=30d&sse-customer-key-file=PATH
 * &read-progress-window=5min}; each option
 * may also be given as a storage setting of the same name (the URI's wins).
 * Credentials come from the AWS default chain (environment {@code AWS_ACCESS_KEY_ID} /
 * {@code AWS_SECRET_ACCESS_KEY}, profiles, instance roles), or from a profile of a credentials
 * file ({@code credentials-file=PATH}, {@code profile=NAME}). Checksums are sent only when
 * required, so S3-compatible servers that reject the SDK's default CRC headers work.
 * Throttling, 5xx, resets and timeouts are retried with backoff and jitter (standard mode).
 */
public final class S3StorageBackendProvider implements StorageBackendProvider {

    @Override
    public Set<String> schemes() {
        return Set.of("s3");
    }

    private static final OptionSchema SCHEMA = OptionSchema.of(
            OptionSpec.builder("region", Type.STRING)
                    .defaultValue("us-east-1")
                    .description("the bucket's region")
                    .build(),
            OptionSpec.builder("endpoint", Type.URI)
                    .description("an S3-compatible server, http(s)://HOST:PORT (default: AWS)")
                    .build(),
            OptionSpec.builder("path-style", Type.BOOLEAN)
                    .description("path-style requests (default: true with an endpoint, else false)")
                    .build(),
            OptionSpec.builder("part-size", Type.SIZE)
                    .defaultValue("16MiB")
                    .description("multipart upload part size, at least 5MiB")
                    .build(),
            OptionSpec.builder("object-lock", Type.ENUM)
                    .allowed("GOVERNANCE", "COMPLIANCE")
                    .description("write everything with this Object Lock mode (needs lock-for)")
                    .build(),
            OptionSpec.builder("lock-for", Type.DURATION)
                    .description("how long each object stays immutable under object-lock, e.g. 30d")
                    .build(),
            OptionSpec.builder("sse", Type.STRING)
                    .description("server-side encryption of new objects: AES256 or aws:kms")
                    .build(),
            OptionSpec.builder("kms-key-id", Type.STRING)
                    .description("the KMS key for sse=aws:kms")
                    .build(),
            OptionSpec.builder("storage-class", Type.STRING)
                    .description("the storage class of new objects, e.g. STANDARD_IA")
                    .build(),
            OptionSpec.builder("sse-customer-key-file", Type.PATH)
                    .description("a file with the 32-byte SSE-C key (or its base64), private to its owner")
                    .build(),
            OptionSpec.builder("credentials-file", Type.PATH)
                    .description("an AWS-format credentials file, private to its owner (default: the AWS chain)")
                    .build(),
            OptionSpec.builder("profile", Type.STRING)
                    .description("the profile of the credentials file (default: default)")
                    .build(),
            OptionSpec.builder("read-progress-window", Type.DURATION)
                    .defaultValue("5min")
                    .description("a read fails when it waits this long on the server for less than 64 KiB")
                    .build());

    @Override
    public OptionSchema schema() {
        return SCHEMA;
    }

    @Override
    public StorageBackend create(URI uri, Settings settings) {
        String bucket = uri.getHost();
        if (bucket == null || bucket.isBlank()) {
            throw new ConfigException("S3 repository URI needs a bucket: s3://BUCKET/PREFIX?region=..&endpoint=..");
        }
        // the URI's options win over the host's settings; both use the same names
        Settings o = settings.overlaidBy(Settings.fromQuery(uri));
        String region = o.get("region", "us-east-1");
        String endpoint = o.get("endpoint", null);
        boolean pathStyle = o.bool("path-style", endpoint != null);
        Optional<Long> partSize = o.size("part-size");
        String lockMode = o.get("object-lock", null);
        Optional<Duration> lockFor = o.duration("lock-for");
        if (lockMode != null && lockFor.isEmpty()) {
            throw new ConfigException("object-lock=" + lockMode + " needs lock-for=DURATION (e.g. lock-for=30d): how "
                    + "long each backup stays immutable; match it to the retention that keeps backups");
        }
        String keyFile = o.get("sse-customer-key-file", null);
        byte[] customerKey = keyFile == null ? null : customerKey(Path.of(keyFile));

        var builder = S3Client.builder()
                .region(Region.of(region))
                .forcePathStyle(pathStyle)
                .credentialsProvider(credentials(o))
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
                    throw new ConfigException("part-size=" + o.get("part-size", null)
                            + " is too small: S3 parts are at least 5MiB (e.g. part-size=16MiB)");
                }
                b.partSize((int) Math.min(Integer.MAX_VALUE, partSize.get()));
            }
            String sse = o.get("sse", null);
            if (sse != null) {
                b.serverSideEncryption(sse, o.get("kms-key-id", null));
            }
            b.storageClass(o.get("storage-class", null));
            if (customerKey != null) {
                b.customerKey(customerKey);
            }
            Optional<Duration> window = o.duration("read-progress-window");
            if (window.isPresent()) {
                b.readProgressWindow(window.get());
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
     * The AWS default chain, or with {@code credentials-file=PATH} and/or {@code profile=NAME} a
     * profile of a credentials file in the AWS format ({@code ~/.aws/credentials} when only the
     * profile is named), which must not be readable by others.
     */
    private static AwsCredentialsProvider credentials(Settings o) {
        String file = o.get("credentials-file", null);
        String profile = o.get("profile", null);
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
