package io.pgcheckpoint.api;

import io.fabric8.generator.annotation.Default;
import io.fabric8.generator.annotation.Max;
import io.fabric8.generator.annotation.Min;
import io.fabric8.generator.annotation.Pattern;
import io.fabric8.generator.annotation.Required;
import io.fabric8.generator.annotation.ValidationRule;
import io.fabric8.kubernetes.api.model.IntOrString;
import io.fabric8.kubernetes.api.model.ResourceRequirements;
import io.pgcheckpoint.engine.Compression;

public class DatabaseSpec {
    @Required
    public Connection connection;
    @Required
    public StoreSpec store;
    public DumpSpec dump;
    public DrillSpec drill;
    /** Requests and limits of the dump and restore Jobs' pgcheckpoint container. */
    public ResourceRequirements jobResources;

    /** A Secret holding either a libpq URI under {@code key}, or host/port/user/password/dbname keys. */
    public static class Connection {
        @Required
        public String secretName;
        /** Key of a libpq URI in the Secret; when unset the Secret holds host, port, user, password, dbname. */
        public String key;
        @Pattern("^(disable|allow|prefer|require|verify-ca|verify-full)$")
        @Default("prefer")
        public String sslmode;
    }

    public static class StoreSpec {
        @Required
        @Pattern("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
        public String bucket;
        /** Checkpoints go under {@code <prefix>/<namespace>/<database>/<tag>/}. */
        public String prefix;
        public String region;
        /** S3-compatible endpoint URL, e.g. http://minio.storage:9000. */
        @Pattern("^https?://.+")
        public String endpoint;
        public Boolean pathStyle;
        /** Secret with AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY; unset to use the pod's workload identity. */
        public String credentialsSecret;
    }

    public static class DumpSpec {
        /**
         * pg_dump's compression: auto (the default: zstd:1 with pg_dump 16 or newer, gzip:1 before),
         * zstd[:1-22], lz4[:1-12], gzip[:1-9], none, or a gzip level 0-9. zstd and lz4 need pg_dump 16+
         * (the pgcheckpoint image has pg_dump 18).
         */
        @ValidationRule(value = "type(self) == int ? (self >= 0 && self <= 9) : self.matches('" + Compression.SYNTAX + "')",
                message = "compression must be auto, none, zstd[:1-22], lz4[:1-12], gzip[:1-9] or a gzip level 0-9")
        public IntOrString compression;
        @Min(60)
        @Default("3600")
        public Long timeoutSeconds;
        /** How long the seal waits for any one table lock (its own, and pg_dump's) before failing with lock.timeout. */
        @Min(1)
        @Default("30")
        public Long lockWaitSeconds;
        /** Schemas left out of every checkpoint (exact names); the ledger leaves them out too. */
        public java.util.List<String> excludeSchemas;
        /** Tables left out, as schema.table (exact names). */
        public java.util.List<String> excludeTables;
    }

    public static class DrillSpec {
        /**
         * PostgreSQL image of the throwaway server. {major} is replaced with the source server's major
         * version, so that the drill proves the archive on the major it came from; default: the
         * operator's (chart value drillImage, postgres:{major}). A server older than the source is refused.
         */
        public String image;
        @Min(1)
        @Max(16)
        @Default("2")
        public Integer jobs;
        @Min(60)
        @Default("3600")
        public Long timeoutSeconds;
        /** Resources of the throwaway PostgreSQL container. */
        public ResourceRequirements resources;
    }
}
