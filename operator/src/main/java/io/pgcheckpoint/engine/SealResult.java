package io.pgcheckpoint.engine;

import java.time.Instant;

/** The result of {@code seal}. */
public record SealResult(boolean ok, String tag, String commit, String archive, long bytes, String size, String sha256,
                         int tables, long rows, long largeObjects, String serverVersion, Integer serverMajor,
                         String pgDumpVersion, String compression, Instant snapshotTime, double seconds) implements CommandResult {

    public static SealResult of(Manifest m, String archiveUri) {
        return new SealResult(true, m.tag(), m.commit(), archiveUri, m.archive().bytes(), Sizes.human(m.archive().bytes()),
                m.archive().sha256(), m.ledger().tableCount(), m.ledger().totalRows(), m.ledger().largeObjects(),
                m.serverVersion(), m.sourceMajor() > 0 ? Integer.valueOf(m.sourceMajor()) : null, m.pgDumpVersion(),
                m.archive().compression(), m.snapshotTime(), m.timings().totalMillis() / 1000.0);
    }

    @Override
    public SealResult shrunk() {
        String shortCommit = commit != null && commit.length() > 64 ? commit.substring(0, 64) : commit;
        return new SealResult(ok, tag, shortCommit, archive, bytes, size, sha256, tables, rows, largeObjects, serverVersion,
                serverMajor, pgDumpVersion, compression, snapshotTime, seconds);
    }
}
