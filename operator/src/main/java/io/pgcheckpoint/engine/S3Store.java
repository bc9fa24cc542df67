package io.pgcheckpoint.engine;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.URI;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import software.amazon.awssdk.core.exception.SdkException;
import software.amazon.awssdk.core.exception.SdkServiceException;
import software.amazon.awssdk.core.sync.RequestBody;
import software.amazon.awssdk.core.checksums.RequestChecksumCalculation;
import software.amazon.awssdk.core.checksums.ResponseChecksumValidation;
import software.amazon.awssdk.http.urlconnection.UrlConnectionHttpClient;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.S3ClientBuilder;
import software.amazon.awssdk.services.s3.model.CommonPrefix;
import software.amazon.awssdk.services.s3.model.CompletedMultipartUpload;
import software.amazon.awssdk.services.s3.model.CompletedPart;
import software.amazon.awssdk.services.s3.model.ListObjectsV2Request;
import software.amazon.awssdk.services.s3.model.ListObjectsV2Response;
import software.amazon.awssdk.services.s3.model.NoSuchKeyException;
import software.amazon.awssdk.services.s3.model.S3Exception;

/**
 * A store in an S3-compatible bucket. Archives are streamed as multipart uploads with at
 * most two parts in memory (one filling, one in flight), so memory stays bounded whatever
 * the archive's size; an upload that fails or is interrupted is aborted.
 */
public final class S3Store implements Store {
    /** 16 MiB parts allow archives up to 160 GB (S3 allows 10,000 parts). */
    static final int PART_SIZE = 16 * 1024 * 1024;

    private final S3Client s3;
    private final String bucket;
    private final String prefix;
    private final String endpointDescription;

    public record Settings(String region, String endpoint, boolean pathStyle) {
    }

    public S3Store(String bucket, String prefix, Settings settings) {
        this.bucket = bucket;
        this.prefix = prefix.isEmpty() || prefix.endsWith("/") ? prefix : prefix + "/";
        S3ClientBuilder builder = S3Client.builder()
                .httpClientBuilder(UrlConnectionHttpClient.builder()
                        .connectionTimeout(Duration.ofSeconds(10))
                        .socketTimeout(Duration.ofSeconds(120)))
                // S3-compatible stores do not all speak the newer flexible checksums;
                // integrity is ours anyway: every archive carries a sha256 checked on download.
                .requestChecksumCalculation(RequestChecksumCalculation.WHEN_REQUIRED)
                .responseChecksumValidation(ResponseChecksumValidation.WHEN_REQUIRED)
                .forcePathStyle(settings.pathStyle());
        if (settings.region() != null && !settings.region().isBlank()) {
            builder.region(Region.of(settings.region()));
        } else if (System.getenv("AWS_REGION") == null && System.getenv("AWS_DEFAULT_REGION") == null) {
            builder.region(Region.US_EAST_1);
        }
        if (settings.endpoint() != null && !settings.endpoint().isBlank()) {
            builder.endpointOverride(URI.create(settings.endpoint()));
        }
        this.endpointDescription = settings.endpoint() == null || settings.endpoint().isBlank()
                ? "AWS S3" : settings.endpoint();
        try {
            this.s3 = builder.build();
        } catch (SdkException e) {
            throw new CheckpointException("store.config", "cannot configure the S3 client: " + e.getMessage()
                    + ": set --s3-region/AWS_REGION and credentials (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY or a workload identity)", e);
        }
    }

    @Override
    public String uri() {
        return "s3://" + bucket + "/" + (prefix.isEmpty() ? "" : prefix.substring(0, prefix.length() - 1));
    }

    private String objectKey(String key) {
        return prefix + key;
    }

    /**
     * The S3 calls this store makes and the IAM action each one needs, so that a 403 can say
     * what to grant. HEAD needs s3:GetObject; every step of a multipart upload but the abort
     * needs s3:PutObject (see docs/permissions.md).
     */
    private enum Call {
        HEAD("checking", "HeadObject", "s3:GetObject"),
        GET("reading", "GetObject", "s3:GetObject"),
        PUT("writing", "PutObject", "s3:PutObject"),
        CREATE_UPLOAD("starting upload of", "CreateMultipartUpload", "s3:PutObject"),
        UPLOAD_PART("uploading part of", "UploadPart", "s3:PutObject"),
        COMPLETE_UPLOAD("completing upload of", "CompleteMultipartUpload", "s3:PutObject"),
        ABORT_UPLOAD("aborting upload of", "AbortMultipartUpload", "s3:AbortMultipartUpload"),
        LIST("listing", "ListObjectsV2", "s3:ListBucket"),
        DELETE("deleting", "DeleteObject", "s3:DeleteObject");

