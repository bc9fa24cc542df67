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

    @Option(names = "--timeout", paramLabel = "DURATION", defaultValue = "6h",
            description = "Stop and fail (seal.timeout) when the whole seal takes longer, e.g. 45m (default ${DEFAULT-VALUE}).")
    String timeout;

    @Option(names = "--lock-wait-timeout", paramLabel = "DURATION", defaultValue = "30s",
            description = {"Longest wait for any one table lock, the seal's own and pg_dump's, e.g. 2m (default ${DEFAULT-VALUE}).",
                    "A statement holding a conflicting lock longer fails the seal with lock.timeout, naming it."})
    String lockWaitTimeout;

    @Override
    public Integer call() {
        try (Store s = openStore()) {
            Manifest m = new Sealer(PgTools.locate(), output.progress())
                    .seal(new Sealer.Request(db(db), s, tag, commit, reason, io.pgcheckpoint.engine.Compression.parse(compress),
                            new io.pgcheckpoint.engine.Exclusions(excludeSchemas, excludeTables))
                            .withLimits(new Sealer.Limits(positive("--lock-wait-timeout", lockWaitTimeout),
                                    positive("--timeout", timeout))));
            SealResult json = SealResult.of(m, s.uri(Manifest.key(m.tag(), m.archive().file())));
            output.result(json, () -> System.out.printf("sealed %s: %s, %d tables, %d rows, sha256 %s%n",
                    json.archive(), json.size(), json.tables(), json.rows(), json.sha256()));
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
