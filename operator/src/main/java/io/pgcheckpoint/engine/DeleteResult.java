package io.pgcheckpoint.engine;

import java.time.Instant;

/**
 * The result of {@code delete --tag} (issue 13 contract): {@code deleted} false when the tag was
 * absent; {@code retainUntil} the lock's date when a locked object stopped it ({@code store.locked}).
 */
public record DeleteResult(boolean ok, String tag, boolean deleted, int objects, Instant retainUntil) implements CommandResult {
}
