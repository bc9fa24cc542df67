package io.pgcheckpoint.engine;

import java.time.Instant;

/**
 * The result of {@code delete}: {@code deleted} false when there was nothing under the tag,
 * {@code objects} the number of stored versions removed (delete markers included),
 * {@code retainUntil} the latest lock end among them when they had one (expired by now).
 */
public record DeleteResult(boolean ok, String tag, boolean deleted, int objects, Instant retainUntil) implements CommandResult {
}
