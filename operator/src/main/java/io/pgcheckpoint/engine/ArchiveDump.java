package io.pgcheckpoint.engine;

import java.util.List;

/**
 * A running pg_dump whose output goes to the store: one stream ({@code -Fc}) or one object per
 * file ({@code -Fd -j N}, {@link DirectoryDump}). Nothing it writes is visible in the store
 * before {@link #commit()}, which the seal calls only once the dump is whole and its
 * transaction has ended.
 */
interface ArchiveDump {
    /**
     * @param sha256 of the single file, or of a directory's file list ({@link Manifest#listingSha256})
     * @param files  a directory's files; null for a single file
     */
    record Result(long bytes, String sha256, long millis, List<Manifest.ArchiveFile> files) {
    }

    /** Stops pg_dump at once (another thread: a deadline or a lock cycle); {@link #cancel} cleans up. */
    void kill();

    /** Waits for pg_dump and every upload; fails with a message naming what went wrong. */
    Result finish();

    /** Makes the archive visible in the store. */
    void commit();

    /** Stops pg_dump and discards everything written; safe after a failure or twice. */
    void cancel();
}
