package io.pgcheckpoint.engine;

import java.net.URI;
import java.nio.file.Path;
import java.util.Properties;
import org.gaul.s3proxy.AuthenticationType;
import org.gaul.s3proxy.S3Proxy;
import org.jclouds.ContextBuilder;
import org.jclouds.blobstore.BlobStoreContext;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.s3.S3Client;

/**
 * A real S3-compatible server for the tests: S3Proxy in this JVM, storing objects in a
 * directory so that its content survives a stop and restart (the "store fails mid-upload" test).
 */
public final class TestS3 implements AutoCloseable {
    public static final String ACCESS_KEY = "pgcheckpoint-test";
    public static final String SECRET_KEY = "pgcheckpoint-test-secret";

    static {
        // The engine uses the SDK's default credential chain, as in production.
        System.setProperty("aws.accessKeyId", ACCESS_KEY);
        System.setProperty("aws.secretAccessKey", SECRET_KEY);
    }

    private final Path dir;
    private final int port;
    private S3Proxy proxy;

    private final String bindHost;

    public TestS3(Path dir) throws Exception {
        this(dir, "127.0.0.1");
    }

    /** @param bindHost "0.0.0.0" to be reachable from pods of the test cluster */
    public TestS3(Path dir, String bindHost) throws Exception {
        this.dir = dir;
        this.port = freePort();
        this.bindHost = bindHost;
        start();
    }

    public int port() {
        return port;
    }

    /** Where S3Proxy's filesystem backend keeps an object, for tests that damage one behind the store's back. */
    public Path objectFile(String bucket, String key) {
        return dir.resolve(bucket).resolve(key);
    }

    public void start() throws Exception {
        Properties props = new Properties();
        props.setProperty("jclouds.filesystem.basedir", dir.toString());
        BlobStoreContext context = ContextBuilder.newBuilder("filesystem")
                .credentials("identity", "credential").overrides(props).build(BlobStoreContext.class);
        proxy = S3Proxy.builder().blobStore(context.getBlobStore())
                .endpoint(URI.create("http://" + bindHost + ":" + port))
                .awsAuthentication(AuthenticationType.AWS_V2_OR_V4, ACCESS_KEY, SECRET_KEY)
                .build();
        proxy.start();
        long deadline = System.currentTimeMillis() + 10_000;
        while (!proxy.getState().equals("STARTED")) {
            if (System.currentTimeMillis() > deadline) {
                throw new IllegalStateException("S3Proxy did not start: " + proxy.getState());
            }
            Thread.sleep(10);
        }
    }

    public void stop() throws Exception {
        proxy.stop();
    }

    public String endpoint() {
        return "http://127.0.0.1:" + port;
    }

    public S3Store.Settings settings() {
        return new S3Store.Settings("us-east-1", endpoint(), true);
    }

    public void createBucket(String bucket) {
        try (S3Client s3 = client()) {
            s3.createBucket(b -> b.bucket(bucket));
        }
    }

    public S3Client client() {
        return client(endpoint(), ACCESS_KEY, SECRET_KEY);
    }

    /** A path-style client of a test server, checksums only where S3 requires them (as test servers expect). */
    static S3Client client(String endpoint, String accessKey, String secretKey) {
        return S3Client.builder().endpointOverride(URI.create(endpoint)).region(Region.US_EAST_1)
                .forcePathStyle(true)
                .requestChecksumCalculation(software.amazon.awssdk.core.checksums.RequestChecksumCalculation.WHEN_REQUIRED)
                .responseChecksumValidation(software.amazon.awssdk.core.checksums.ResponseChecksumValidation.WHEN_REQUIRED)
                .credentialsProvider(StaticCredentialsProvider.create(AwsBasicCredentials.create(accessKey, secretKey)))
                .build();
    }

    @Override
    public void close() throws Exception {
        stop();
    }

    static int freePort() throws Exception {
        try (java.net.ServerSocket s = new java.net.ServerSocket(0)) {
            return s.getLocalPort();
        }
    }
}
