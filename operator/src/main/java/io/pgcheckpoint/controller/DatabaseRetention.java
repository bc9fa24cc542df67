package io.pgcheckpoint.controller;

import io.fabric8.kubernetes.api.model.DeletionPropagation;
import io.fabric8.kubernetes.api.model.batch.v1.Job;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.fabric8.kubernetes.client.dsl.base.PatchContext;
import io.fabric8.kubernetes.client.dsl.base.PatchType;
import io.javaoperatorsdk.operator.api.reconciler.Context;
import io.pgcheckpoint.api.Checkpoint;
import io.pgcheckpoint.api.CheckpointStatus;
import io.pgcheckpoint.api.Database;
import io.pgcheckpoint.api.DatabaseStatus;
import io.pgcheckpoint.engine.Json;
import io.pgcheckpoint.engine.PruneResult;
import java.time.Duration;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.time.temporal.ChronoUnit;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.stream.Collectors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * spec.retention: a prune Job after a Checkpoint of the Database became Proven (and when a lock
 * that kept one has expired), at most once an hour. The Checkpoints still in progress are
 * passed with --protect; the prune itself never removes the newest Proven one nor a locked one.
 * On its result the Checkpoint resources of the removed tags are deleted (marked first, so that
 * their finalizer does not run a second cleanup), an Event says what was removed and kept, and
 * pgcheckpoint_checkpoints_pruned_total counts the removed ones.
 */
final class DatabaseRetention {
    private static final Logger LOG = LoggerFactory.getLogger(DatabaseRetention.class);
    static final Duration INTERVAL = Duration.ofHours(1);
    static final String LOCKED = "locked";
    private final JobFactory factory;
    private final OperatorMetrics metrics;

    DatabaseRetention(JobFactory factory, OperatorMetrics metrics) {
        this.factory = factory;
        this.metrics = metrics;
    }

    /** @return when to look again, or null to wait for an event */
    Duration reconcile(Database db, Context<Database> context, StatusPatch<DatabaseStatus, Database> patch) {
        if (db.getSpec().retention == null) {
            return null;
        }
        DatabaseStatus status = db.getStatus();
        if (status.retention == null) {
            status.retention = new DatabaseStatus.Retention();
        }
        DatabaseStatus.Retention r = status.retention;
        List<Checkpoint> checkpoints = context.getSecondaryResources(Checkpoint.class).stream()
                .filter(c -> c.getSpec() != null && db.getMetadata().getName().equals(c.getSpec().database)).toList();
        Instant now = Instant.now();
        if (r.pruneJob != null) {
            return observe(db, context, patch, checkpoints, now);
        }
        Instant last = instant(r.lastPruneTime);
        Instant newestProven = checkpoints.stream().map(Checkpoint::getStatus)
                .filter(s -> s != null && s.phase == CheckpointStatus.Phase.Proven).map(s -> instant(s.finishedAt))
                .filter(Objects::nonNull).max(Comparator.naturalOrder()).orElse(null);
        Instant lockedUntil = instant(r.lockedUntil);
        boolean provenSince = newestProven != null && (last == null || newestProven.isAfter(last));
        boolean lockExpired = lockedUntil != null && !now.isBefore(lockedUntil);
        if (!provenSince && !lockExpired) {
            return lockedUntil == null ? null : Duration.between(now, lockedUntil);
        }
        Instant earliest = last == null ? now : last.plus(INTERVAL);
        if (now.isBefore(earliest)) {
            return Duration.between(now, earliest);
        }
        start(db, context, patch, checkpoints);
        return null;
    }

    private void start(Database db, Context<Database> context, StatusPatch<DatabaseStatus, Database> patch, List<Checkpoint> checkpoints) {
        DatabaseStatus.Retention r = db.getStatus().retention;
        List<String> protect = checkpoints.stream().filter(c -> c.getStatus() == null || !c.getStatus().isDone())
                .map(Checkpoint::tag).distinct().sorted().toList();
        int number = (r.prunes == null ? 0 : r.prunes) + 1;
        Job job = factory.prune(db, protect, number);
        try {
            context.getClient().resource(job).create();
        } catch (KubernetesClientException e) {
            if (e.getCode() != 409) {
                finished(db, context, patch, EventRecorder.Type.Warning, EventRecorder.Reason.PruneFailed,
                        "cannot create the prune Job " + job.getMetadata().getName() + ": " + CheckpointJobs.apiMessage(e)
                                + "; retrying in an hour", List.of(), null);
                return;
            }
        }
        r.pruneJob = job.getMetadata().getName();
        r.prunes = number;
        LOG.info("database {}/{}: prune Job {} started (protecting {})", db.getMetadata().getNamespace(), db.getMetadata().getName(),
                r.pruneJob, protect);
    }

