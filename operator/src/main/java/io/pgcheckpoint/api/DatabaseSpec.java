package io.pgcheckpoint.api;

import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import io.fabric8.generator.annotation.Default;
import io.fabric8.generator.annotation.Max;
import io.fabric8.generator.annotation.Min;
import io.fabric8.generator.annotation.Pattern;
import io.fabric8.generator.annotation.Required;
import io.fabric8.generator.annotation.ValidationRule;
import io.fabric8.kubernetes.api.model.IntOrString;
import io.fabric8.kubernetes.api.model.Quantity;
import io.fabric8.kubernetes.api.model.ResourceRequirements;
import io.pgcheckpoint.engine.Compression;
import java.util.List;

/**
 * What to protect and where its checkpoints go. Owned by whoever owns the database: it alone
 * names the connection, the bucket, the images and the identity the Jobs run with.
 */
public class DatabaseSpec {
    @Required
    @JsonPropertyDescription("The Secret the Jobs read the connection from; the operator itself never reads it.")
    public Connection connection;
    @Required
    @JsonPropertyDescription("The S3-compatible bucket checkpoints go to, under <prefix>/<namespace>/<database>/<tag>/.")
    public StoreSpec store;
    @JsonPropertyDescription("How the dump Job runs pg_dump.")
    public DumpSpec dump;
    @JsonPropertyDescription("The restore drill: the throwaway PostgreSQL that proves each checkpoint.")
    public DrillSpec drill;
    @JsonPropertyDescription("Requests and limits of the dump, drill and restore Jobs' pgcheckpoint container.")
    public ResourceRequirements jobResources;
    @Pattern("^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$")
    @JsonPropertyDescription("ServiceAccount (in this namespace) the dump, drill and restore Jobs run as, with its token mounted: "
            + "for workload identity to the bucket (IRSA, GKE or Azure workload identity). Unset: no token is mounted.")
    public String serviceAccountName;
    @Pattern("^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$")
    @JsonPropertyDescription("ServiceAccount (in this namespace) the cleanup and prune Jobs run as: the only identity that needs "
            + "delete on the bucket. Unset: serviceAccountName, as the other Jobs.")
    public String cleanupServiceAccountName;
    // No @Default: a default the API server fills in would appear in every existing Database and
    // stop an older operator (which does not know the field) from reading any; unset means Retain.
    @JsonPropertyDescription("What deleting a Checkpoint of this Database does to its objects unless the Checkpoint says: "
            + "Retain (the default when unset) leaves the bucket untouched; Delete removes them through a cleanup Job first.")
    public DeletionPolicy deletionPolicy;
    @JsonPropertyDescription("Removes old checkpoints (their objects and Checkpoint resources) after each new Proven one, "
            + "at most hourly. Never the newest Proven one, one in progress, or one whose Object Lock has not expired.")
    public RetentionSpec retention;
    @JsonPropertyDescription("Ed25519 signing of each manifest: the private key only in the dump Job, the public key given to "
            + "the drill, restore, cleanup and prune Jobs, which then refuse an unsigned or altered checkpoint.")
    public SigningSpec signing;

    @ValidationRule(value = "has(self.keepLast) || has(self.maxAge)", message = "retention needs keepLast, maxAge or both")
    public static class RetentionSpec {
        @Min(1)
        @JsonPropertyDescription("Keep at least the newest N checkpoints (by creation time).")
        public Integer keepLast;
        @Pattern("^[0-9]+[dhm]$")
        @JsonPropertyDescription("Keep checkpoints younger than this, e.g. 30d, 720h or 90m.")
        public String maxAge;
    }

    public static class SigningSpec {
        @JsonPropertyDescription("Secret (in this namespace) with the Ed25519 private key (PKCS#8 PEM, "
                + "\"-----BEGIN PRIVATE KEY-----\"), mounted as a file into the dump Job only.")
        public SecretKey privateKeySecret;
        @ValidationRule(value = "self.startsWith('-----BEGIN PUBLIC KEY-----')",
                message = "publicKey must be a PEM Ed25519 public key (-----BEGIN PUBLIC KEY-----)")
        @JsonPropertyDescription("The Ed25519 public key (X.509 PEM, \"-----BEGIN PUBLIC KEY-----\") the drill, restore, cleanup and "
                + "prune Jobs verify every manifest with.")
        public String publicKey;
    }

    public static class SecretKey {
        @Required
        @Pattern("^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$")
        @JsonPropertyDescription("Name of the Secret (in this namespace).")
        public String name;
        @Required
        @Pattern("^[-._a-zA-Z0-9]+$")
        @JsonPropertyDescription("Key in the Secret.")
        public String key;
    }

    /** A Secret holding either a libpq URI under {@code key}, or host/port/user/password/dbname keys. */
    public static class Connection {
        @Required
        @JsonPropertyDescription("Name of the Secret (in this namespace).")
        public String secretName;
        @JsonPropertyDescription("Key holding a libpq URI (postgresql://user:password@host:5432/db); unset: the Secret holds "
                + "the keys host, port (optional), user, password and dbname.")
        public String key;
        @Pattern("^(disable|allow|prefer|require|verify-ca|verify-full)$")
        @Default("prefer")
        @JsonPropertyDescription("libpq sslmode: disable, allow, prefer, require, verify-ca or verify-full.")
        public String sslmode;
    }

    /** S3 Object Lock retention on every object a seal or drill writes. */
    public static class ObjectLockSpec {
        public enum Mode { GOVERNANCE, COMPLIANCE }

