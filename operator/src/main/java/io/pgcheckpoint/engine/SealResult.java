package io.pgcheckpoint.engine;

import java.time.Instant;

/** The result of {@code seal}. */
public record SealResult(boolean ok, String tag, String commit, String archive, long bytes, String size, String sha256,
                         int tables, long rows, long largeObjects, String serverVersion, Integer serverMajor,
                         String pgDumpVersion, String compression, Instant snapshotTime, double seconds,
                         /** Until when no version of the checkpoint's objects can be deleted or overwritten; null: no Object Lock. */
                         Instant retainUntil, String lockMode, boolean signed) implements CommandResult {

    /** Without Object Lock and signature, as before them. */
    public SealResult(boolean ok, String tag, String commit, String archive, long bytes, String size, String sha256,
                      int tables, long rows, long largeObjects, String serverVersion, Integer serverMajor,
                      String pgDumpVersion, String compression, Instant snapshotTime, double seconds) {
        this(ok, tag, commit, archive, bytes, size, sha256, tables, rows, largeObjects, serverVersion, serverMajor,
                pgDumpVersion, compression, snapshotTime, seconds, null, null, false);
    }

    public static SealResult of(Manifest m, String archiveUri) {
        return of(m, archiveUri, false);
    }

    public static SealResult of(Manifest m, String archiveUri, boolean signed) {
        return new SealResult(true, m.tag(), m.commit(), archiveUri, m.archive().bytes(), Sizes.human(m.archive().bytes()),
                m.archive().sha256(), m.ledger().tableCount(), m.ledger().totalRows(), m.ledger().largeObjects(),
                m.serverVersion(), m.sourceMajor() > 0 ? Integer.valueOf(m.sourceMajor()) : null, m.pgDumpVersion(),
                m.archive().compression(), m.snapshotTime(), m.timings().totalMillis() / 1000.0,
                m.objectLock() == null ? null : m.objectLock().retainUntil(), m.objectLock() == null ? null : m.objectLock().mode(),
                signed);
    }

    @Override
    public SealResult shrunk() {
        String shortCommit = commit != null && commit.length() > 64 ? commit.substring(0, 64) : commit;
        return new SealResult(ok, tag, shortCommit, archive, bytes, size, sha256, tables, rows, largeObjects, serverVersion,
                serverMajor, pgDumpVersion, compression, snapshotTime, seconds, retainUntil, lockMode, signed);
    }
}
