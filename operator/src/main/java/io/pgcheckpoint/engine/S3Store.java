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
import software.amazon.awssdk.services.s3.model.ChecksumAlgorithm;
import software.amazon.awssdk.services.s3.model.CommonPrefix;
import software.amazon.awssdk.services.s3.model.DeleteMarkerEntry;
import software.amazon.awssdk.services.s3.model.ListObjectVersionsResponse;
import software.amazon.awssdk.services.s3.model.ObjectLockEnabled;
import software.amazon.awssdk.services.s3.model.ObjectVersion;
import software.amazon.awssdk.services.s3.model.PutObjectRequest;
import software.amazon.awssdk.services.s3.model.S3Object;
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
    /** A stream's parts, and the smallest parts of a staged file. */
    static final int PART_SIZE = 16 * 1024 * 1024;
    /** S3's limits: parts per upload, and the largest part. */
    static final int MAX_PARTS = 10_000;
    static final long MAX_PART_SIZE = 5L << 30;
    /** The largest archive one stream can upload: 10,000 parts of 16 MiB (156 GiB). */
    static final long STREAM_CAPACITY = (long) MAX_PARTS * PART_SIZE;

    /** 16 MiB parts, larger (whole MiB) for a file that would need more than 10,000 of them. */
    static long partSizeFor(long size) {
        long mib = 1 << 20;
        long needed = (size + MAX_PARTS - 1) / MAX_PARTS;
        long partSize = Math.max(PART_SIZE, (needed + mib - 1) / mib * mib);
        if (partSize > MAX_PART_SIZE) {
            throw new CheckpointException("store.write", "a file of " + Sizes.human(size) + " exceeds what S3 can take in "
                    + MAX_PARTS + " parts of at most " + Sizes.human(MAX_PART_SIZE) + ": seal with more --jobs");
        }
        return partSize;
    }

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
        PUT_LOCKED("writing", "PutObject with Object Lock", "s3:PutObject and s3:PutObjectRetention"),
        CREATE_UPLOAD_LOCKED("starting upload of", "CreateMultipartUpload with Object Lock", "s3:PutObject and s3:PutObjectRetention"),
        CREATE_UPLOAD("starting upload of", "CreateMultipartUpload", "s3:PutObject"),
        UPLOAD_PART("uploading part of", "UploadPart", "s3:PutObject"),
        COMPLETE_UPLOAD("completing upload of", "CompleteMultipartUpload", "s3:PutObject"),
        ABORT_UPLOAD("aborting upload of", "AbortMultipartUpload", "s3:AbortMultipartUpload"),
        LIST("listing", "ListObjectsV2", "s3:ListBucket"),
        DELETE("deleting", "DeleteObject", "s3:DeleteObject"),
        DELETE_VERSION("deleting a version of", "DeleteObject", "s3:DeleteObjectVersion"),
        LIST_VERSIONS("listing the versions of", "ListObjectVersions", "s3:ListBucketVersions"),
        LOCK_CONFIG("reading the Object Lock configuration of", "GetObjectLockConfiguration", "s3:GetBucketObjectLockConfiguration"),
        RETENTION("reading the retention of", "GetObjectRetention", "s3:GetObjectRetention");

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
        String resource = call == Call.LIST || call == Call.LIST_VERSIONS ? listing.replace("s3:ListBucket", call.action)
                : call == Call.LOCK_CONFIG ? call.action + " on arn:aws:s3:::" + bucket
                : call.action + " on " + objectResource();
        if (call == Call.DELETE_VERSION && "AccessDenied".equals(code) && e.getMessage() != null
                && e.getMessage().toLowerCase(java.util.Locale.ROOT).contains("object lock")) {
            return new CheckpointException("store.locked", call.what + " " + where + " was refused by the store: the version is "
                    + "protected by Object Lock until its retain-until date", e);
        }
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
            Manifest.ObjectLock lock = protection.lock();
            uploadId = s3.createMultipartUpload(b -> {
                b.bucket(bucket).key(objectKey);
                encrypt(protection.encryption(), b::serverSideEncryption, b::ssekmsKeyId);
                if (lock != null) {
                    b.objectLockMode(lock.mode()).objectLockRetainUntilDate(lock.retainUntil())
                            .checksumAlgorithm(ChecksumAlgorithm.CRC32);
                }
            }).uploadId();
        } catch (SdkException e) {
            throw failure(protection.lock() == null ? Call.CREATE_UPLOAD : Call.CREATE_UPLOAD_LOCKED, key, e);
        }
        return new MultipartUpload(key, objectKey, uploadId, protection.lock() != null);
    }

    /**
     * A local file uploaded in parts read straight from disk, so that many files can wait for their
     * commit without holding memory; the object appears only when {@link Upload#commit()} completes it.
     */
    @Override
    public Upload stage(String key, java.nio.file.Path file) {
        Upload started = create(key);
        MultipartUpload upload = (MultipartUpload) started;
        try {
            upload.fromFile(file);
            return upload;
        } catch (IOException | RuntimeException e) {
            upload.abort();
            if (e.getCause() instanceof CheckpointException failure) {
                throw failure;
            }
            throw e instanceof CheckpointException ce ? ce : new CheckpointException("store.write", "uploading " + file
                    + " to " + uri(key) + " failed: " + e.getMessage(), e);
        }
    }

    /** Parts are uploaded by one background thread while the next part fills. */
    private final class MultipartUpload extends OutputStream implements Upload {
        private final String key;
        private final String objectKey;
        private final String uploadId;
        private final ExecutorService uploader = Executors.newSingleThreadExecutor(DaemonThreads.named("s3-part-upload"));
        private final List<CompletedPart> parts = new ArrayList<>();
        // allocated on the first write: a staged file upload never needs them
        private byte[] buffer;
        private byte[] spare;
        private int filled;
        private Future<CompletedPart> inFlight;
        private boolean finished;
        /** AWS wants a checksum on every part of an object written with a lock (Content-MD5 or a flexible checksum). */
        private final boolean checksummed;

        MultipartUpload(String key, String objectKey, String uploadId, boolean checksummed) {
            this.key = key;
            this.objectKey = objectKey;
            this.uploadId = uploadId;
            this.checksummed = checksummed;
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
            if (buffer == null) {
                buffer = new byte[PART_SIZE];
                spare = new byte[PART_SIZE];
            }
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

        /** Uploads a whole file, part by part from disk, on this thread; {@link #commit()} then completes it. */
        void fromFile(java.nio.file.Path file) throws IOException {
            long size = java.nio.file.Files.size(file);
            long partSize = partSizeFor(size);
            long offset = 0;
            do {
                long start = offset;
                long length = Math.min(partSize, size - offset);
                int partNumber = parts.size() + 1;
                // each attempt (the SDK retries) reads the part afresh from the file
                software.amazon.awssdk.http.ContentStreamProvider part = new software.amazon.awssdk.http.ContentStreamProvider() {
                    private InputStream last;

                    @Override
                    public InputStream newStream() {
                        try {
                            if (last != null) {
                                last.close(); // the SDK closes only the stream of the attempt that succeeds
                            }
                            InputStream in = java.nio.file.Files.newInputStream(file);
                            in.skipNBytes(start);
                            last = new java.io.BufferedInputStream(new BoundedInputStream(in, length), 1 << 16);
                            return last;
                        } catch (IOException e) {
                            throw new java.io.UncheckedIOException(e);
                        }
                    }
                };
                try {
                    var uploaded = s3.uploadPart(b -> {
                        b.bucket(bucket).key(objectKey).uploadId(uploadId).partNumber(partNumber).contentLength(length);
                        if (checksummed) {
                            b.checksumAlgorithm(ChecksumAlgorithm.CRC32);
                        }
                    }, RequestBody.fromContentProvider(part, length, "application/octet-stream"));
                    parts.add(CompletedPart.builder().partNumber(partNumber).eTag(uploaded.eTag())
                            .checksumCRC32(checksummed ? uploaded.checksumCRC32() : null).build());
                } catch (SdkException | java.io.UncheckedIOException e) {
                    CheckpointException failure = failure(Call.UPLOAD_PART, key, e);
                    throw new IOException(failure.getMessage(), failure);
                }
                offset += length;
            } while (offset < size);
        }

        private void sendBuffer() throws IOException {
            if (buffer == null) {
                buffer = new byte[0]; // an empty object: its one part is empty
            }
            awaitInFlight();
            if (parts.size() >= MAX_PARTS) {
                throw new IOException("the archive outgrew what one stream can upload (" + MAX_PARTS + " parts of "
                        + Sizes.human(PART_SIZE) + ", " + Sizes.human(STREAM_CAPACITY) + "): seal with --jobs N "
                        + "(spec.dump.jobs), whose files are uploaded each in parts sized to it");
            }
            byte[] data = buffer;
            int length = filled;
            int partNumber = parts.size() + 1;
            buffer = spare;
            spare = data;
            filled = 0;
            inFlight = uploader.submit(() -> {
                var uploaded = s3.uploadPart(b -> {
                    b.bucket(bucket).key(objectKey).uploadId(uploadId).partNumber(partNumber).contentLength((long) length);
                    if (checksummed) {
                        b.checksumAlgorithm(ChecksumAlgorithm.CRC32);
                    }
                }, RequestBody.fromInputStream(new ByteArrayInputStream(data, 0, length), length));
                // a part's checksum goes into the completion only when the upload asked for checksums
                return CompletedPart.builder().partNumber(partNumber).eTag(uploaded.eTag())
                        .checksumCRC32(checksummed ? uploaded.checksumCRC32() : null).build();
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
            s3.putObject(b -> protectedPut(b.bucket(bucket).key(objectKey(key)).ifNoneMatch("*").contentType("application/json"),
                    protection.lock()), RequestBody.fromBytes(data));
        } catch (SdkException e) {
            throw failure(protection.lock() == null ? Call.PUT : Call.PUT_LOCKED, key, e);
        }
    }

    @Override
    public void put(String key, byte[] data) {
        put(key, data, protection.lock());
    }

    @Override
    public void put(String key, byte[] data, Manifest.ObjectLock lock) {
        // no GetObjectLockConfiguration first: the lock is the manifest's, so the bucket has Object Lock
        try {
            s3.putObject(b -> protectedPut(b.bucket(bucket).key(objectKey(key)).contentType("application/json"), lock),
                    RequestBody.fromBytes(data));
        } catch (SdkException e) {
            throw failure(lock == null ? Call.PUT : Call.PUT_LOCKED, key, e);
        }
    }

    private PutObjectRequest.Builder protectedPut(PutObjectRequest.Builder b, Manifest.ObjectLock lock) {
        encrypt(protection.encryption(), b::serverSideEncryption, b::ssekmsKeyId);
        if (lock != null) {
            b.objectLockMode(lock.mode()).objectLockRetainUntilDate(lock.retainUntil()).checksumAlgorithm(ChecksumAlgorithm.CRC32);
        }
        return b;
    }

    private static void encrypt(Manifest.Encryption e, java.util.function.Consumer<String> algorithm,
                                java.util.function.Consumer<String> kmsKeyId) {
        if (e != null) {
            algorithm.accept(e.algorithm());
            if (e.kmsKeyId() != null) {
                kmsKeyId.accept(e.kmsKeyId());
            }
        }
    }

    private Protection protection = Protection.NONE;
    /** Whether the bucket has Object Lock enabled, once asked. */
    private Boolean objectLockEnabled;

    @Override
    public void protect(Protection p) {
        Manifest.ObjectLock lock = p.lock();
        if (lock != null) {
            if (!Manifest.ObjectLock.MODES.contains(lock.mode())) {
                throw new CheckpointException("usage.object-lock", "Object Lock mode must be GOVERNANCE or COMPLIANCE, got '"
                        + lock.mode() + "'");
            }
            if (lock.retainUntil() == null || !lock.retainUntil().isAfter(java.time.Instant.now())) {
                throw new CheckpointException("usage.object-lock", "the Object Lock retain-until date must lie in the future, got "
                        + lock.retainUntil());
            }
            requireObjectLock();
        }
        Manifest.Encryption e = p.encryption();
        if (e != null) {
            if (!Manifest.Encryption.ALGORITHMS.contains(e.algorithm())) {
                throw new CheckpointException("usage.sse", "--sse must be AES256 or aws:kms, got '" + e.algorithm() + "'");
            }
            if (e.kmsKeyId() != null && !"aws:kms".equals(e.algorithm())) {
                throw new CheckpointException("usage.sse", "--sse-kms-key-id goes with --sse aws:kms only, not " + e.algorithm());
            }
        }
        this.protection = p;
    }

    @Override
    public Protection protection() {
        return protection;
    }

    /** Asks the bucket whether it has Object Lock enabled; refuses (store.lock-unsupported) when it has not. */
    private void requireObjectLock() {
        if (objectLockEnabled == null) {
            try {
                var config = s3.getObjectLockConfiguration(b -> b.bucket(bucket)).objectLockConfiguration();
                objectLockEnabled = config != null && config.objectLockEnabled() == ObjectLockEnabled.ENABLED;
            } catch (S3Exception e) {
                String code = e.awsErrorDetails() == null ? null : e.awsErrorDetails().errorCode();
                if ("ObjectLockConfigurationNotFoundError".equals(code)
                        || e.statusCode() == 404 && !"NoSuchBucket".equals(code) || e.statusCode() == 501) {
                    objectLockEnabled = false;
                } else {
                    throw failure(Call.LOCK_CONFIG, null, e);
                }
            } catch (SdkException e) {
                throw failure(Call.LOCK_CONFIG, null, e);
            }
        }
        if (!objectLockEnabled) {
            throw new CheckpointException("store.lock-unsupported", "bucket '" + bucket + "' at " + endpointDescription
                    + " does not have Object Lock enabled, so the checkpoint cannot be locked; nothing was written: use a bucket "
                    + "created with Object Lock (aws s3api create-bucket --object-lock-enabled-for-bucket, or enable it on a "
                    + "versioned bucket with put-object-lock-configuration), or leave the lock options out");
        }
    }

    @Override
    public List<Version> versions(String tag) {
        String tagPrefix = prefix + tag + "/";
        List<Version> found = new ArrayList<>();
        try {
            for (ListObjectVersionsResponse page : s3.listObjectVersionsPaginator(b -> b.bucket(bucket).prefix(tagPrefix))) {
                for (ObjectVersion v : page.versions()) {
                    String key = v.key().substring(prefix.length());
                    found.add(new Version(key, v.versionId(), false, v.lastModified(), lockOf(key, v.versionId())));
                }
                for (DeleteMarkerEntry m : page.deleteMarkers()) {
                    found.add(new Version(m.key().substring(prefix.length()), m.versionId(), true, m.lastModified(), null));
                }
            }
        } catch (S3Exception e) {
            if (e.statusCode() == 501) {
                return unversioned(tagPrefix);
            }
            throw failure(Call.LIST_VERSIONS, tag + "/", e);
        } catch (SdkException e) {
            throw failure(Call.LIST_VERSIONS, tag + "/", e);
        }
        return found;
    }

    /** For S3-compatible servers without ListObjectVersions: the objects, one version each. */
    private List<Version> unversioned(String tagPrefix) {
        List<Version> found = new ArrayList<>();
        try {
            for (ListObjectsV2Response page : s3.listObjectsV2Paginator(b -> b.bucket(bucket).prefix(tagPrefix))) {
                for (S3Object o : page.contents()) {
                    found.add(new Version(o.key().substring(prefix.length()), null, false, o.lastModified(), null));
                }
            }
        } catch (SdkException e) {
            throw failure(Call.LIST, null, e);
        }
        return found;
    }

    private Manifest.ObjectLock lockOf(String key, String versionId) {
        if (objectLockEnabled == null) {
            try {
                requireObjectLock();
            } catch (CheckpointException e) {
                if (!e.code().equals("store.lock-unsupported")) {
                    throw e;
                }
            }
        }
        if (!objectLockEnabled) {
            return null;
        }
        return retention(key, versionId).orElse(null);
    }

    /**
     * GetObjectRetention of one version (HEAD does not report the lock of an older version on
     * every S3-compatible server): empty when the version has none.
     */
    private Optional<Manifest.ObjectLock> retention(String key, String versionId) {
        try {
            var r = s3.getObjectRetention(b -> b.bucket(bucket).key(objectKey(key)).versionId(versionId)).retention();
            return r == null || r.retainUntilDate() == null ? Optional.empty()
                    : Optional.of(new Manifest.ObjectLock(r.modeAsString(), r.retainUntilDate()));
        } catch (NoSuchKeyException e) {
            return Optional.empty();
        } catch (S3Exception e) {
            String code = e.awsErrorDetails() == null ? null : e.awsErrorDetails().errorCode();
            if (e.statusCode() == 404 || "NoSuchObjectLockConfiguration".equals(code) || "InvalidRequest".equals(code)) {
                return Optional.empty();
            }
            throw failure(Call.RETENTION, key, e);
        } catch (SdkException e) {
            throw failure(Call.RETENTION, key, e);
        }
    }

    @Override
    public Optional<Manifest.ObjectLock> lock(String key) {
        return retention(key, null);
    }

    @Override
    public void deleteVersion(Version version) {
        try {
            s3.deleteObject(b -> b.bucket(bucket).key(objectKey(version.key())).versionId(version.versionId()));
        } catch (SdkException e) {
            throw failure(version.versionId() == null ? Call.DELETE : Call.DELETE_VERSION, version.key(), e);
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
    public List<String> keys(String keyPrefix) {
        List<String> keys = new ArrayList<>();
        try {
            for (ListObjectsV2Response page : s3.listObjectsV2Paginator(b -> b.bucket(bucket).prefix(objectKey(keyPrefix)))) {
                // a key ending in "/" is a folder marker some servers and consoles create, not an object of ours
                page.contents().stream().filter(o -> !o.key().endsWith("/"))
                        .forEach(o -> keys.add(o.key().substring(prefix.length())));
            }
        } catch (SdkException e) {
            throw failure(Call.LIST, keyPrefix, e);
        }
        keys.sort(null);
        return keys;
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

    /** At most {@code remaining} bytes of {@code in}. */
    private static final class BoundedInputStream extends java.io.FilterInputStream {
        private long remaining;

        BoundedInputStream(InputStream in, long remaining) {
            super(in);
            this.remaining = remaining;
        }

        @Override
        public int read() throws IOException {
            if (remaining <= 0) {
                return -1;
            }
            int b = super.read();
            if (b >= 0) {
                remaining--;
            }
            return b;
        }

        @Override
        public int read(byte[] b, int off, int len) throws IOException {
            if (remaining <= 0) {
                return -1;
            }
            int n = super.read(b, off, (int) Math.min(len, remaining));
            if (n > 0) {
                remaining -= n;
            }
            return n;
        }
    }
}
