package io.pgcheckpoint.cli;

import io.pgcheckpoint.engine.PgTools;
import io.pgcheckpoint.engine.RestoreResult;
import io.pgcheckpoint.engine.Restorer;
import io.pgcheckpoint.engine.Store;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(name = "restore", mixinStandardHelpOptions = true,
        description = {"Bring chosen tables back from a checkpoint, in one transaction.",
                "side-by-side (default) restores them into a new schema restored_<tag> so you can compare and copy rows back;",
                "replace empties and refills (or recreates) the live tables and needs --confirm <tag>.",
                "--plan prints what the restore would do and changes nothing. Details: docs/restore.md."})
final class RestoreCommand extends StoreCommand implements Callable<Integer> {
    @Option(names = "--tag", required = true, description = "The checkpoint to restore from.")
    String tag;

    @Option(names = {"-t", "--table"}, required = true, paramLabel = "SCHEMA.TABLE",
            description = "Table to restore (repeatable); a partitioned table brings all its partitions; "
                    + "quote odd names: '\"My Schema\".\"Odd table\"'.")
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

    @Option(names = "--plan", description = "Print what the restore would do (tables emptied or recreated, partitions attached, "
            + "foreign keys, sequences, triggers, what cannot be restored) and change nothing.")
    boolean plan;

    @Option(names = "--lock-timeout", paramLabel = "DURATION", defaultValue = "10s", converter = DurationConverter.class,
            description = "How long to wait for each table lock before giving up with nothing changed, e.g. 10s, 2m (default 10s).")
    Duration lockTimeout;

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

    static final class DurationConverter implements picocli.CommandLine.ITypeConverter<Duration> {
        @Override
        public Duration convert(String value) {
            java.util.regex.Matcher m = java.util.regex.Pattern.compile("(\\d+)(ms|s|m)?").matcher(value.strip());
            if (!m.matches()) {
                throw new picocli.CommandLine.TypeConversionException("use a duration like 500ms, 10s or 2m, not '" + value + "'");
            }
            long n = Long.parseLong(m.group(1));
            return switch (m.group(2) == null ? "s" : m.group(2)) {
                case "ms" -> Duration.ofMillis(n);
                case "m" -> Duration.ofMinutes(n);
                default -> Duration.ofSeconds(n);
            };
        }
    }

    @Override
    public Integer call() {
        try (Store s = openStore()) {
            Restorer restorer = new Restorer(PgTools.locate(), output.progress());
            Restorer.Request request = new Restorer.Request(s, tag, tables, db(target), mode, confirm, intoSchema, lockTimeout);
            return plan ? plan(restorer.plan(request)) : restore(restorer.restore(request));
        }
    }

    private int plan(Restorer.Plan p) {
        output.result(RestoreResult.of(p), () -> {
            System.out.println("Plan: " + p.mode() + " from checkpoint '" + p.tag() + "' into " + p.target()
                    + " (nothing has been changed)");
            for (Restorer.Action a : p.actions()) {
                System.out.println("  - " + a);
            }
            if (!p.warnings().isEmpty()) {
                System.out.println("Not restored, or restored differently:");
                p.warnings().forEach(w -> System.out.println("  ! " + w));
            }
            if (!p.blockers().isEmpty()) {
                System.out.println("The restore would be refused:");
                p.blockers().forEach(b -> System.out.println("  x " + b));
            }
        });
        return p.ok() ? 0 : Main.FAILED;
    }

    private int restore(Restorer.Report r) {
        output.result(RestoreResult.of(r), () -> {
            for (Restorer.TableResult t : r.tables()) {
                System.out.printf("%s %s -> %s: %d rows restored, ledger %d%s%n", t.matches() ? "OK      " : "MISMATCH",
                        t.table(), t.restoredAs(), t.restoredRows(), t.ledgerRows(), t.note() == null ? "" : " (" + t.note() + ")");
            }
            for (Restorer.Action a : r.done()) {
                System.out.println("  - " + a);
            }
            r.warnings().forEach(w -> System.out.println("warning: " + w));
        });
        return r.allMatch() ? 0 : Main.FAILED;
    }
}
