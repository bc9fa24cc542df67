package io.pgcheckpoint.cli;

import io.pgcheckpoint.engine.PruneResult;
import io.pgcheckpoint.engine.Pruner;
import io.pgcheckpoint.engine.Store;
import java.util.List;
import java.util.Set;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(name = "prune", mixinStandardHelpOptions = true,
        description = {"Remove old checkpoints from the store: those neither among the newest --keep-last nor younger than",
                "--max-age. Never the newest proven one, one in progress (an archive without a manifest younger than 6h),",
                "a --protect tag, or one under Object Lock (kept, with its retain-until date, and removed by a later prune).",
                "With --verify-key, a checkpoint whose signature fails is reported as failed and left alone."})
final class PruneCommand extends StoreCommand implements Callable<Integer> {
    @Option(names = "--keep-last", paramLabel = "N", description = "Keep the newest N checkpoints (by creation time).")
    Integer keepLast;

    @Option(names = "--max-age", paramLabel = "DURATION", description = "Keep checkpoints younger than this, e.g. 30d or 720h.")
    String maxAge;

    @Option(names = "--protect", paramLabel = "TAG", description = "Never remove this tag (repeatable), e.g. a checkpoint still being drilled.")
    List<String> protect;

    @Option(names = "--dry-run", description = "Report what would be removed; change nothing.")
    boolean dryRun;

    @Override
    public Integer call() {
        Pruner.Rule rule = new Pruner.Rule(keepLast, maxAge == null ? null : Pruner.parseAge(maxAge),
                protect == null ? Set.of() : Set.copyOf(protect), dryRun);
        try (Store s = openStore()) {
            PruneResult r = new Pruner(s, output.progress()).prune(rule);
            output.result(r, () -> {
                String verb = r.dryRun() ? "would remove" : "removed";
                r.removed().forEach(x -> System.out.printf("%-13s %s (created %s)%n", verb, x.tag(), x.createdAt()));
                r.kept().forEach(x -> System.out.printf("%-13s %s (%s%s)%n", "kept", x.tag(), x.reason(),
                        x.retainUntil() == null ? "" : ", locked until " + x.retainUntil()));
                r.failed().forEach(x -> System.out.printf("%-13s %s: %s %s%n", "failed", x.tag(), x.code(), x.message()));
                System.out.printf("%s %d, kept %d, failed %d in %s%n", verb, r.removed().size(), r.kept().size(),
                        r.failed().size(), s.uri());
            });
            return r.ok() ? 0 : Main.FAILED;
        }
    }
}
