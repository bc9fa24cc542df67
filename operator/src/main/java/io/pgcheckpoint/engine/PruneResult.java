package io.pgcheckpoint.engine;

import java.time.Instant;
import java.util.List;

/**
 * The result of {@code prune}: what was removed (or, with {@code dryRun}, would be), what was
 * kept and why, and what could not be looked at or removed.
 */
public record PruneResult(boolean ok, boolean dryRun, List<Removed> removed, List<Kept> kept, List<Failed> failed)
        implements CommandResult {

    /** Why a checkpoint is kept: the first that applies, in this order. */
    public static final List<String> REASONS = List.of("protected", "in-progress", "newest-proven", "keep-last", "max-age", "locked");

    public record Removed(String tag, Instant createdAt) {
    }

    /** @param retainUntil the lock's end when there is one still in force, else null */
    public record Kept(String tag, String reason, Instant retainUntil) {
    }

    public record Failed(String tag, String code, String message) {
    }

    /** For a termination message: the kept ones without a lock go first (they are retried every run anyway). */
    @Override
    public PruneResult shrunk() {
        List<Kept> locked = kept.stream().filter(k -> k.retainUntil() != null).limit(20).toList();
        List<Failed> shortFailed = failed.stream().limit(10)
                .map(f -> new Failed(f.tag(), f.code(), f.message().length() > 200 ? f.message().substring(0, 200) + "…" : f.message()))
                .toList();
        return new PruneResult(ok, dryRun, removed.stream().limit(40).toList(), locked, shortFailed);
    }
}
