import dev.drkit.testkit.S3Server;

/** Runs the testkit's S3 server (S3Proxy) until killed; prints "endpoint access secret". */
public class S3ProxyMain {
    public static void main(String[] args) throws Exception {
        S3Server s3 = S3Server.start();
        s3.createBucket(args.length > 0 ? args[0] : "bench");
        System.out.println(s3.endpoint() + " " + s3.accessKey() + " " + s3.secretKey());
        System.out.flush();
        Thread.currentThread().join();
    }
}
