package io.pgcheckpoint.engine;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import software.amazon.awssdk.services.s3.S3Client;

/**
 * A real S3 server with Object Lock for the tests: Versity's S3 gateway (versitygw, posix
 * backend with versioning), built from its Go module by testbed/build into the testbed cache and
 * run here as a process on a free port with a temporary directory. S3Proxy ({@link TestS3}) has
 * no Object Lock. versitygw enforces retention per object version (GOVERNANCE and COMPLIANCE),
 * refuses deleting a locked version or shortening its retention, versions every bucket created
 * with Object Lock, and answers GetObjectLockConfiguration. Its absence fails the tests: they
 * never skip.
 */
public final class TestLockS3 implements AutoCloseable {
    public static final String ACCESS_KEY = TestS3.ACCESS_KEY;
    public static final String SECRET_KEY = TestS3.SECRET_KEY;

    static {
        // The engine uses the SDK's default credential chain, as in production: the bucket owner's.
        System.setProperty("aws.accessKeyId", ACCESS_KEY);
        System.setProperty("aws.secretAccessKey", SECRET_KEY);
    }

    private final Process process;
    private final int port;
    private final Path log;
    /** Milliseconds from starting the process to its first answered request. */
    public final long startupMillis;

    public TestLockS3(Path dir) throws Exception {
        Path binary = binary();
        Path buckets = Files.createDirectories(dir.resolve("buckets"));
        Path versions = Files.createDirectories(dir.resolve("versions"));
        log = dir.resolve("versitygw.log");
        port = TestS3.freePort();
        ProcessBuilder pb = new ProcessBuilder(binary.toString(), "--port", "127.0.0.1:" + port, "--quiet",
                "posix", "--versioning-dir", versions.toString(), buckets.toString())
                .redirectErrorStream(true).redirectOutput(log.toFile());
        pb.environment().put("ROOT_ACCESS_KEY", ACCESS_KEY);
        pb.environment().put("ROOT_SECRET_KEY", SECRET_KEY);
        long t0 = System.nanoTime();
        process = pb.start();
        try (S3Client s3 = client()) {
            long deadline = System.currentTimeMillis() + 20_000;
            while (true) {
                if (!process.isAlive()) {
                    throw new IllegalStateException("versitygw exited with " + process.exitValue() + " before it was ready: "
                            + Files.readString(log));
                }
                try {
                    s3.listBuckets();
                    break;
                } catch (software.amazon.awssdk.core.exception.SdkException e) {
                    if (System.currentTimeMillis() > deadline) {
                        close();
                        throw new IllegalStateException("versitygw did not answer on port " + port + " within 20 s: "
                                + e.getMessage() + "; its output: " + Files.readString(log), e);
                    }
                    Thread.sleep(20);
                }
            }
        }
        startupMillis = (System.nanoTime() - t0) / 1_000_000;
        System.err.println("versitygw ready on port " + port + " in " + startupMillis + " ms");
    }

    /**
     * The binary testbed/build made: $PGCK_TEST_VERSITYGW, else where testbed/lib.sh puts it,
     * $CACHE/versitygw-VERSION-KEY/bin/versitygw with KEY computed from the same module files.
     */
    static Path binary() throws IOException {
        String given = System.getenv("PGCK_TEST_VERSITYGW");
        if (given != null && !given.isBlank()) {
            return require(Path.of(given));
        }
        Path testbed = null;
        for (Path d = Path.of("").toAbsolutePath(); d != null; d = d.getParent()) {
            if (Files.exists(d.resolve("testbed/versitygw/go.mod"))) {
                testbed = d.resolve("testbed");
                break;
            }
        }
        if (testbed == null) {
            throw new IllegalStateException("cannot find testbed/versitygw/go.mod above " + Path.of("").toAbsolutePath()
                    + ": run the tests from the repository, or set PGCK_TEST_VERSITYGW to the versitygw binary");
        }
        Matcher m = Pattern.compile("(?m)^VERSITYGW_VERSION=\"([^\"]+)\"").matcher(Files.readString(testbed.resolve("lib.sh")));
        if (!m.find()) {
            throw new IllegalStateException("no VERSITYGW_VERSION in " + testbed.resolve("lib.sh"));
        }
        String cache = System.getenv().getOrDefault("PGCK_TESTBED_CACHE", "/var/cache/pgcheckpoint-testbed");
        return require(Path.of(cache, "versitygw-" + m.group(1) + "-" + srcKey(List.of(
                testbed.resolve("versitygw/go.mod"), testbed.resolve("versitygw/go.sum"))), "bin", "versitygw"));
    }

    private static Path require(Path binary) {
        if (!Files.isExecutable(binary)) {
            throw new IllegalStateException("the S3 server with Object Lock for these tests is not built: " + binary
                    + " is missing. Build it with 'sudo PGCK_BUILD_ONLY=test-servers testbed/build' (scripts/test-all "
                    + "runs testbed/build first), or set PGCK_TEST_VERSITYGW to a versitygw binary");
        }
        return binary;
    }

    /** As testbed/lib.sh's src_key: the first 12 hex digits of the sha256 of the files' concatenation. */
    private static String srcKey(List<Path> files) throws IOException {
        try {
            MessageDigest sha = MessageDigest.getInstance("SHA-256");
            for (Path f : files) {
                sha.update(Files.readAllBytes(f));
            }
            return HexFormat.of().formatHex(sha.digest()).substring(0, 12);
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    public String endpoint() {
        return "http://127.0.0.1:" + port;
    }

    public int port() {
        return port;
    }

    public S3Store.Settings settings() {
        return new S3Store.Settings("us-east-1", endpoint(), true);
    }

    /** A bucket; with Object Lock it is versioned too, as S3 makes every Object Lock bucket. */
    public void createBucket(String bucket, boolean objectLock) {
        try (S3Client s3 = client()) {
            s3.createBucket(b -> b.bucket(bucket).objectLockEnabledForBucket(objectLock));
        }
    }

    /** The bucket owner's (root) client. */
    public S3Client client() {
        return TestS3.client(endpoint(), ACCESS_KEY, SECRET_KEY);
    }

    public String output() throws IOException {
        return Files.readString(log, StandardCharsets.UTF_8);
    }

    @Override
    public void close() throws InterruptedException {
        process.destroy();
        if (!process.waitFor(10, java.util.concurrent.TimeUnit.SECONDS)) {
            process.destroyForcibly().waitFor();
        }
    }
}