        final String what;
        final String api;
        final String action;

        Call(String what, String api, String action) {
            this.what = what;
            this.api = api;
            this.action = action;
        }
    }

    /** 403 codes that mean the credentials themselves were refused, not a missing permission. */
    private static final Set<String> CREDENTIAL_ERRORS = Set.of("InvalidAccessKeyId",
            "SignatureDoesNotMatch", "ExpiredToken", "InvalidToken", "TokenRefreshRequired", "RequestTimeTooSkewed");

    private CheckpointException failure(Call call, String key, Exception e) {
        String where = key == null ? uri() : uri(key);
        if (e instanceof S3Exception s3e) {
            int status = s3e.statusCode();
            String code = s3e.awsErrorDetails() == null || s3e.awsErrorDetails().errorCode() == null
                    ? "" : s3e.awsErrorDetails().errorCode();
            if (status == 403) {
                return denied(call, key, code, e);
            }
            if ("NoSuchBucket".equals(code)) {
                return new CheckpointException("store.no-bucket", "bucket '" + bucket + "' does not exist at "
                        + endpointDescription + ": create it or fix the store URI", e);
            }
            if (status == 412) {
                return new CheckpointException("store.exists", where + " already exists; a checkpoint is never overwritten", e);
            }
            return new CheckpointException("store.error", call.what + " " + where + " failed: HTTP " + status + " " + code
                    + " " + s3e.getMessage(), e);
        }
        if (e instanceof SdkServiceException) {
            return new CheckpointException("store.error", call.what + " " + where + " failed: " + e.getMessage(), e);
        }
        return new CheckpointException("store.unreachable", call.what + " " + where + " failed: cannot reach the store at "
                + endpointDescription + " (" + rootMessage(e) + "): check the endpoint, network and credentials", e);
    }

    /**
     * A 403 names the action refused and what to grant. S3 answers 403 rather than 404 for a
     * key that does not exist when the caller lacks s3:ListBucket, and a HEAD's 403 has no
     * body to tell a bad signature from a refusal; so a refused HEAD or GET asks, with one
     * listing of that very key, whether listing is allowed, to name the missing permission.
     */
    private CheckpointException denied(Call call, String key, String code, Exception e) {
        String where = key == null ? uri() : uri(key);
        String refusal = (code.isEmpty() ? "HTTP 403" : code) + " on " + call.api;
        if (CREDENTIAL_ERRORS.contains(code)) {
            return credentials(call, where, code, e);
        }
        String objects = "s3:GetObject on " + objectResource();
        String listing = "s3:ListBucket on arn:aws:s3:::" + bucket + (prefix.isEmpty() ? "" : " for prefix '" + prefix + "'");
        String grant = " in the bucket or IAM policy of these credentials";
        if (call == Call.HEAD || call == Call.GET) {
            String probe = probeListing(prefix + key);
            if (CREDENTIAL_ERRORS.contains(probe)) {
                return credentials(call, where, probe, e);
            }
            if (probe == null) {
                return new CheckpointException("store.denied", call.what + " " + where + " was denied (" + refusal
                        + "): allow " + objects + grant + "; if the key may not exist, also " + listing
                        + ", without which S3 answers 403 instead of 404 for a missing key", e);
            }
            if (!probe.isEmpty()) {
                return new CheckpointException("store.denied", call.what + " " + where + " was denied (" + refusal
                        + ") and so is s3:ListBucket, without which S3 answers 403 instead of 404 for a key that does not exist: allow "
                        + listing + " and " + objects + grant, e);
            }
            return new CheckpointException("store.denied", call.what + " " + where + " was denied (" + refusal
                    + "): allow " + objects + grant, e);
        }
        String resource = call == Call.LIST ? listing : call.action + " on " + objectResource();
        return new CheckpointException("store.denied", call.what + " " + where + " was denied (" + refusal + "): allow "
                + resource + grant, e);
    }

    private CheckpointException credentials(Call call, String where, String code, Exception e) {
        return new CheckpointException("store.credentials", call.what + " " + where + " failed: " + endpointDescription
                + " rejected the credentials (" + code + "): check the access key and secret (AWS_ACCESS_KEY_ID, "
                + "AWS_SECRET_ACCESS_KEY) or the workload identity, and the clock", e);
    }

    private String objectResource() {
        return "arn:aws:s3:::" + bucket + "/" + prefix + "*";
    }

