package io.pgcheckpoint.cli;

import io.pgcheckpoint.engine.CheckpointException;
import io.pgcheckpoint.engine.DbTarget;
import io.pgcheckpoint.engine.Manifest;
import io.pgcheckpoint.engine.Signatures;
import io.pgcheckpoint.engine.S3Store;
import io.pgcheckpoint.engine.Store;
import io.pgcheckpoint.engine.Stores;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** Options every command that reads or writes a store shares. */
abstract class StoreCommand {
    @Mixin
    Output output = new Output();

    @Option(names = "--store", paramLabel = "URI", defaultValue = "${env:PGCHECKPOINT_STORE}",
            description = "Where checkpoints live: s3://bucket/prefix or file:DIR (env PGCHECKPOINT_STORE).")
    String store;

    @Option(names = "--s3-region", paramLabel = "REGION", defaultValue = "${env:AWS_REGION}",
            description = "S3 region (env AWS_REGION; default us-east-1).")
    String s3Region;

    @Option(names = "--s3-endpoint", paramLabel = "URL", defaultValue = "${env:AWS_ENDPOINT_URL_S3}",
            description = "S3-compatible endpoint, e.g. http://minio:9000 (env AWS_ENDPOINT_URL_S3 or AWS_ENDPOINT_URL).")
    String s3Endpoint;

    @Option(names = "--s3-path-style", defaultValue = "${env:PGCHECKPOINT_S3_PATH_STYLE:-false}",
            description = "Address the bucket in the path, as most S3-compatible servers need (env PGCHECKPOINT_S3_PATH_STYLE).")
    boolean s3PathStyle;

    @Option(names = "--sse", paramLabel = "AES256|aws:kms", defaultValue = "${env:PGCHECKPOINT_SSE}",
            description = "S3 server-side encryption of every object this command writes, recorded in the manifest (env PGCHECKPOINT_SSE).")
    String sse;

    @Option(names = "--sse-kms-key-id", paramLabel = "ID", defaultValue = "${env:PGCHECKPOINT_SSE_KMS_KEY_ID}",
            description = "The KMS key of --sse aws:kms (default: the account's aws/s3 key) (env PGCHECKPOINT_SSE_KMS_KEY_ID).")
    String sseKmsKeyId;

    @Option(names = "--verify-key", paramLabel = "PEM-FILE",
            description = {"Ed25519 public key (PEM) every manifest read must be signed with: unsigned or altered checkpoints",
                    "are refused (manifest.unsigned, manifest.signature-invalid). Default: the PEM text in env PGCHECKPOINT_VERIFY_KEY."})
    java.nio.file.Path verifyKey;

    Store openStore() {
        String endpoint = s3Endpoint != null ? s3Endpoint : System.getenv("AWS_ENDPOINT_URL");
        Store s = Stores.open(store, new S3Store.Settings(s3Region, endpoint, s3PathStyle));
        try {
            s.protect(protection(s));
        } catch (RuntimeException e) {
            s.close();
            throw e;
        }
        return s;
    }

    /** What the store applies to writes and checks on reads; seal adds its Object Lock. */
    Store.Protection protection(Store s) {
        return new Store.Protection(null, encryption(), verifyKey());
    }

    Manifest.Encryption encryption() {
        if (blank(sse)) {
            if (!blank(sseKmsKeyId)) {
                throw new CheckpointException("usage.sse", "--sse-kms-key-id needs --sse aws:kms");
            }
            return null;
        }
        return new Manifest.Encryption(sse.strip(), blank(sseKmsKeyId) ? null : sseKmsKeyId.strip());
    }

    java.security.PublicKey verifyKey() {
        if (verifyKey != null) {
            return Signatures.publicKey(verifyKey);
        }
        String pem = System.getenv("PGCHECKPOINT_VERIFY_KEY");
        return blank(pem) ? null : Signatures.publicKey(pem, "PGCHECKPOINT_VERIFY_KEY");
    }

    static boolean blank(String s) {
        return s == null || s.isBlank();
    }

    static DbTarget db(String uri) {
        return DbTarget.parse(uri, System.getenv());
    }
}
