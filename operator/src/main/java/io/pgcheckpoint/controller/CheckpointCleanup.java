package io.pgcheckpoint.controller;

import io.fabric8.kubernetes.api.model.DeletionPropagation;
import io.fabric8.kubernetes.api.model.batch.v1.Job;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.javaoperatorsdk.operator.api.reconciler.Context;
import io.javaoperatorsdk.operator.api.reconciler.PrimaryUpdateAndCacheUtils;
import io.javaoperatorsdk.operator.processing.event.ResourceID;
import io.pgcheckpoint.api.Checkpoint;
import io.pgcheckpoint.api.CheckpointStatus;
import io.pgcheckpoint.api.Database;
import io.pgcheckpoint.api.DeletionPolicy;
import io.pgcheckpoint.api.Reasons;
import io.pgcheckpoint.engine.DeleteResult;
import java.time.Duration;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.time.temporal.ChronoUnit;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * deletionPolicy Delete: the finalizer {@value Labels#DELETE_OBJECTS_FINALIZER} on exactly the
 * Checkpoints whose effective policy is Delete, and, once such a Checkpoint is deleted, cleanup
 * Jobs ({@code pgcheckpoint delete --tag}) until its objects are gone. Only then does the
 * finalizer go. A lock is reported with its retain-until date and retried then; any other
 * failure is reported and retried with a backoff. Retain: no finalizer, the bucket untouched.
 */
final class CheckpointCleanup {
    private static final Logger LOG = LoggerFactory.getLogger(CheckpointCleanup.class);
    static final String FINALIZER = Labels.DELETE_OBJECTS_FINALIZER;
    static final Duration FIRST_BACKOFF = Duration.ofSeconds(30);
    static final Duration MAX_BACKOFF = Duration.ofHours(1);
    /** The engine's code when a locked object stopped the delete. */
    static final String STORE_LOCKED = "store.locked";
    private final JobFactory factory;

    CheckpointCleanup(JobFactory factory) {
        this.factory = factory;
    }

    /**
     * A live Checkpoint: adds the finalizer when its effective policy is Delete, removes it when
     * the policy became Retain. Without a Database and a policy of its own, nothing changes.
     *
     * @return true when it changed the finalizer: the stored resource is cached, and the reconcile
     *         ends there, so that the status is worked out from that copy (the finalizer patch
     *         may have re-read the resource, and the status this reconcile has may be older)
     */
    boolean keepFinalizer(Checkpoint checkpoint, Context<Checkpoint> context) {
        Database db = context.getSecondaryResource(Database.class).orElse(null);
        if (db == null && (checkpoint.getSpec() == null || checkpoint.getSpec().deletionPolicy == null)) {
            return false;
        }
        boolean delete = DeletionPolicy.effective(checkpoint, db) == DeletionPolicy.Delete;
        Checkpoint stored;
        if (delete && !checkpoint.hasFinalizer(FINALIZER)) {
            stored = PrimaryUpdateAndCacheUtils.addFinalizer(context.getClient(), checkpoint, FINALIZER);
        } else if (!delete && checkpoint.hasFinalizer(FINALIZER)) {
            stored = PrimaryUpdateAndCacheUtils.removeFinalizer(context.getClient(), checkpoint, FINALIZER);
        } else {
            return false;
        }
        context.eventSourceRetriever().getControllerEventSource()
                .handleRecentResourceUpdate(ResourceID.fromResource(checkpoint), stored, checkpoint);
        return true;
    }

    /**
     * A deleted Checkpoint that holds the finalizer.
     *
     * @return true when the finalizer was removed (the resource is gone or going: no status patch);
     *         else the status says why not, and {@code again} when to look again
     */
    Result onDeletion(Checkpoint checkpoint, Context<Checkpoint> context, CheckpointJobs jobs) {
        CheckpointStatus status = checkpoint.getStatus();
        EventRecorder events = new EventRecorder(context.getClient());
        String tag = checkpoint.tag();
        String prunedBy = annotation(checkpoint, Labels.PRUNED_BY);
        if (prunedBy != null) {
            events.record(checkpoint, EventRecorder.Type.Normal, EventRecorder.Reason.ObjectsDeleted,
                    "the objects of '" + tag + "' were removed by the prune Job " + prunedBy + " (retention)");
            return release(checkpoint, context);
        }
        if (!wroteObjects(status)) {
            events.record(checkpoint, EventRecorder.Type.Normal, EventRecorder.Reason.ObjectsDeleted,
                    "nothing was written under '" + tag + "' by this Checkpoint (its dump never ran, or was refused because the tag "
                            + "existed), so nothing is deleted from the bucket");
            return release(checkpoint, context);
        }
        if (jobs.stopUnfinished(checkpoint, context, true)) {
            status.cleaning(Reasons.DELETING_OBJECTS, "stopping the unfinished Jobs of '" + tag + "' before removing its objects");
            return Result.again(Duration.ofSeconds(5));
        }
        Optional<Database> database = context.getSecondaryResource(Database.class);
        if (database.isEmpty()) {
            String why = "Database '" + checkpoint.getSpec().database + "' does not exist, so the objects of '" + tag
                    + "' cannot be removed (deletionPolicy Delete): create the Database again, or remove the finalizer " + FINALIZER
                    + " by hand to keep the objects; retrying in 1 minute";
            warn(checkpoint, status, events, Reasons.CLEANUP_BLOCKED, EventRecorder.Reason.CleanupFailed, why);
            return Result.again(Duration.ofMinutes(1));
        }
        Database db = database.get();
        CheckpointStatus.Cleanup cleanup = status.cleanup;
        if (cleanup == null || cleanup.job == null) {
            return start(checkpoint, db, context, 1);
        }
        Instant now = Instant.now();
        if (cleanup.retryAt != null) {
            // the last Job was judged; the next one starts at retryAt
            Instant at = instant(cleanup.retryAt, now);
            return now.isBefore(at) ? Result.again(Duration.between(now, at)) : start(checkpoint, db, context, attempts(cleanup) + 1);
        }
        JobOutcome<DeleteResult> outcome = JobObserver.observe(context, checkpoint, cleanup.job, DeleteResult.class, List.of(db));
        DeleteResult r = outcome.result();
        switch (outcome.state()) {
            case MISSING -> {
                return start(checkpoint, db, context, attempts(cleanup) + 1);
            }
            case RUNNING -> {
                return Result.waiting();
            }
            case WAITING -> {
                status.cleaning(outcome.reason(), outcome.message());
                return Result.waiting();
            }
            case BLOCKED -> {
                context.getClient().batch().v1().jobs().inNamespace(checkpoint.getMetadata().getNamespace()).withName(cleanup.job)
                        .withPropagationPolicy(DeletionPropagation.BACKGROUND).delete();
                return retryLater(checkpoint, status, events, outcome.reason(), "the cleanup Job " + cleanup.job + " cannot run: "
                        + outcome.message());
            }
            case SUCCEEDED -> {
                if (r == null && outcome.error() == null && !outcome.resultOverdue()) {
                    return Result.again(Duration.ofSeconds(1));
                }
                if (r != null && r.ok()) {
                    events.record(checkpoint, EventRecorder.Type.Normal, EventRecorder.Reason.ObjectsDeleted, r.deleted()
                            ? "deleted the " + r.objects() + " objects of '" + tag + "' from " + JobFactory.storeUri(db)
                            : "'" + tag + "' has no objects in " + JobFactory.storeUri(db) + " (already gone)");
                    return release(checkpoint, context);
                }
                return retryLater(checkpoint, status, events, Reasons.CLEANUP_FAILED, "the cleanup Job " + cleanup.job
                        + " completed without deleting '" + tag + "': " + outcome.errorMessage());
            }
            case FAILED -> {
                if (outcome.error() != null && STORE_LOCKED.equals(outcome.error().error())) {
                    Instant until = lockedUntil(r, outcome.errorMessage(), status, now);
                    if (until.isBefore(now)) {
                        until = now.plus(FIRST_BACKOFF);
                    }
                    String why = "the objects of '" + tag + "' are locked until " + until.truncatedTo(ChronoUnit.SECONDS)
                            + (status.lockMode != null ? " (Object Lock " + status.lockMode + ")" : "")
                            + ", so they cannot be deleted yet; this Checkpoint stays until then and the cleanup runs again at that time"
                            + (outcome.errorMessage() == null ? "" : " (" + outcome.errorMessage() + ")");
                    warn(checkpoint, status, events, Reasons.OBJECTS_LOCKED, EventRecorder.Reason.ObjectsLocked, why);
                    cleanup.retryAt = until.plusSeconds(1).truncatedTo(ChronoUnit.SECONDS).toString();
                    return Result.again(Duration.between(now, until).plusSeconds(1));
                }
                return retryLater(checkpoint, status, events, outcome.failureReason(), "the cleanup Job " + cleanup.job
                        + " failed to delete the objects of '" + tag + "': " + outcome.errorMessage());
            }
        }
        return Result.waiting();
    }

    /** The date in {@code store.locked}'s message: "... is under Object Lock until 2026-12-03T10:00:00Z: ...". */
    static final java.util.regex.Pattern UNTIL = java.util.regex.Pattern.compile("until (\\d{4}-\\d{2}-\\d{2}T[0-9:.]+Z)");

    /**
     * Until when the lock holds: the result's retainUntil, else the date the error message names,
     * else the seal's (status.retainUntil), else an hour from now.
     */
    static Instant lockedUntil(DeleteResult r, String message, CheckpointStatus status, Instant now) {
        if (r != null && r.retainUntil() != null) {
            return r.retainUntil();
        }
        java.util.regex.Matcher m = UNTIL.matcher(message == null ? "" : message);
        if (m.find()) {
            Instant named = instant(m.group(1), null);
            if (named != null) {
                return named;
            }
        }
        return status.retainUntil != null ? instant(status.retainUntil, now.plus(MAX_BACKOFF)) : now.plus(MAX_BACKOFF);
    }

    private Result start(Checkpoint checkpoint, Database db, Context<Checkpoint> context, int attempt) {
        CheckpointStatus status = checkpoint.getStatus();
        Job job = factory.cleanup(checkpoint, db, attempt);
        String name = job.getMetadata().getName();
        try {
            context.getClient().resource(job).create();
        } catch (KubernetesClientException e) {
            if (e.getCode() != 409) {
                String api = CheckpointJobs.apiMessage(e);
                if (e.getCode() == 403 && api != null && api.contains("being terminated")) {
                    // the namespace is going: no Job can run in it any more, and the finalizer holds the namespace
                    return retryLater(checkpoint, status, new EventRecorder(context.getClient()), Reasons.CLEANUP_BLOCKED,
                            "namespace " + checkpoint.getMetadata().getNamespace() + " is being deleted, so no cleanup Job can "
                                    + "remove the objects of '" + checkpoint.tag() + "' (deletionPolicy Delete): delete them with "
                                    + "`pgcheckpoint delete --store " + JobFactory.storeUri(db) + " --tag " + checkpoint.tag()
                                    + "`, then remove the finalizer " + FINALIZER + " (kubectl patch checkpoint "
                                    + checkpoint.getMetadata().getName() + " --type=merge -p '{\"metadata\":{\"finalizers\":null}}')");
                }
                return retryLater(checkpoint, status, new EventRecorder(context.getClient()), Reasons.JOB_CREATE_FAILED,
                        "cannot create the cleanup Job " + name + ": " + api);
            }
        }
        CheckpointStatus.Cleanup cleanup = status.cleanup == null ? new CheckpointStatus.Cleanup() : status.cleanup;
        cleanup.job = name;
        cleanup.attempts = attempt;
        cleanup.retryAt = null;
        status.cleanup = cleanup;
        String why = "removing the objects of '" + checkpoint.tag() + "' from " + JobFactory.storeUri(db) + " (deletionPolicy Delete, Job "
                + name + (attempt > 1 ? ", attempt " + attempt : "") + ")";
        status.cleaning(Reasons.DELETING_OBJECTS, why);
        new EventRecorder(context.getClient()).record(checkpoint, EventRecorder.Type.Normal, EventRecorder.Reason.DeletingObjects, why);
        LOG.info("checkpoint {}/{}: {}", checkpoint.getMetadata().getNamespace(), checkpoint.getMetadata().getName(), why);
        return Result.waiting();
    }

    /** Reported, and tried again after a backoff that doubles with each attempt, up to an hour. */
    private static Result retryLater(Checkpoint checkpoint, CheckpointStatus status, EventRecorder events, String reason, String what) {
        CheckpointStatus.Cleanup cleanup = status.cleanup == null ? new CheckpointStatus.Cleanup() : status.cleanup;
        status.cleanup = cleanup;
        Duration backoff = backoff(attempts(cleanup));
        warn(checkpoint, status, events, reason, EventRecorder.Reason.CleanupFailed, what + "; the objects stay and the Checkpoint "
                + "with them; retrying in " + backoff.toSeconds() + " s");
        cleanup.retryAt = Instant.now().plus(backoff).truncatedTo(ChronoUnit.SECONDS).toString();
        return Result.again(backoff);
    }

    static Duration backoff(int attempts) {
        Duration d = FIRST_BACKOFF;
        for (int i = 1; i < attempts && d.compareTo(MAX_BACKOFF) < 0; i++) {
            d = d.multipliedBy(2);
        }
        return d.compareTo(MAX_BACKOFF) > 0 ? MAX_BACKOFF : d;
    }

    private static void warn(Checkpoint checkpoint, CheckpointStatus status, EventRecorder events, String reason,
                             EventRecorder.Reason eventReason, String why) {
        status.cleaning(reason, why);
        events.record(checkpoint, EventRecorder.Type.Warning, eventReason, why);
        LOG.warn("checkpoint {}/{}: {}", checkpoint.getMetadata().getNamespace(), checkpoint.getMetadata().getName(), why);
    }

    private static Result release(Checkpoint checkpoint, Context<Checkpoint> context) {
        PrimaryUpdateAndCacheUtils.removeFinalizer(context.getClient(), checkpoint, FINALIZER);
        return Result.done();
    }

    /**
     * Whether this Checkpoint may have objects of its own under its tag: its dump Job was created,
     * and the seal was not refused because the tag already existed (those objects are another's).
     */
    static boolean wroteObjects(CheckpointStatus status) {
        return status != null && status.dumpJob != null
                && !(status.phase == CheckpointStatus.Phase.Failed && Reasons.fromCode("store.exists").equals(status.readyReason()));
    }

    private static int attempts(CheckpointStatus.Cleanup cleanup) {
        return cleanup.attempts == null ? 1 : cleanup.attempts;
    }

    private static Instant instant(String text, Instant fallback) {
        try {
            return Instant.parse(text);
        } catch (DateTimeParseException e) {
            return fallback;
        }
    }

    private static String annotation(Checkpoint c, String key) {
        Map<String, String> a = c.getMetadata().getAnnotations();
        return a == null ? null : a.get(key);
    }

    /** The outcome of one look at a deleted Checkpoint. */
    record Result(boolean released, Duration again) {
        static Result done() {
            return new Result(true, null);
        }

        static Result again(Duration d) {
            return new Result(false, d);
        }

        static Result waiting() {
            return new Result(false, null);
        }
    }
}
