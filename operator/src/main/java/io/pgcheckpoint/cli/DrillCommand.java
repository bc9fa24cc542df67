package io.pgcheckpoint.cli;

import io.pgcheckpoint.engine.DrillReport;
import io.pgcheckpoint.engine.DrillResult;
import io.pgcheckpoint.engine.Driller;
import io.pgcheckpoint.engine.PgTools;
import io.pgcheckpoint.engine.Store;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(name = "drill", mixinStandardHelpOptions = true,
        description = {"Prove a checkpoint: download it, verify its sha256, restore it with pg_restore into an empty",
                "PostgreSQL and compare every table's row count with the ledger. Exit 0 only when all match."})
final class DrillCommand extends StoreCommand implements Callable<Integer> {
    @Option(names = "--tag", required = true, description = "The checkpoint to prove.")
    String tag;

    @Option(names = "--target", paramLabel = "URI",
            description = {"libpq URI of an empty database to restore into, on a server of at least the source's major version;",
                    "default: a throwaway PostgreSQL started from local binaries of the source's major (else the lowest newer one installed) and removed afterwards."})
    String target;

    @Option(names = {"-j", "--jobs"}, paramLabel = "N", description = "Parallel pg_restore jobs (default: the number of CPUs, at most 4).")
    Integer jobs;

    @Override
    public Integer call() {
        int j = jobs != null ? jobs : Math.min(4, Runtime.getRuntime().availableProcessors());
        try (Store s = openStore()) {
            DrillReport r = new Driller(PgTools.locate(), output.progress())
                    .drill(s, tag, target == null ? null : db(target), j);
            DrillResult json = DrillResult.of(r);
            output.result(json, () -> {
                if (r.proven()) {
                    System.out.printf("PROVEN %s: %d tables, %d rows restored and counted, all equal to the ledger%n",
                            r.tag(), r.tablesChecked(), r.rowsChecked());
                } else {
                    System.out.printf("FAILED %s: %d of %d tables differ from the ledger:%n", r.tag(), r.mismatches().size(), r.tablesChecked());
                    r.mismatches().stream().limit(10).forEach(m -> System.out.println("  " + m.describe()));
                }
            });
            if (!r.proven()) {
                System.err.println("error: " + json.message());
            }
            return r.proven() ? 0 : Main.FAILED;
        }
    }
}
