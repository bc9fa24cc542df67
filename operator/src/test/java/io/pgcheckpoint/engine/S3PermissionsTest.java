package io.pgcheckpoint.engine;

import static io.pgcheckpoint.engine.PolicyBlobStore.ABORT;
import static io.pgcheckpoint.engine.PolicyBlobStore.DELETE;
import static io.pgcheckpoint.engine.PolicyBlobStore.GET;
import static io.pgcheckpoint.engine.PolicyBlobStore.LIST;
import static io.pgcheckpoint.engine.PolicyBlobStore.PUT;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import org.gaul.s3proxy.AuthenticationType;
import org.gaul.s3proxy.S3Proxy;
import org.jclouds.ContextBuilder;
import org.jclouds.blobstore.BlobStoreContext;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;
import org.junit.jupiter.api.io.TempDir;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.s3.S3Client;

/**
 * Every 403 from the bucket names the S3 action that was refused, on which key, and what to
 * grant; never a credential. The 403s are real: S3Proxy answers AccessDenied itself, with a
 * {@link PolicyBlobStore} in front of its filesystem backend playing the IAM policy.
 */
class S3PermissionsTest {
    static final String BUCKET = "bkt";

    @TempDir
    Path dir;
    PolicyBlobStore policy;
    S3Proxy proxy;
    int port;

    @BeforeEach
    void start() throws Exception {
        startProxy(TestS3.SECRET_KEY);
        try (Store store = store()) {
            // Set up while everything is allowed: the bucket and one checkpoint's files.
            createBucket();
            store.putNew("t/manifest.json", "{}".getBytes(StandardCharsets.UTF_8));
            store.putNew("t/archive.dump", new byte[] {1, 2, 3});
        }
    }

