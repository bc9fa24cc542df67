package io.pgcheckpoint.cli;

import io.pgcheckpoint.engine.Manifest;
import io.pgcheckpoint.engine.PgTools;
import io.pgcheckpoint.engine.Sealer;
import io.pgcheckpoint.engine.SealResult;
import io.pgcheckpoint.engine.Store;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(name = "seal", mixinStandardHelpOptions = true,
        description = {"Dump the database with pg_dump -Fc into the store, with a sha256 and the exact row count of",
                "every table taken in the dump's own snapshot. manifest.json is written last; an existing tag is never overwritten."})
final class SealCommand extends StoreCommand implements Callable<Integer> {
    @Option(names = "--db", paramLabel = "URI", defaultValue = "${env:PGCHECKPOINT_DB_URI}", description = "(env PGCHECKPOINT_DB_URI) libpq URI postgresql://user:password@host:5432/db; default: PGHOST, PGUSER, PGPASSWORD, PGDATABASE...")
    String db;

    @Option(names = "--tag", required = true, description = "Name of the checkpoint, e.g. pre-deploy-4f3a9c1.")
    String tag;

    @Option(names = "--commit", description = "Commit about to be deployed (recorded in the manifest).")
    String commit;

    @Option(names = "--reason", description = "Why this checkpoint was taken (recorded in the manifest).")
    String reason;

    @Option(names = "--compress", defaultValue = "auto", paramLabel = "METHOD[:LEVEL]",
            description = {"pg_dump's compression: auto (default), zstd[:1-22], lz4[:1-12], gzip[:1-9], none, or a gzip level 0-9.",
                    "auto is " + io.pgcheckpoint.engine.Compression.MODERN_DEFAULT + " with pg_dump 16 or newer, "
                            + io.pgcheckpoint.engine.Compression.LEGACY_DEFAULT + " before (docs/benchmarks.md); zstd and lz4 need pg_dump 16+."})
    String compress;

    @Option(names = "--exclude-schema", paramLabel = "SCHEMA", description = "Leave this schema out (repeatable; exact name).")
    java.util.List<String> excludeSchemas;

    @Option(names = "--exclude-table", paramLabel = "SCHEMA.TABLE", description = "Leave this table out (repeatable; exact name, quote odd ones).")
    java.util.List<String> excludeTables;

    @Option(names = "--jobs", paramLabel = "N", defaultValue = "1",
            description = {"Parallel pg_dump workers (default ${DEFAULT-VALUE}: one pg_dump -Fc stream). More than 1 dumps that many",
                    "tables at once in pg_dump's directory format, each file uploaded as soon as it is written, with its own sha256;",
                    "pg_dump opens N+1 database connections (the seal 2 more) and needs local disk (TMPDIR) for the files not uploaded yet."})
    int jobs;

    @Option(names = "--timeout", paramLabel = "DURATION", defaultValue = "6h",
            description = "Stop and fail (seal.timeout) when the whole seal takes longer, e.g. 45m (default ${DEFAULT-VALUE}).")
    String timeout;

    @Option(names = "--lock-wait-timeout", paramLabel = "DURATION", defaultValue = "30s",
            description = {"Longest wait for any one table lock, the seal's own and pg_dump's, e.g. 2m (default ${DEFAULT-VALUE}).",
                    "A statement holding a conflicting lock longer fails the seal with lock.timeout, naming it."})
    String lockWaitTimeout;

    @Option(names = "--object-lock-mode", paramLabel = "GOVERNANCE|COMPLIANCE", defaultValue = "${env:PGCHECKPOINT_OBJECT_LOCK_MODE}",
            description = {"S3 Object Lock of every object of the checkpoint, with --object-lock-days (env PGCHECKPOINT_OBJECT_LOCK_MODE).",
                    "The bucket must have Object Lock enabled, else store.lock-unsupported before anything is written."})
    String objectLockMode;

