import java.io.RandomAccessFile;
import java.net.URI;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.core.checksums.RequestChecksumCalculation;
import software.amazon.awssdk.core.checksums.ResponseChecksumValidation;
import software.amazon.awssdk.core.sync.RequestBody;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.model.CompletedPart;

/** The reference: a plain AWS SDK v2 multipart upload of a file, 16 MiB parts, 4 in flight. */
public class PlainUpload {
    public static void main(String[] a) throws Exception {
        URI endpoint = URI.create(a[0]);
        String bucket = a[3];
        String key = a[4];
        String file = a[5];
        int partSize = 16 << 20;
        try (S3Client s3 = S3Client.builder().endpointOverride(endpoint).region(Region.US_EAST_1).forcePathStyle(true)
                .credentialsProvider(StaticCredentialsProvider.create(AwsBasicCredentials.create(a[1], a[2])))
                .requestChecksumCalculation(RequestChecksumCalculation.WHEN_REQUIRED)
                .responseChecksumValidation(ResponseChecksumValidation.WHEN_REQUIRED).build();
             RandomAccessFile f = new RandomAccessFile(file, "r")) {
            String id = s3.createMultipartUpload(r -> r.bucket(bucket).key(key)).uploadId();
            ExecutorService pool = Executors.newFixedThreadPool(4);
            List<Future<CompletedPart>> parts = new ArrayList<>();
            long size = f.length();
            int n = 0;
            for (long off = 0; off < size; off += partSize) {
                byte[] buf = new byte[(int) Math.min(partSize, size - off)];
                f.seek(off);
                f.readFully(buf);
                int number = ++n;
                while (parts.stream().filter(p -> !p.isDone()).count() >= 4) {
                    Thread.sleep(1);
                }
                parts.add(pool.submit(() -> CompletedPart.builder().partNumber(number).eTag(s3.uploadPart(
                        r -> r.bucket(bucket).key(key).uploadId(id).partNumber(number),
                        RequestBody.fromBytes(buf)).eTag()).build()));
            }
            List<CompletedPart> done = new ArrayList<>();
            for (Future<CompletedPart> p : parts) {
                done.add(p.get());
            }
            s3.completeMultipartUpload(r -> r.bucket(bucket).key(key).uploadId(id)
                    .multipartUpload(m -> m.parts(done)));
            pool.shutdown();
        }
    }
}