        @Required
        @JsonPropertyDescription("GOVERNANCE (a user with s3:BypassGovernanceRetention can still delete) or COMPLIANCE "
                + "(nobody can, not even the bucket's owner, until the retain-until date).")
        public Mode mode;
        @Required
        @Min(1)
        @JsonPropertyDescription("Days each object is locked from its write. The bucket must have been created with Object Lock.")
        public Integer retainDays;
    }

    @ValidationRule(value = "!has(self.kmsKeyId) || self.algorithm == 'aws:kms'", message = "kmsKeyId needs algorithm aws:kms")
    public static class EncryptionSpec {
        @Required
        @Pattern("^(AES256|aws:kms)$")
        @JsonPropertyDescription("AES256 (keys managed by the store) or aws:kms.")
        public String algorithm;
        @JsonPropertyDescription("KMS key id or ARN with aws:kms; unset: the bucket's default KMS key.")
        public String kmsKeyId;
    }

    public static class StoreSpec {
        @Required
        @Pattern("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
        @JsonPropertyDescription("Bucket name.")
        public String bucket;
        @JsonPropertyDescription("Key prefix; checkpoints go under <prefix>/<namespace>/<database>/<tag>/.")
        public String prefix;
        @JsonPropertyDescription("Bucket region, e.g. eu-central-1.")
        public String region;
        @Pattern("^https?://.+")
        @JsonPropertyDescription("S3-compatible endpoint URL, e.g. http://minio.storage:9000; unset for AWS S3.")
        public String endpoint;
        @JsonPropertyDescription("Path-style requests (bucket in the path), as MinIO and other S3-compatible servers need.")
        public Boolean pathStyle;
        @JsonPropertyDescription("Secret with AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY; unset to use the Jobs' workload "
                + "identity (serviceAccountName).")
        public String credentialsSecret;
        @JsonPropertyDescription("Object Lock retention on every object a seal or drill writes; the bucket must have Object Lock "
                + "enabled, else the seal refuses before writing anything.")
        public ObjectLockSpec objectLock;
        @JsonPropertyDescription("Server-side encryption of every object written, recorded in the manifest.")
        public EncryptionSpec serverSideEncryption;
    }

    public static class DumpSpec {
        @ValidationRule(value = "type(self) == int ? (self >= 0 && self <= 9) : self.matches('" + Compression.SYNTAX + "')",
                message = "compression must be auto, none, zstd[:1-22], lz4[:1-12], gzip[:1-9] or a gzip level 0-9")
        @JsonPropertyDescription("pg_dump's compression: auto (the default: zstd:1 with pg_dump 16 or newer, gzip:1 before), "
                + "zstd[:1-22], lz4[:1-12], gzip[:1-9], none, or a gzip level 0-9. zstd and lz4 need pg_dump 16+ "
                + "(the pgcheckpoint image has pg_dump 18).")
        public IntOrString compression;
        @Min(60)
        @Default("3600")
        @JsonPropertyDescription("Deadline of the dump Job in seconds; the seal stops itself with a message 30 s before.")
        public Long timeoutSeconds;
        @Min(1)
        @Default("30")
        @JsonPropertyDescription("How long the seal waits for any one table lock (its own, and pg_dump's) before failing with lock.timeout.")
        public Long lockWaitSeconds;
        @JsonPropertyDescription("Schemas left out of every checkpoint (exact names); the ledger leaves them out too.")
        public List<String> excludeSchemas;
        @JsonPropertyDescription("Tables left out, as schema.table (exact names).")
        public List<String> excludeTables;
        // No @Default: a default the API server fills in would appear in every Database that has a
        // dump section and stop an older operator (which does not know the field) from reading it.
        @Min(1)
        @Max(16)
        @JsonPropertyDescription("Parallel pg_dump workers (default when unset: 1, one pg_dump -Fc stream straight to the bucket). "
                + "More than 1 switches to pg_dump's directory format (-Fd -j N): the files are written to the dump Job's /tmp "
                + "(see scratchLimit) and each is uploaded, then removed. Each worker dumps one table at a time, so it helps "
                + "only with several large tables; each is one more connection to the database (pg_dump opens jobs + 1, the "
                + "seal 2 more: the role's connection limit needs room) and wants about one more core (jobResources).")
        public Integer jobs;
        @JsonPropertyDescription("Size limit of the dump Job's /tmp (an emptyDir) when jobs is more than 1, e.g. 20Gi: it holds "
                + "the files pg_dump is writing and those awaiting upload, at worst the whole archive. Default: twice the "
                + "newest sealed archive of this Database plus 512Mi, at least 1Gi; 4Gi when none is known. With jobs 1 "
                + "pg_dump streams and /tmp is 512Mi.")
        public Quantity scratchLimit;
    }

    public static class DrillSpec {
        @JsonPropertyDescription("PostgreSQL image of the throwaway server. {major} is replaced with the source server's major "
                + "version, so that the drill proves the archive on the major it came from; default: the operator's "
                + "(chart value drillImage, postgres:{major}). A server older than the source is refused. "
                + "It runs as uid 999 (the postgres user of the official and Debian images) with a read-only root filesystem.")
        public String image;
        @Min(1)
        @Max(16)
        @Default("2")
        @JsonPropertyDescription("Parallel pg_restore jobs.")
        public Integer jobs;
        @Min(60)
        @Default("3600")
        @JsonPropertyDescription("Deadline of the drill Job in seconds.")
        public Long timeoutSeconds;
        @JsonPropertyDescription("Resources of the throwaway PostgreSQL container.")
        public ResourceRequirements resources;
        @JsonPropertyDescription("Size limit of the throwaway server's data directory (an emptyDir), e.g. 50Gi. "
                + "Default: ten times the archive's size, at least 1Gi.")
        public Quantity storageLimit;
    }
}
