package io.pgcheckpoint.engine;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Removes checkpoints from a store: one by tag ({@link #delete}) or by a retention rule
 * ({@link #prune}). Nothing locked is ever touched: a tag with any version still under Object
 * Lock is left whole, never half deleted. A checkpoint goes manifest first, so that what is left
 * of an interrupted removal is an incomplete checkpoint, never one that looks complete.
 */
public final class Pruner {
    /** An archive without a manifest younger than this may be a seal still running. */
    public static final Duration IN_PROGRESS = Duration.ofHours(6);

    private final Store store;
    private final Progress progress;
    private final java.util.function.Supplier<Instant> clock;

    public Pruner(Store store, Progress progress) {
        this(store, progress, Instant::now);
    }

    Pruner(Store store, Progress progress, java.util.function.Supplier<Instant> clock) {
        this.store = store;
        this.progress = progress;
        this.clock = clock;
    }

    /** @param keepLast null or the number of newest checkpoints kept; @param maxAge null or the age under which they are kept */
    public record Rule(Integer keepLast, Duration maxAge, Set<String> protect, boolean dryRun) {
        public Rule {
            protect = protect == null ? Set.of() : Set.copyOf(protect);
            if (keepLast == null && maxAge == null) {
                throw new CheckpointException("usage.prune", "prune needs --keep-last N or --max-age DURATION (or both): "
                        + "without either it would remove every checkpoint that is not locked or the newest proven");
            }
            if (keepLast != null && keepLast < 0) {
                throw new CheckpointException("usage.prune", "--keep-last must be 0 or more, got " + keepLast);
            }
            if (maxAge != null && (maxAge.isNegative() || maxAge.isZero())) {
                throw new CheckpointException("usage.prune", "--max-age must be a positive duration such as 30d or 720h");
            }
        }
    }

    private static final Pattern DAYS = Pattern.compile("(\\d+)d");

    /** 30d, 720h, 1h30m: days, or a Go-style duration. */
    public static Duration parseAge(String text) {
        Matcher m = DAYS.matcher(text == null ? "" : text.strip());
        try {
            return m.matches() ? Duration.ofDays(Long.parseLong(m.group(1))) : Durations.parse(text.strip());
        } catch (RuntimeException e) {
            throw new CheckpointException("usage.duration", "--max-age must be a duration such as 30d, 720h or 1h30m, got '" + text + "'");
        }
    }

    /** One checkpoint as prune sees it. */
    private record Entry(String tag, Instant createdAt, boolean complete, boolean proven, Manifest.ObjectLock lock) {
    }

    public PruneResult prune(Rule rule) {
        Instant now = clock.get();
        List<Entry> entries = new ArrayList<>();
        List<PruneResult.Failed> failed = new ArrayList<>();
        for (String tag : store.listTags()) {
            try {
                entries.add(entry(tag));
            } catch (CheckpointException e) {
                // unreadable or untrusted (signature): never removed on the strength of what it claims
                failed.add(new PruneResult.Failed(tag, e.code(), e.getMessage()));
            }
        }
        List<Entry> complete = entries.stream().filter(Entry::complete)
                .sorted(Comparator.comparing(Entry::createdAt).reversed()).toList();
        Optional<Entry> newestProven = complete.stream().filter(Entry::proven).findFirst();
        List<PruneResult.Removed> removed = new ArrayList<>();
        List<PruneResult.Kept> kept = new ArrayList<>();
        for (Entry e : entries.stream().sorted(Comparator.comparing(Entry::createdAt).reversed()).toList()) {
            String reason = keepReason(e, rule, now, complete, newestProven);
            if (reason != null) {
                kept.add(new PruneResult.Kept(e.tag(), reason, e.lock() != null && e.lock().holdsAt(now) ? e.lock().retainUntil() : null));
                continue;
            }
            try {
                // the objects' own locks, whatever the manifest says (drill.json, or a lock set on the bucket later)
                Optional<Instant> lockedUntil = lockedUntil(store.versions(e.tag()), now);
                if (lockedUntil.isPresent()) {
                    kept.add(new PruneResult.Kept(e.tag(), "locked", lockedUntil.get()));
                    continue;
                }
                if (!rule.dryRun()) {
                    delete(e.tag());
                    progress.step("removed " + store.uri(e.tag()));
                }
                removed.add(new PruneResult.Removed(e.tag(), e.createdAt()));
            } catch (CheckpointException ex) {
                if (ex.code().equals("store.locked")) {
                    kept.add(new PruneResult.Kept(e.tag(), "locked", e.lock() == null ? null : e.lock().retainUntil()));
                } else {
                    failed.add(new PruneResult.Failed(e.tag(), ex.code(), ex.getMessage()));
                }
            }
        }
        return new PruneResult(failed.isEmpty(), rule.dryRun(), removed, kept, failed);
    }

    private String keepReason(Entry e, Rule rule, Instant now, List<Entry> complete, Optional<Entry> newestProven) {
        if (rule.protect().contains(e.tag())) {
            return "protected";
        }
        if (!e.complete()) {
            return Duration.between(e.createdAt(), now).compareTo(IN_PROGRESS) < 0 ? "in-progress" : null;
        }
        if (newestProven.isPresent() && newestProven.get().tag().equals(e.tag())) {
            return "newest-proven";
        }
        if (rule.keepLast() != null && complete.indexOf(e) < rule.keepLast()) {
            return "keep-last";
        }
        if (rule.maxAge() != null && Duration.between(e.createdAt(), now).compareTo(rule.maxAge()) < 0) {
            return "max-age";
        }
        if (e.lock() != null && e.lock().holdsAt(now)) {
            return "locked";
        }
        return null;
    }

    private Entry entry(String tag) {
        Optional<byte[]> bytes = store.read(Manifest.key(tag, Manifest.MANIFEST));
        if (bytes.isEmpty()) {
            // an incomplete checkpoint: as old as its newest object
            Instant newest = store.versions(tag).stream().map(Store.Version::modified).max(Comparator.naturalOrder())
                    .orElse(clock.get());
            return new Entry(tag, newest, false, false, null);
        }
        Manifest m = Archives.trusted(store, tag, bytes.get());
        boolean proven = store.read(Manifest.key(tag, Manifest.DRILL))
                .map(b -> Json.read(b, DrillReport.class).proven()).orElse(false);
        return new Entry(tag, m.createdAt() != null ? m.createdAt() : m.snapshotTime(), true, proven, m.objectLock());
    }

    private static Optional<Instant> lockedUntil(List<Store.Version> versions, Instant now) {
        return versions.stream().map(Store.Version::lock).filter(l -> l != null && l.holdsAt(now))
                .map(Manifest.ObjectLock::retainUntil).max(Comparator.naturalOrder());
    }

    /**
     * Removes every stored version of one checkpoint, or nothing: when any is locked it fails
     * with {@code store.locked}, naming the date until which it is.
     */
    public DeleteResult delete(String tag) {
        Tags.check(tag);
        Instant now = clock.get();
        List<Store.Version> versions = store.versions(tag);
        if (versions.isEmpty()) {
            return new DeleteResult(true, tag, false, 0, null);
        }
        Optional<Instant> locked = lockedUntil(versions, now);
        if (locked.isPresent()) {
            throw new CheckpointException("store.locked", "checkpoint '" + tag + "' in " + store.uri() + " is under Object Lock until "
                    + locked.get() + ": nothing was deleted; it can be deleted after that date (retention and locks never fight: "
                    + "retry then)");
        }
        Instant retainUntil = versions.stream().map(Store.Version::lock).filter(l -> l != null)
                .map(Manifest.ObjectLock::retainUntil).max(Comparator.naturalOrder()).orElse(null);
        // manifest first (it makes a checkpoint), delete markers last (they hide nothing once the versions are gone)
        List<Store.Version> order = versions.stream().sorted(Comparator.comparingInt(Pruner::rank)).toList();
        for (Store.Version v : order) {
            store.deleteVersion(v);
        }
        return new DeleteResult(true, tag, true, order.size(), retainUntil);
    }

    private static int rank(Store.Version v) {
        if (v.deleteMarker()) {
            return 3;
        }
        return v.key().endsWith("/" + Manifest.MANIFEST) ? 0 : v.key().endsWith("/" + Manifest.SIGNATURE) ? 1 : 2;
    }
}
