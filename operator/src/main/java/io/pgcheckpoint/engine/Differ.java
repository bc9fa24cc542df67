package io.pgcheckpoint.engine;

import java.sql.Connection;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** The damage report: the live database against a checkpoint's ledger. */
public final class Differ {
    private Differ() {
    }

    public record Change(String table, long checkpointRows, long liveRows) {
        public long delta() {
            return liveRows - checkpointRows;
        }
    }

    public record Report(String tag, String database, List<String> missing, List<String> added, List<Change> changed,
                         int unchanged, long checkpointLargeObjects, long liveLargeObjects) {
        public boolean clean() {
            return missing.isEmpty() && added.isEmpty() && changed.isEmpty() && checkpointLargeObjects == liveLargeObjects;
        }
    }

    public static Report diff(Manifest manifest, DbTarget db) {
        try (Connection c = Db.connect(db)) {
            Db.clearTimeouts(c);
            c.setAutoCommit(false);
            c.setTransactionIsolation(Connection.TRANSACTION_REPEATABLE_READ);
            c.setReadOnly(true);
            // Count every row, as the seal did: a policy must not turn into a reported mass delete.
            Db.execute(c, "SET LOCAL row_security = off");
            Map<String, Ledger.Relation> live = new LinkedHashMap<>();
            Exclusions excluded = manifest.excluded() == null ? Exclusions.NONE : manifest.excluded();
            List<Ledger.Relation> relations = Ledger.relations(c, excluded);
            ReadAccess.refuseHiddenRows(c, relations);
            for (Ledger.Relation r : Ledger.counted(relations)) {
                live.put(r.qualifiedName(), r);
            }
            List<String> missing = new ArrayList<>();
            List<Change> changed = new ArrayList<>();
            int unchanged = 0;
            for (Ledger.Entry entry : manifest.ledger().tables()) {
                if (entry.isMaterializedView()) {
                    continue; // format 1 listed views; their rows come from a refresh, not the archive
                }
                Ledger.Relation r = live.remove(entry.qualifiedName());
                if (r == null) {
                    missing.add(entry.display());
                    continue;
                }
                long now = Ledger.count(c, r.schema(), r.name(), entry.filter());
                if (now != entry.rows()) {
                    changed.add(new Change(entry.display(), entry.rows(), now));
                } else {
                    unchanged++;
                }
            }
            List<String> added = live.values().stream().map(r -> r.schema() + "." + r.name()).toList();
            long largeObjects = Ledger.largeObjects(c);
            c.rollback();
            return new Report(manifest.tag(), db.describe(), missing, added, changed, unchanged,
                    manifest.ledger().largeObjects(), largeObjects);
        } catch (SQLException e) {
            throw new CheckpointException("database.error", "comparing " + db.describe() + " with '" + manifest.tag()
                    + "' failed: " + e.getMessage(), e);
        }
    }
}
