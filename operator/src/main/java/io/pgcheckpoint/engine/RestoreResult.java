package io.pgcheckpoint.engine;

import java.util.List;

/**
 * The result of {@code restore}: rows restored per table against the ledger. Counts that differ
 * are an error too ({@code restore.mismatch}), named in the message.
 */
public record RestoreResult(boolean ok, String tag, String mode, List<Restorer.TableResult> tables, String error, String message,
                            Boolean truncated) implements CommandResult {
    public static final String MISMATCH = "restore.mismatch";

    public static RestoreResult of(Restorer.Report r) {
        List<String> differ = r.tables().stream().filter(t -> !t.matches())
                .map(t -> t.table() + " (" + t.restoredRows() + " rows restored, ledger " + t.ledgerRows() + ")").toList();
        return new RestoreResult(r.allMatch(), r.tag(), r.mode(), r.tables(), r.allMatch() ? null : MISMATCH,
                r.allMatch() ? null : "rows restored differ from the ledger for " + String.join(", ", differ), null);
    }

    @Override
    public RestoreResult shrunk() {
        String shortMessage = message != null && message.length() > 1000 ? message.substring(0, 1000) + "…" : message;
        return new RestoreResult(ok, tag, mode, tables.stream().filter(t -> !t.matches()).limit(5).toList(), error, shortMessage, true);
    }
}
