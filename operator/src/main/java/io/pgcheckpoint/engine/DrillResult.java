package io.pgcheckpoint.engine;

import java.util.List;
import java.util.Objects;

/**
 * The result of {@code drill}: proven, or the counts that differ. Not proven is an error too
 * ({@code drill.mismatch}), so that every failed result names its cause the same way.
 */
public record DrillResult(boolean ok, String tag, String restoreDrill, int tablesChecked, long rowsChecked, int mismatchCount,
                          List<String> mismatches, String drillServerVersion, String pgRestoreVersion,
                          int viewsRefreshed, List<String> notes, double seconds, String error, String message,
                          Boolean truncated) implements CommandResult {
    public static final String PROVEN = "proven";
    public static final String MISMATCH = "drill.mismatch";
    static final int LISTED = 10;

    public static DrillResult of(DrillReport r) {
        List<String> first = r.mismatches().stream().limit(LISTED).map(DrillReport.Mismatch::describe).toList();
        String message = r.proven() ? null : "checkpoint '" + r.tag() + "' is NOT proven: " + r.mismatches().size() + " of "
                + r.tablesChecked() + " counts differ from the ledger (" + (first.isEmpty()
                ? Objects.requireNonNullElse(r.failure(), "no detail") : "first: " + first.get(0)) + "); do not rely on it, seal a new one";
        return new DrillResult(r.proven(), r.tag(), r.proven() ? PROVEN : "failed", r.tablesChecked(), r.rowsChecked(),
                r.mismatches().size(), first, r.drillServerVersion(), r.pgRestoreVersion(), r.viewsRefreshed(),
                r.notes().isEmpty() ? null : r.notes(), r.totalMillis() / 1000.0, r.proven() ? null : MISMATCH,
                message, null);
    }

    public boolean proven() {
        return ok && PROVEN.equals(restoreDrill) && mismatchCount == 0;
    }

    @Override
    public DrillResult shrunk() {
        String shortMessage = message != null && message.length() > 1000 ? message.substring(0, 1000) + "…" : message;
        return new DrillResult(ok, tag, restoreDrill, tablesChecked, rowsChecked, mismatchCount, List.of(), drillServerVersion,
                pgRestoreVersion, viewsRefreshed, notes == null ? null : notes.stream().limit(3).toList(), seconds, error, shortMessage, true);
    }
}
