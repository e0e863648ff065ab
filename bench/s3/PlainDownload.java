import java.io.OutputStream;
import java.io.InputStream;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.core.checksums.RequestChecksumCalculation;
import software.amazon.awssdk.core.checksums.ResponseChecksumValidation;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.s3.S3Client;

/** The reference for reads: a plain AWS SDK v2 GetObject of one object into a new file, one stream. */
public class PlainDownload {
    public static void main(String[] a) throws Exception {
        URI endpoint = URI.create(a[0]);
        String bucket = a[3];
        String key = a[4];
        Path file = Path.of(a[5]);
        try (S3Client s3 = S3Client.builder().endpointOverride(endpoint).region(Region.US_EAST_1).forcePathStyle(true)
                .credentialsProvider(StaticCredentialsProvider.create(AwsBasicCredentials.create(a[1], a[2])))
                .requestChecksumCalculation(RequestChecksumCalculation.WHEN_REQUIRED)
                .responseChecksumValidation(ResponseChecksumValidation.WHEN_REQUIRED).build();
             InputStream in = s3.getObject(r -> r.bucket(bucket).key(key));
             OutputStream out = Files.newOutputStream(file)) {
            in.transferTo(out);
        }
    }
}
