package io.pgcheckpoint.engine;

import java.time.Instant;
import java.util.List;

/** {@code drill.json}: the proof, written beside the archive. */
public record DrillReport(
        String tag,
        boolean proven,
        Instant drilledAt,
        String drillServerVersion,
        String pgRestoreVersion,
        int tablesChecked,
        long rowsChecked,
        long largeObjectsExpected,
        long largeObjectsFound,
        List<Mismatch> mismatches,
        long downloadMillis,
        long restoreMillis,
        long countMillis,
        long totalMillis,
        String failure,
        /** Materialized views found populated after the restore (their rows are not in the archive). */
        int viewsRefreshed,
        /** How the restore was done when it differed from a plain pg_restore (e.g. through psql into an older server). */
        List<String> notes) {

    public DrillReport {
        notes = notes == null ? List.of() : List.copyOf(notes);
    }

    public record Mismatch(String table, long expected, Long found) {
        public String describe() {
            return table + ": expected " + expected + " rows, found " + (found == null ? "no table" : found);
        }
    }
}