    private Duration observe(Database db, Context<Database> context, StatusPatch<DatabaseStatus, Database> patch,
                             List<Checkpoint> checkpoints, Instant now) {
        DatabaseStatus.Retention r = db.getStatus().retention;
        String name = r.pruneJob;
        JobOutcome<PruneResult> outcome = JobObserver.observe(context, db, name, PruneResult.class, List.of(db));
        PruneResult p = outcome.result();
        switch (outcome.state()) {
            case RUNNING, WAITING -> {
                return null;
            }
            case MISSING -> finished(db, context, patch, EventRecorder.Type.Warning, EventRecorder.Reason.PruneFailed,
                    "the prune Job " + name + " disappeared before it finished; nothing is known to be removed", List.of(), null);
            case BLOCKED -> {
                context.getClient().batch().v1().jobs().inNamespace(db.getMetadata().getNamespace()).withName(name)
                        .withPropagationPolicy(DeletionPropagation.BACKGROUND).delete();
                finished(db, context, patch, EventRecorder.Type.Warning, EventRecorder.Reason.PruneFailed,
                        "the prune Job " + name + " cannot run: " + outcome.message(), List.of(), null);
            }
            case SUCCEEDED, FAILED -> {
                if (p == null && outcome.error() == null && !outcome.resultOverdue() && outcome.state() == JobOutcome.State.SUCCEEDED) {
                    return Duration.ofSeconds(1);
                }
                if (p == null || p.removed() == null) {
                    finished(db, context, patch, EventRecorder.Type.Warning, EventRecorder.Reason.PruneFailed,
                            "the prune Job " + name + " failed: " + outcome.errorMessage(), List.of(), null);
                } else {
                    List<String> removed = p.removed().stream().map(PruneResult.Removed::tag).toList();
                    int deleted = deleteResources(db, context, checkpoints, Set.copyOf(removed), name);
                    patch.afterCommit(() -> metrics.pruned(db.getMetadata().getNamespace(), db.getMetadata().getName(), removed.size()));
                    List<PruneResult.Kept> kept = p.kept() == null ? List.of() : p.kept();
                    Instant lockedUntil = kept.stream().filter(k -> LOCKED.equals(k.reason()) && k.retainUntil() != null)
                            .map(PruneResult.Kept::retainUntil).min(Comparator.naturalOrder()).orElse(null);
                    List<PruneResult.Failed> failed = p.failed() == null ? List.of() : p.failed();
                    String message = "the prune Job " + name + " removed " + removed.size() + " checkpoint(s)"
                            + (removed.isEmpty() ? "" : " (" + String.join(", ", removed) + "; " + deleted + " Checkpoint resource(s) deleted)")
                            + " and kept " + kept.size() + " (" + kept.stream().collect(Collectors.groupingBy(PruneResult.Kept::reason,
                                    java.util.TreeMap::new, Collectors.counting())).entrySet().stream()
                                    .map(e -> e.getValue() + " " + e.getKey()).collect(Collectors.joining(", ")) + ")"
                            + (lockedUntil == null ? "" : "; the earliest lock expires " + lockedUntil.truncatedTo(ChronoUnit.SECONDS)
                                    + ", when it is pruned again")
                            + (failed.isEmpty() ? "" : "; could not remove " + failed.stream().map(f -> f.tag() + " (" + f.code() + ": "
                                    + f.message() + ")").collect(Collectors.joining(", ")));
                    boolean ok = p.ok() && failed.isEmpty() && outcome.state() == JobOutcome.State.SUCCEEDED;
                    finished(db, context, patch, ok ? EventRecorder.Type.Normal : EventRecorder.Type.Warning,
                            ok ? EventRecorder.Reason.Pruned : EventRecorder.Reason.PruneFailed, message, removed, lockedUntil);
                }
            }
        }
        Instant lockedUntil = instant(r.lockedUntil);
        Duration next = INTERVAL;
        if (lockedUntil != null && Duration.between(now, lockedUntil).compareTo(next) > 0) {
            next = Duration.between(now, lockedUntil);
        }
        return next;
    }

    private static void finished(Database db, Context<Database> context, StatusPatch<DatabaseStatus, Database> patch,
                                 EventRecorder.Type type, EventRecorder.Reason reason,
                                 String message, List<String> removed, Instant lockedUntil) {
        DatabaseStatus.Retention r = db.getStatus().retention;
        r.pruneJob = null;
        r.lastPruneTime = Instant.now().truncatedTo(ChronoUnit.SECONDS).toString();
        r.lastPrune = message;
        r.removed = removed;
        r.lockedUntil = lockedUntil == null ? null : lockedUntil.truncatedTo(ChronoUnit.SECONDS).plusSeconds(1).toString();
        patch.afterCommit(() -> {
            new EventRecorder(context.getClient()).record(db, type, reason, message);
            LOG.info("database {}/{}: {}", db.getMetadata().getNamespace(), db.getMetadata().getName(), message);
        });
    }

    /**
     * Deletes the Checkpoints of the removed tags, each first annotated with the prune Job's name:
     * their objects are gone already, so a Delete policy's finalizer goes without a cleanup Job.
     */
    private static int deleteResources(Database db, Context<Database> context, List<Checkpoint> checkpoints, Set<String> removed,
                                       String job) {
        int deleted = 0;
        for (Checkpoint c : checkpoints) {
            if (!removed.contains(c.tag()) || c.getMetadata().getDeletionTimestamp() != null
                    || c.getStatus() == null || !c.getStatus().isDone()) {
                continue; // a Checkpoint still in progress was protected: its tag cannot have been removed
            }
            var checkpoints1 = context.getClient().resources(Checkpoint.class).inNamespace(c.getMetadata().getNamespace())
                    .withName(c.getMetadata().getName());
            try {
                checkpoints1.patch(PatchContext.of(PatchType.JSON_MERGE),
                        Json.compact(Map.of("metadata", Map.of("uid", c.getMetadata().getUid(),
                                "annotations", Map.of(Labels.PRUNED_BY, job)))));
                checkpoints1.delete();
                deleted++;
            } catch (KubernetesClientException e) {
                if (e.getCode() != 404) {
                    LOG.warn("database {}/{}: cannot delete Checkpoint {} whose objects the prune removed: {}",
                            db.getMetadata().getNamespace(), db.getMetadata().getName(), c.getMetadata().getName(), e.getMessage());
                }
            }
        }
        return deleted;
    }

    private static Instant instant(String text) {
        try {
            return text == null ? null : Instant.parse(text);
        } catch (DateTimeParseException e) {
            return null;
        }
    }
}
