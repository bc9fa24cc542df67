package io.pgcheckpoint.engine;

import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.jclouds.blobstore.BlobStore;
import org.jclouds.blobstore.domain.Blob;
import org.jclouds.blobstore.domain.BlobMetadata;
import org.jclouds.blobstore.domain.MultipartPart;
import org.jclouds.blobstore.domain.MultipartUpload;
import org.jclouds.blobstore.domain.PageSet;
import org.jclouds.blobstore.domain.StorageMetadata;
import org.jclouds.blobstore.options.GetOptions;
import org.jclouds.blobstore.options.ListContainerOptions;
import org.jclouds.blobstore.options.PutOptions;
import org.jclouds.blobstore.util.ForwardingBlobStore;
import org.jclouds.io.Payload;
import org.jclouds.rest.AuthorizationException;

/**
 * The IAM policy S3Proxy does not have. S3Proxy answers a genuine {@code 403 AccessDenied}
 * (its own error XML, through its own HTTP stack) whenever its backend raises a jclouds
 * {@link AuthorizationException}; this backend wrapper raises one for the S3 actions the test
 * has not granted, the way AWS evaluates them:
 * <ul>
 * <li>HEAD and GET of an object need {@code s3:GetObject}; for a key that does not exist the
 *     answer is 404 only with {@code s3:ListBucket}, otherwise 403;</li>
 * <li>PUT, CreateMultipartUpload, UploadPart and CompleteMultipartUpload need {@code s3:PutObject};</li>
 * <li>AbortMultipartUpload needs {@code s3:AbortMultipartUpload}, DELETE {@code s3:DeleteObject},
 *     ListObjectsV2 {@code s3:ListBucket}.</li>
 * </ul>
 * With the filesystem backend S3Proxy maps each of these requests to exactly one of the
 * methods below, so the action of every request is known here.
 */
final class PolicyBlobStore extends ForwardingBlobStore {
    static final String GET = "s3:GetObject";
    static final String PUT = "s3:PutObject";
    static final String LIST = "s3:ListBucket";
    static final String DELETE = "s3:DeleteObject";
    static final String ABORT = "s3:AbortMultipartUpload";
    static final Set<String> ALL = Set.of(GET, PUT, LIST, DELETE, ABORT);

    private final Set<String> granted = ConcurrentHashMap.newKeySet();

    PolicyBlobStore(BlobStore delegate) {
        super(delegate);
        granted.addAll(ALL);
    }

    /** Replaces the policy: only these actions are allowed from now on. */
    void allowOnly(Set<String> actions) {
        granted.retainAll(actions);
        granted.addAll(actions);
    }

    void allowAllBut(String... refused) {
        Set<String> actions = new java.util.HashSet<>(ALL);
        actions.removeAll(List.of(refused));
        allowOnly(actions);
    }

    private void require(String action) {
        if (!granted.contains(action)) {
            throw new AuthorizationException("policy does not allow " + action);
        }
    }

    /** AWS hides whether a key exists from callers that may not list the bucket. */
    private <T> T missingKey(T result) {
        if (result == null) {
            require(LIST);
        }
        return result;
    }

    @Override
    public BlobMetadata blobMetadata(String container, String name) {
        require(GET);
        return missingKey(super.blobMetadata(container, name));
    }

    @Override
    public Blob getBlob(String container, String name) {
        require(GET);
        return missingKey(super.getBlob(container, name));
    }

    @Override
    public Blob getBlob(String container, String name, GetOptions options) {
        require(GET);
        return missingKey(super.getBlob(container, name, options));
    }

    @Override
    public String putBlob(String container, Blob blob) {
        require(PUT);
        return super.putBlob(container, blob);
    }

    @Override
    public String putBlob(String container, Blob blob, PutOptions options) {
        require(PUT);
        return super.putBlob(container, blob, options);
    }

    @Override
    public MultipartUpload initiateMultipartUpload(String container, BlobMetadata metadata, PutOptions options) {
        require(PUT);
        return super.initiateMultipartUpload(container, metadata, options);
    }

    @Override
    public MultipartPart uploadMultipartPart(MultipartUpload upload, int partNumber, Payload payload) {
        require(PUT);
        return super.uploadMultipartPart(upload, partNumber, payload);
    }

    @Override
    public String completeMultipartUpload(MultipartUpload upload, List<MultipartPart> parts) {
        require(PUT);
        return super.completeMultipartUpload(upload, parts);
    }

    @Override
    public void abortMultipartUpload(MultipartUpload upload) {
        require(ABORT);
        super.abortMultipartUpload(upload);
    }

    @Override
    public PageSet<? extends StorageMetadata> list(String container) {
        require(LIST);
        return super.list(container);
    }

    @Override
    public PageSet<? extends StorageMetadata> list(String container, ListContainerOptions options) {
        require(LIST);
        return super.list(container, options);
    }

    @Override
    public void removeBlob(String container, String name) {
        require(DELETE);
        super.removeBlob(container, name);
    }
}
