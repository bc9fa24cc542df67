package io.pgcheckpoint.cli;

import io.pgcheckpoint.engine.Archives;
import io.pgcheckpoint.engine.Differ;
import io.pgcheckpoint.engine.Store;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(name = "diff", mixinStandardHelpOptions = true,
        description = {"The damage report: tables missing, new, and row counts changed in the live database since the checkpoint.",
                "Exit 0 whether or not anything changed; read the report."})
final class DiffCommand extends StoreCommand implements Callable<Integer> {
    @Option(names = "--tag", required = true, description = "The checkpoint to compare with.")
    String tag;

    @Option(names = "--db", paramLabel = "URI", defaultValue = "${env:PGCHECKPOINT_DB_URI}", description = "(env PGCHECKPOINT_DB_URI) libpq URI of the live database (default: PG* environment).")
    String db;

    @Override
    public Integer call() {
        try (Store s = openStore()) {
            Differ.Report r = Differ.diff(Archives.manifest(s, tag), db(db));
            Map<String, Object> json = new LinkedHashMap<>();
            json.put("ok", true);
            json.put("tag", r.tag());
            json.put("clean", r.clean());
            json.put("missing", r.missing());
            json.put("added", r.added());
            json.put("changed", r.changed().stream().map(c -> Map.of("table", c.table(), "checkpoint", c.checkpointRows(), "live", c.liveRows())).toList());
            json.put("unchanged", r.unchanged());
            output.result(json, () -> {
                System.out.printf("%s compared with checkpoint %s:%n", r.database(), r.tag());
                r.missing().forEach(t -> System.out.println("  MISSING  " + t + "  (in the checkpoint, gone now)"));
                r.changed().forEach(c -> System.out.printf("  CHANGED  %s  %d -> %d rows (%+d)%n", c.table(), c.checkpointRows(), c.liveRows(), c.delta()));
                r.added().forEach(t -> System.out.println("  NEW      " + t + "  (not in the checkpoint)"));
                if (r.checkpointLargeObjects() != r.liveLargeObjects()) {
                    System.out.printf("  CHANGED  large objects  %d -> %d%n", r.checkpointLargeObjects(), r.liveLargeObjects());
                }
                System.out.println(r.clean() ? "  no table missing, new or changed in row count" : "  " + r.unchanged() + " table(s) unchanged");
            });
            return 0;
        }
    }
}
