package io.pgcheckpoint.engine;

import java.time.Instant;
import java.util.List;

/**
 * The result of {@code prune} (issue 13 contract): what was removed, what was kept and why
 * ({@code keep-last}, {@code max-age}, {@code newest-proven}, {@code in-progress}, {@code protected},
 * {@code locked}, the last with its retain-until date), and what could not be removed.
 */
public record PruneResult(boolean ok, boolean dryRun, List<Removed> removed, List<Kept> kept, List<Failed> failed)
        implements CommandResult {
    public record Removed(String tag, Instant createdAt) {
    }

    public record Kept(String tag, String reason, Instant retainUntil) {
    }

    public record Failed(String tag, String code, String message) {
    }
}