    /**
     * Lists the one key: "" when listing is allowed, the error code of a 403 (AccessDenied,
     * SignatureDoesNotMatch, ...), or null when the answer says nothing about permissions.
     */
    private String probeListing(String objectKey) {
        try {
            s3.listObjectsV2(b -> b.bucket(bucket).prefix(objectKey).maxKeys(1));
            return "";
        } catch (S3Exception e) {
            if (e.statusCode() == 403 && e.awsErrorDetails() != null && e.awsErrorDetails().errorCode() != null) {
                return e.awsErrorDetails().errorCode();
            }
            return null;
        } catch (SdkException e) {
            return null;
        }
    }

    private static String rootMessage(Throwable e) {
        Throwable t = e;
        while (t.getCause() != null && t.getCause() != t) {
            t = t.getCause();
        }
        return t.getClass().getSimpleName() + (t.getMessage() == null ? "" : ": " + t.getMessage());
    }

    @Override
    public boolean exists(String key) {
        return modified(key).isPresent();
    }

    @Override
    public Optional<java.time.Instant> modified(String key) {
        try {
            return Optional.of(s3.headObject(b -> b.bucket(bucket).key(objectKey(key))).lastModified());
        } catch (NoSuchKeyException e) {
            return Optional.empty();
        } catch (S3Exception e) {
            if (e.statusCode() == 404 && !"NoSuchBucket".equals(e.awsErrorDetails().errorCode())) {
                return Optional.empty();
            }
            throw failure(Call.HEAD, key, e);
        } catch (SdkException e) {
            throw failure(Call.HEAD, key, e);
        }
    }

    @Override
    public Upload create(String key) {
        String objectKey = objectKey(key);
        String uploadId;
        try {
            uploadId = s3.createMultipartUpload(b -> b.bucket(bucket).key(objectKey)).uploadId();
        } catch (SdkException e) {
            throw failure(Call.CREATE_UPLOAD, key, e);
        }
        return new MultipartUpload(key, objectKey, uploadId);
    }

    /** Parts are uploaded by one background thread while the next part fills. */
    private final class MultipartUpload extends OutputStream implements Upload {
        private final String key;
        private final String objectKey;
        private final String uploadId;
        private final ExecutorService uploader = Executors.newSingleThreadExecutor(r -> {
            Thread t = new Thread(r, "s3-part-upload");
            t.setDaemon(true);
            return t;
        });
        private final List<CompletedPart> parts = new ArrayList<>();
        private byte[] buffer = new byte[PART_SIZE];
        private byte[] spare = new byte[PART_SIZE];
        private int filled;
        private Future<CompletedPart> inFlight;
        private boolean finished;

        MultipartUpload(String key, String objectKey, String uploadId) {
            this.key = key;
            this.objectKey = objectKey;
            this.uploadId = uploadId;
        }

        @Override
        public OutputStream stream() {
            return this;
        }

        @Override
        public void write(int b) throws IOException {
            write(new byte[] {(byte) b}, 0, 1);
        }

        @Override
        public void write(byte[] b, int off, int len) throws IOException {
            while (len > 0) {
                int n = Math.min(len, PART_SIZE - filled);
                System.arraycopy(b, off, buffer, filled, n);
                filled += n;
                off += n;
                len -= n;
                if (filled == PART_SIZE) {
                    sendBuffer();
                }
            }
        }

        private void sendBuffer() throws IOException {
            awaitInFlight();
            if (parts.size() >= 10_000) {
                throw new IOException("archive exceeds 10,000 parts of " + PART_SIZE + " bytes");
            }
            byte[] data = buffer;
            int length = filled;
            int partNumber = parts.size() + 1;
            buffer = spare;
            spare = data;
            filled = 0;
            inFlight = uploader.submit(() -> {
                String etag = s3.uploadPart(b -> b.bucket(bucket).key(objectKey).uploadId(uploadId)
                                .partNumber(partNumber).contentLength((long) length),
                        RequestBody.fromInputStream(new ByteArrayInputStream(data, 0, length), length)).eTag();
                return CompletedPart.builder().partNumber(partNumber).eTag(etag).build();
            });
        }

        private void awaitInFlight() throws IOException {
            if (inFlight == null) {
                return;
            }
            try {
                parts.add(inFlight.get());
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IOException("interrupted while uploading", e);
            } catch (java.util.concurrent.ExecutionException e) {
                Throwable cause = e.getCause();
                if (cause instanceof Exception ex) {
                    CheckpointException failure = failure(Call.UPLOAD_PART, key, ex);
                    throw new IOException(failure.getMessage(), failure);
                }
                throw new IOException(String.valueOf(cause), cause);
            } finally {
                inFlight = null;
            }
        }

