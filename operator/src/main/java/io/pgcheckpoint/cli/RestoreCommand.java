package io.pgcheckpoint.cli;

import io.pgcheckpoint.engine.PgTools;
import io.pgcheckpoint.engine.RestoreResult;
import io.pgcheckpoint.engine.Restorer;
import io.pgcheckpoint.engine.Store;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(name = "restore", mixinStandardHelpOptions = true,
        description = {"Bring chosen tables back from a checkpoint, in one transaction.",
                "side-by-side (default) restores them into a new schema restored_<tag> so you can compare and copy rows back;",
                "replace empties and refills (or recreates) the live tables and needs --confirm <tag>."})
final class RestoreCommand extends StoreCommand implements Callable<Integer> {
    @Option(names = "--tag", required = true, description = "The checkpoint to restore from.")
    String tag;

    @Option(names = {"-t", "--table"}, required = true, paramLabel = "SCHEMA.TABLE",
            description = "Table to restore (repeatable); quote odd names: '\"My Schema\".\"Odd table\"'.")
    List<String> tables;

    @Option(names = "--target", paramLabel = "URI", defaultValue = "${env:PGCHECKPOINT_DB_URI}", description = "(env PGCHECKPOINT_DB_URI) libpq URI of the database to restore into (default: PG* environment).")
    String target;

    @Option(names = "--mode", defaultValue = "side-by-side", converter = ModeConverter.class,
            description = "side-by-side (default) or replace.")
    Restorer.Mode mode;

    @Option(names = "--confirm", paramLabel = "TAG", description = "Required by --mode replace: the checkpoint's tag, repeated.")
    String confirm;

    @Option(names = "--into-schema", paramLabel = "SCHEMA", description = "Schema for side-by-side (default restored_<tag>).")
    String intoSchema;

    /** The engine's own mode, spelled as on the command line or as in a Restore's spec. */
    static final class ModeConverter implements picocli.CommandLine.ITypeConverter<Restorer.Mode> {
        @Override
        public Restorer.Mode convert(String value) {
            return switch (value) {
                case "side-by-side", "SideBySide" -> Restorer.Mode.SIDE_BY_SIDE;
                case "replace", "Replace" -> Restorer.Mode.REPLACE;
                default -> throw new picocli.CommandLine.TypeConversionException("use side-by-side or replace, not '" + value + "'");
            };
        }
    }

    @Override
    public Integer call() {
        try (Store s = openStore()) {
            Restorer.Report r = new Restorer(PgTools.locate(), output.progress()).restore(new Restorer.Request(s, tag, tables,
                    db(target), mode, confirm, intoSchema));
            RestoreResult json = RestoreResult.of(r);
            output.result(json, () -> {
                for (Restorer.TableResult t : r.tables()) {
                    System.out.printf("%s %s -> %s: %d rows restored, ledger %d%n", t.matches() ? "OK      " : "MISMATCH",
                            t.table(), t.restoredAs(), t.restoredRows(), t.ledgerRows());
                }
            });
            return r.allMatch() ? 0 : Main.FAILED;
        }
    }
}
