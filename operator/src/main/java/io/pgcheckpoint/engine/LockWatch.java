package io.pgcheckpoint.engine;

import java.sql.Array;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.List;
import java.util.Set;
import java.util.function.Consumer;

/**
 * Watches pg_dump's session while it takes its own ACCESS SHARE locks, which the sealing
 * transaction already holds. A statement that asks for ACCESS EXCLUSIVE in between queues
 * behind the seal, and pg_dump's request then queues behind it: a cycle through the seal's
 * client, which PostgreSQL cannot detect, and which would hold the application's queries on
 * that table too. When pg_dump is blocked by a session that is itself blocked by the seal, the
 * watch reports it at once, so the seal can let go and try again. It watches until pg_dump is
 * done, polling less often once pg_dump holds every lock the seal holds.
 */
final class LockWatch implements AutoCloseable {
    private static final long POLL_MILLIS = 100;
    private static final long IDLE_POLL_MILLIS = 1000;
    private final Thread thread;
    private volatile boolean closed;

    /**
     * @param onCycle called once, from the watch's thread, with the sessions in the way when a cycle is seen
     */
    LockWatch(DbTarget db, String dumpApplication, int sealerPid, Set<Long> locked, Consumer<String> onCycle) {
        thread = new Thread(() -> watch(db, dumpApplication, sealerPid, locked, onCycle), "pg_dump-lock-watch");
        thread.setDaemon(true);
        thread.start();
    }

    private void watch(DbTarget db, String dumpApplication, int sealerPid, Set<Long> locked, Consumer<String> onCycle) {
        try (Connection c = Db.connect(db)) {
            Db.clearTimeouts(c);
            Array oids = SealLocks.oidArray(c, locked);
            try (PreparedStatement st = c.prepareStatement("""
                    SELECT a.pid,
                           (SELECT count(DISTINCT l.relation) FROM pg_locks l
                             WHERE l.pid = a.pid AND l.granted AND l.locktype = 'relation' AND l.relation = ANY(?::oid[])),
                           EXISTS (SELECT 1 FROM unnest(pg_blocking_pids(a.pid)) b WHERE ? = ANY(pg_blocking_pids(b)))
                      FROM pg_stat_activity a
                     WHERE a.application_name = ?
                     ORDER BY a.backend_start, a.pid -- pg_dump's leader; parallel workers connect after it
                     LIMIT 1
                    """)) {
                st.setArray(1, oids);
                st.setInt(2, sealerPid);
                st.setString(3, dumpApplication);
                boolean allLocked = false;
                while (!closed) {
                    try (ResultSet rs = st.executeQuery()) {
                        if (rs.next()) {
                            if (rs.getBoolean(3)) {
                                int dumpPid = rs.getInt(1);
                                String conflicts = SealLocks.describeConflicts(c, locked, List.of(sealerPid, dumpPid));
                                if (!closed) {
                                    onCycle.accept(conflicts);
                                }
                                return;
                            }
                            allLocked = rs.getLong(2) >= locked.size();
                        }
                    }
                    // Once pg_dump holds every lock the seal holds, nothing of the seal's can queue it
                    // any more: keep an eye on it, less often, until it is done.
                    Thread.sleep(allLocked ? IDLE_POLL_MILLIS : POLL_MILLIS);
                }
            }
        } catch (SQLException | CheckpointException e) {
            // A watch that cannot watch leaves pg_dump's --lock-wait-timeout as the bound.
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    @Override
    public void close() {
        closed = true;
        thread.interrupt();
        try {
            thread.join(5000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