    @Option(names = "--object-lock-days", paramLabel = "N", defaultValue = "${env:PGCHECKPOINT_OBJECT_LOCK_DAYS}",
            description = "Days from now until which no version of the checkpoint can be deleted or overwritten (env PGCHECKPOINT_OBJECT_LOCK_DAYS).")
    Integer objectLockDays;

    /** Tests only: a retention in seconds, since a day is too long to wait for its end. */
    @Option(names = "--object-lock-seconds", hidden = true)
    Integer objectLockSeconds;

    @Option(names = "--signing-key", paramLabel = "PEM-FILE", defaultValue = "${env:PGCHECKPOINT_SIGNING_KEY_FILE}",
            description = "Ed25519 private key (PKCS#8 PEM) to sign the manifest with, stored as <tag>/manifest.sig (env PGCHECKPOINT_SIGNING_KEY_FILE).")
    java.nio.file.Path signingKey;

    @Override
    Store.Protection protection(Store s) {
        return super.protection(s).withLock(objectLock());
    }

    private Manifest.ObjectLock objectLock() {
        boolean mode = !blank(objectLockMode);
        boolean period = objectLockDays != null || objectLockSeconds != null;
        if (!mode && !period) {
            return null;
        }
        if (!mode || !period) {
            throw new io.pgcheckpoint.engine.CheckpointException("usage.object-lock",
                    "--object-lock-mode and --object-lock-days go together: give both, or neither");
        }
        String m = objectLockMode.strip().toUpperCase(java.util.Locale.ROOT);
        if (!Manifest.ObjectLock.MODES.contains(m)) {
            throw new io.pgcheckpoint.engine.CheckpointException("usage.object-lock",
                    "--object-lock-mode must be GOVERNANCE or COMPLIANCE, got '" + objectLockMode + "'");
        }
        java.time.Duration retention = objectLockSeconds != null ? java.time.Duration.ofSeconds(objectLockSeconds)
                : java.time.Duration.ofDays(objectLockDays);
        if (retention.isZero() || retention.isNegative()) {
            throw new io.pgcheckpoint.engine.CheckpointException("usage.object-lock", "--object-lock-days must be at least 1");
        }
        // fixed once: the archive, the signature, the manifest and the drill report share it
        return new Manifest.ObjectLock(m, java.time.Instant.now().plus(retention).truncatedTo(java.time.temporal.ChronoUnit.SECONDS));
    }

    @Override
    public Integer call() {
        java.security.PrivateKey key = signingKey == null ? null : io.pgcheckpoint.engine.Signatures.privateKey(signingKey);
        try (Store s = openStore()) {
            Manifest m = new Sealer(PgTools.locate(), output.progress()).signingWith(key)
                    .seal(new Sealer.Request(db(db), s, tag, commit, reason, io.pgcheckpoint.engine.Compression.parse(compress),
                            new io.pgcheckpoint.engine.Exclusions(excludeSchemas, excludeTables))
                            .withLimits(new Sealer.Limits(positive("--lock-wait-timeout", lockWaitTimeout),
                                    positive("--timeout", timeout))).withJobs(jobs));
            SealResult json = SealResult.of(m, s.uri(Manifest.key(m.tag(), m.archive().file())) + (m.archive().isDirectory() ? "/" : ""),
                    key != null);
            output.result(json, () -> System.out.printf("sealed %s: %s, %d tables, %d rows, sha256 %s%s%s%n",
                    json.archive(), json.size(), json.tables(), json.rows(), json.sha256(),
                    json.retainUntil() == null ? "" : ", locked (" + json.lockMode() + ") until " + json.retainUntil(),
                    json.signed() ? ", signed" : ""));
            return 0;
        }
    }

    private static java.time.Duration positive(String option, String text) {
        java.time.Duration d;
        try {
            d = CreateCommand.parseDuration(text);
        } catch (RuntimeException e) {
            d = java.time.Duration.ZERO;
        }
        if (d.isZero() || d.isNegative()) {
            throw new io.pgcheckpoint.engine.CheckpointException("usage.duration", option + " must be a positive duration such as 90s, 30m or 1h30m, got '" + text + "'");
        }
        return d;
    }
}
