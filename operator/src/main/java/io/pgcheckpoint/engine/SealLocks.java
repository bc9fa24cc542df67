package io.pgcheckpoint.engine;

import java.sql.Array;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * The sealing transaction's locks. TRUNCATE and table rewrites (ALTER ... TYPE, VACUUM FULL,
 * CLUSTER) are not MVCC-safe: one that commits after a snapshot is taken but before the reader
 * locks the table makes the table look empty to that snapshot. So the sealing transaction takes
 * ACCESS SHARE on every table it will dump and count <em>before</em> its first query takes the
 * snapshot (LOCK TABLE does not take one), in OID order as pg_dump does, with a bounded wait.
 */
final class SealLocks {
    private static final int BATCH = 1000;

    private SealLocks() {
    }

    /** The attempt must start again: the schema moved under it, or a lock queue would cycle. */
    static final class Retry extends RuntimeException {
        Retry(String why) {
            super(why, null, false, false);
        }
    }

    /**
     * Locks every lockable relation in the transaction {@code c} has open and not yet used for a
     * query. A relation dropped or renamed since it was listed, or a deadlock, asks for a retry;
     * a lock not granted within {@code lockWait} throws the server's 55P03 for the caller to explain.
     */
    static Set<Long> lockAll(Connection c, List<Ledger.Relation> relations, Duration lockWait) throws SQLException {
        Db.execute(c, "SET LOCAL lock_timeout = " + Math.max(1, lockWait.toMillis()));
        List<Ledger.Relation> lockable = relations.stream().filter(Ledger.Relation::lockable).toList();
        try (Statement st = c.createStatement()) {
            for (int i = 0; i < lockable.size(); i += BATCH) {
                StringBuilder sql = new StringBuilder("LOCK TABLE ");
                List<Ledger.Relation> batch = lockable.subList(i, Math.min(lockable.size(), i + BATCH));
                for (int j = 0; j < batch.size(); j++) {
                    sql.append(j == 0 ? "ONLY " : ", ONLY ").append(batch.get(j).qualifiedName());
                }
                st.execute(sql.append(" IN ACCESS SHARE MODE").toString());
            }
        } catch (SQLException e) {
            if ("42P01".equals(e.getSQLState())) {
                throw new Retry("a table was dropped or renamed while the seal was locking");
            }
            if ("40P01".equals(e.getSQLState())) {
                throw new Retry("the seal's locks deadlocked with a concurrent statement");
            }
            throw e;
        }
        return lockable.stream().map(Ledger.Relation::oid).collect(java.util.stream.Collectors.toSet());
    }

    /**
     * After the snapshot: every table the snapshot sees must be one the transaction locked
     * before taking it; a table created between listing and locking means a retry.
     */
    static void verifyCovered(List<Ledger.Relation> seen, Set<Long> locked) {
        for (Ledger.Relation r : seen) {
            if (r.lockable() && !locked.contains(r.oid())) {
                throw new Retry("table " + r.display() + " was created while the seal was locking");
            }
        }
    }

    /** The relations this session holds granted locks on. */
    static Set<Long> held(Connection c) throws SQLException {
        Set<Long> oids = new HashSet<>();
        try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery(
                "SELECT relation FROM pg_locks WHERE pid = pg_backend_pid() AND locktype = 'relation' AND granted")) {
            while (rs.next()) {
                oids.add(rs.getLong(1));
            }
        }
        return oids;
    }

    static Array oidArray(Connection c, Collection<Long> oids) throws SQLException {
        return c.createArrayOf("int8", oids.toArray(new Long[0]));
    }

    /**
     * Who else holds or waits for ACCESS EXCLUSIVE (the one mode that conflicts with ACCESS SHARE)
     * on these relations, one phrase each: pid, application, user, state and for how long. Never
     * the query text, which may hold secrets.
     */
    static String describeConflicts(Connection meta, Collection<Long> oids, Collection<Integer> ours) throws SQLException {
        List<String> found = new ArrayList<>();
        try (PreparedStatement st = meta.prepareStatement("""
                SELECT l.pid, coalesce(nullif(a.application_name, ''), '?'), coalesce(a.usename, '?'),
                       coalesce(a.state, '?'), l.granted, n.nspname || '.' || c.relname,
                       round(extract(epoch FROM now() - coalesce(a.xact_start, a.query_start, now())))::bigint,
                       round(extract(epoch FROM now() - coalesce(a.state_change, now())))::bigint
                  FROM pg_locks l
                  JOIN pg_stat_activity a ON a.pid = l.pid
                  JOIN pg_class c ON c.oid = l.relation
                  JOIN pg_namespace n ON n.oid = c.relnamespace
                 WHERE l.locktype = 'relation' AND l.mode = 'AccessExclusiveLock'
                   AND l.relation = ANY(?::oid[]) AND l.pid <> ALL(?::int[]) AND l.pid <> pg_backend_pid()
                 ORDER BY l.granted DESC, l.pid
                 LIMIT 5
                """)) {
            st.setArray(1, oidArray(meta, oids));
            st.setArray(2, meta.createArrayOf("int4", ours.toArray(new Integer[0])));
            try (ResultSet rs = st.executeQuery()) {
                while (rs.next()) {
                    found.add("pid " + rs.getInt(1) + " (application '" + rs.getString(2) + "', user '" + rs.getString(3)
                            + "', " + rs.getString(4) + (rs.getString(4).equals("active") ? "" : " for " + rs.getLong(8) + " s")
                            + ", transaction open " + rs.getLong(7) + " s) "
                            + (rs.getBoolean(5) ? "holds" : "waits for") + " ACCESS EXCLUSIVE on " + rs.getString(6));
                }
            }
        }
        return found.isEmpty() ? "no session holds or awaits a conflicting lock any more" : String.join("; ", found);
    }
}