        @Override
        public void commit() {
            try {
                if (filled > 0 || parts.isEmpty() && inFlight == null) {
                    sendBuffer();
                }
                awaitInFlight();
                refuseExisting(key);
                // If-None-Match makes the store itself refuse to replace an object created meanwhile.
                s3.completeMultipartUpload(b -> b.bucket(bucket).key(objectKey).uploadId(uploadId)
                        .ifNoneMatch("*")
                        .multipartUpload(CompletedMultipartUpload.builder().parts(parts).build()));
                finished = true;
            } catch (IOException e) {
                abort();
                if (e.getCause() instanceof CheckpointException failure) {
                    throw failure;
                }
                throw new CheckpointException("store.write", e.getMessage(), e);
            } catch (SdkException e) {
                abort();
                throw failure(Call.COMPLETE_UPLOAD, key, e);
            } catch (CheckpointException e) {
                abort();
                throw e;
            } finally {
                uploader.shutdownNow();
                buffer = null;
                spare = null;
            }
        }

        @Override
        public void abort() {
            if (finished) {
                return;
            }
            finished = true;
            uploader.shutdownNow();
            buffer = null;
            spare = null;
            try {
                s3.abortMultipartUpload(b -> b.bucket(bucket).key(objectKey).uploadId(uploadId));
            } catch (SdkException e) {
                // The incomplete upload is invisible as an object and never has a manifest; a
                // bucket lifecycle rule for incomplete uploads removes it.
                String what = e instanceof S3Exception s3e && s3e.statusCode() == 403
                        ? failure(Call.ABORT_UPLOAD, key, e).getMessage() + "; the incomplete upload " + uploadId
                        : "could not abort incomplete upload " + uploadId + " of " + uri(key) + " (" + rootMessage(e) + "); it";
                System.err.println("warning: " + what
                        + " is not a checkpoint, and an AbortIncompleteMultipartUpload lifecycle rule cleans it up");
            }
        }

        @Override
        public void close() {
            abort();
        }
    }

    /**
     * AWS S3 enforces If-None-Match on writes; some S3-compatible servers ignore it, so a
     * HEAD first keeps them from replacing an object that is already there.
     */
    private void refuseExisting(String key) {
        if (exists(key)) {
            throw new CheckpointException("store.exists", uri(key) + " already exists; a checkpoint is never overwritten");
        }
    }

    @Override
    public void putNew(String key, byte[] data) {
        refuseExisting(key);
        try {
            s3.putObject(b -> b.bucket(bucket).key(objectKey(key)).ifNoneMatch("*").contentType("application/json"),
                    RequestBody.fromBytes(data));
        } catch (SdkException e) {
            throw failure(Call.PUT, key, e);
        }
    }

    @Override
    public void put(String key, byte[] data) {
        try {
            s3.putObject(b -> b.bucket(bucket).key(objectKey(key)).contentType("application/json"), RequestBody.fromBytes(data));
        } catch (SdkException e) {
            throw failure(Call.PUT, key, e);
        }
    }

    @Override
    public InputStream open(String key) {
        try {
            return s3.getObject(b -> b.bucket(bucket).key(objectKey(key)));
        } catch (NoSuchKeyException e) {
            throw new CheckpointException("store.not-found", uri(key) + " does not exist");
        } catch (SdkException e) {
            throw failure(Call.GET, key, e);
        }
    }

    @Override
    public Optional<byte[]> read(String key) {
        try {
            return Optional.of(s3.getObjectAsBytes(b -> b.bucket(bucket).key(objectKey(key))).asByteArray());
        } catch (NoSuchKeyException e) {
            return Optional.empty();
        } catch (SdkException e) {
            throw failure(Call.GET, key, e);
        }
    }

    @Override
    public List<String> listTags() {
        List<String> tags = new ArrayList<>();
        try {
            ListObjectsV2Request request = ListObjectsV2Request.builder().bucket(bucket).prefix(prefix).delimiter("/").build();
            for (ListObjectsV2Response page : s3.listObjectsV2Paginator(request)) {
                for (CommonPrefix p : page.commonPrefixes()) {
                    String name = p.prefix().substring(prefix.length());
                    tags.add(name.endsWith("/") ? name.substring(0, name.length() - 1) : name);
                }
            }
        } catch (SdkException e) {
            throw failure(Call.LIST, null, e);
        }
        tags.sort(null);
        return tags;
    }

    @Override
    public void delete(String key) {
        try {
            s3.deleteObject(b -> b.bucket(bucket).key(objectKey(key)));
        } catch (SdkException e) {
            throw failure(Call.DELETE, key, e);
        }
    }

    @Override
    public void close() {
        s3.close();
    }
}