    /** S3Proxy with the same authentication as production S3 (AWS v2/v4 signatures) and one identity. */
    private void startProxy(String serverSecret) throws Exception {
        port = TestS3.freePort(); // also loads TestS3, which gives the default credential chain the test identity
        Properties props = new Properties();
        props.setProperty("jclouds.filesystem.basedir", dir.toString());
        BlobStoreContext context = ContextBuilder.newBuilder("filesystem")
                .credentials("identity", "credential").overrides(props).build(BlobStoreContext.class);
        policy = new PolicyBlobStore(context.getBlobStore());
        proxy = S3Proxy.builder().blobStore(policy)
                .endpoint(URI.create("http://127.0.0.1:" + port))
                .awsAuthentication(AuthenticationType.AWS_V2_OR_V4, TestS3.ACCESS_KEY, serverSecret)
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

    @AfterEach
    void stop() throws Exception {
        proxy.stop();
    }

    /** The store as the engine opens it: credentials from the default chain (TestS3 sets them). */
    private Store store() {
        return Stores.open("s3://" + BUCKET + "/p", new S3Store.Settings("us-east-1", "http://127.0.0.1:" + port, true));
    }

    private void createBucket() {
        try (S3Client s3 = S3Client.builder().endpointOverride(URI.create("http://127.0.0.1:" + port))
                .region(Region.US_EAST_1).forcePathStyle(true).build()) {
            s3.createBucket(b -> b.bucket(BUCKET));
        }
    }

    private static CheckpointException denied(Executable call, String action, String uri) {
        CheckpointException e = assertThrows(CheckpointException.class, call);
        assertEquals("store.denied", e.code(), e.getMessage());
        assertTrue(e.getMessage().contains(action), "names " + action + ": " + e.getMessage());
        assertTrue(e.getMessage().contains(uri), "names " + uri + ": " + e.getMessage());
        assertTrue(e.getMessage().contains("bucket or IAM policy"), "says where to grant it: " + e.getMessage());
        assertNoCredential(e.getMessage());
        return e;
    }

    private static void assertNoCredential(String message) {
        assertFalse(message.contains(TestS3.SECRET_KEY), message);
        assertFalse(message.contains(TestS3.ACCESS_KEY), message);
        assertTrue(message.length() < 400, "one or two sentences: " + message);
    }

    @Test
    void headOfAMissingKeyWithoutListBucketAsksForListBucket() {
        policy.allowAllBut(LIST);
        try (Store store = store()) {
            CheckpointException e = denied(() -> store.exists("new-tag/manifest.json"), LIST, "s3://bkt/p/new-tag/manifest.json");
            assertTrue(e.getMessage().contains("arn:aws:s3:::bkt"), e.getMessage());
            assertTrue(e.getMessage().contains("'p/'"), "the prefix to grant it for: " + e.getMessage());
            assertTrue(e.getMessage().contains("404"), "explains why a missing key is a 403: " + e.getMessage());
        }
    }

    @Test
    void sealWithoutListBucketStopsBeforeDumpingAndAsksForIt() {
        policy.allowAllBut(LIST);
        DbTarget nowhere = DbTarget.parse("postgresql://backup:x@127.0.0.1:" + freePort() + "/app", Map.of());
        try (Store store = store()) {
            denied(() -> new Sealer(Fixtures.TOOLS, Progress.SILENT).seal(Fixtures.request(nowhere, store, "pre-deploy-1")),
                    LIST, "s3://bkt/p/pre-deploy-1/manifest.json");
        }
    }

    /**
     * Least privilege gives the dump Job no s3:DeleteObject (docs/permissions.md): replacing an
     * archive left without a manifest by an earlier seal then stops, before dumping, naming the
     * cleanup identity's command, instead of a bare 403.
     */
    @Test
    void sealOverAnOrphanWithoutDeleteObjectStopsAndNamesTheCleanup() throws Exception {
        try (Store store = store()) {
            store.putNew("orphan/archive.dump", new byte[] {1, 2, 3});
        }
        // older than the 60 s after which a seal replaces an orphan
        java.nio.file.Files.setLastModifiedTime(dir.resolve(BUCKET).resolve("p/orphan/archive.dump"),
                java.nio.file.attribute.FileTime.from(java.time.Instant.now().minusSeconds(300)));
        policy.allowAllBut(DELETE);
        DbTarget nowhere = DbTarget.parse("postgresql://backup:x@127.0.0.1:" + freePort() + "/app", Map.of());
        try (Store store = store()) {
            CheckpointException e = assertThrows(CheckpointException.class,
                    () -> new Sealer(Fixtures.TOOLS, Progress.SILENT).seal(Fixtures.request(nowhere, store, "orphan")));
            assertEquals("store.incomplete", e.code(), e.getMessage());
            assertTrue(e.getMessage().contains("pgcheckpoint delete --tag orphan"), e.getMessage());
            assertTrue(e.getMessage().contains(DELETE), "names the refused action: " + e.getMessage());
            assertTrue(store.exists("orphan/archive.dump"), "nothing removed");
        }
    }

    @Test
    void headWithoutGetObjectAsksForGetObject() {
        policy.allowOnly(Set.of(LIST));
        try (Store store = store()) {
            CheckpointException e = denied(() -> store.exists("t/manifest.json"), GET, "s3://bkt/p/t/manifest.json");
            assertTrue(e.getMessage().contains("arn:aws:s3:::bkt/p/*"), e.getMessage());
            assertFalse(e.getMessage().contains(LIST), "ListBucket is granted: " + e.getMessage());
        }
    }

    @Test
    void getOfAnObjectNamesGetObject() {
        policy.allowAllBut(GET);
        try (Store store = store()) {
            denied(() -> store.read("t/manifest.json"), GET, "s3://bkt/p/t/manifest.json");
            denied(() -> store.open("t/archive.dump"), GET, "s3://bkt/p/t/archive.dump");
            denied(() -> Archives.manifest(store, "t"), GET, "s3://bkt/p/t/manifest.json");
        }
    }

    @Test
    void getOfAMissingKeyWithoutListBucketAsksForListBucket() {
        policy.allowAllBut(LIST);
        try (Store store = store()) {
            assertTrue(store.read("t/manifest.json").isPresent(), "GetObject alone reads what exists");
            denied(() -> store.read("typo/manifest.json"), LIST, "s3://bkt/p/typo/manifest.json");
        }
    }

    @Test
    void writesNamePutObject() {
        policy.allowAllBut(PUT);
        try (Store store = store()) {
            denied(() -> store.putNew("u/manifest.json", new byte[] {1}), PUT, "s3://bkt/p/u/manifest.json");
            denied(() -> store.put("t/drill.json", new byte[] {1}), PUT, "s3://bkt/p/t/drill.json");
            denied(() -> store.create("u/archive.dump"), PUT, "s3://bkt/p/u/archive.dump");
        }
    }

    @Test
    void uploadRefusedBeforeItCompletesNamesPutObject() throws Exception {
        try (Store store = store()) {
            Store.Upload upload = store.create("u/archive.dump");
            upload.stream().write(new byte[] {1, 2, 3});
            policy.allowAllBut(PUT);
            denied(upload::commit, PUT, "s3://bkt/p/u/archive.dump");
            policy.allowAllBut();
            assertFalse(store.exists("u/archive.dump"));
        }
    }

    @Test
    void abortRefusedNamesAbortMultipartUpload() {
        policy.allowAllBut(ABORT);
        PrintStream err = System.err;
        ByteArrayOutputStream captured = new ByteArrayOutputStream();
        try (Store store = store()) {
            Store.Upload upload = store.create("u/archive.dump");
            System.setErr(new PrintStream(captured, true, StandardCharsets.UTF_8));
            upload.abort();
        } finally {
            System.setErr(err);
        }
        String warning = captured.toString(StandardCharsets.UTF_8);
        assertTrue(warning.contains(ABORT), warning);
        assertTrue(warning.contains("s3://bkt/p/u/archive.dump"), warning);
        assertTrue(warning.contains("bucket or IAM policy"), warning);
        assertNoCredential(warning);
    }

    @Test
    void deleteNamesDeleteObject() {
        policy.allowAllBut(DELETE);
        try (Store store = store()) {
            denied(() -> store.delete("t/archive.dump"), DELETE, "s3://bkt/p/t/archive.dump");
        }
    }

    @Test
    void listingNamesListBucket() {
        policy.allowAllBut(LIST);
        try (Store store = store()) {
            CheckpointException e = denied(store::listTags, LIST, "s3://bkt/p");
            assertTrue(e.getMessage().contains("arn:aws:s3:::bkt"), e.getMessage());
        }
    }

    @Test
    void wrongCredentialsAreNotReportedAsAMissingPermission() throws Exception {
        proxy.stop();
        startProxy("another-secret-than-the-clients");
        try (Store store = store()) {
            for (Executable call : new Executable[] {() -> store.exists("t/manifest.json"), () -> store.read("t/manifest.json")}) {
                CheckpointException e = assertThrows(CheckpointException.class, call);
                assertEquals("store.credentials", e.code(), e.getMessage());
                assertTrue(e.getMessage().contains("s3://bkt/p/t/manifest.json"), e.getMessage());
                assertNoCredential(e.getMessage());
                assertFalse(e.getMessage().contains("another-secret"), e.getMessage());
            }
        }
    }

    private static int freePort() {
        try {
            return TestS3.freePort();
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }
}
