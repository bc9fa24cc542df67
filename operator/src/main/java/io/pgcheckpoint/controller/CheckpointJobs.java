package io.pgcheckpoint.controller;

import io.fabric8.kubernetes.api.model.DeletionPropagation;
import io.fabric8.kubernetes.api.model.batch.v1.Job;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.javaoperatorsdk.operator.api.reconciler.Context;
import io.javaoperatorsdk.operator.processing.event.source.informer.InformerEventSource;
import io.pgcheckpoint.api.Checkpoint;
import io.pgcheckpoint.api.CheckpointStatus;
import io.pgcheckpoint.api.Conditions;
import io.pgcheckpoint.api.Database;
import io.pgcheckpoint.api.DatabaseStatus;
import io.pgcheckpoint.api.Reasons;
import io.pgcheckpoint.engine.CheckpointException;
import io.pgcheckpoint.engine.Tags;
import java.time.Duration;
import java.util.Comparator;
import java.util.Optional;

/**
 * Acts on a Checkpoint: starts its dump Job once it may (Database ready, tag unused), its drill Job
 * once it is sealed, and stops a Job that can never finish when the checkpoint failed. The Jobs
 * are dependents created once; a failure to create one is in the status at once.
 */
final class CheckpointJobs {
    static final String DATABASE = "database";
    private final JobDependent<Checkpoint> dump;
    private final JobDependent<Checkpoint> drill;
    private final JobFactory factory;

    CheckpointJobs(JobFactory factory) {
        this.factory = factory;
        dump = new JobDependent<>("dump", JobNames::dump, (c, ctx) -> factory.dump(c, database(ctx), lastArchiveBytes(c, ctx)));
        drill = new JobDependent<>("drill", JobNames::drill, (c, ctx) -> factory.drill(c, database(ctx)));
    }

    void use(InformerEventSource<Job, Checkpoint> jobs) {
        dump.setEventSource(jobs);
        drill.setEventSource(jobs);
    }

    /** @return when to look again, or null to wait for an event */
    Duration reconcile(Checkpoint checkpoint, Context<Checkpoint> context) {
        return switch (checkpoint.getStatus().phase) {
            case Pending -> startDump(checkpoint, context);
            case Sealed -> startDrill(checkpoint, context);
            default -> null;
        };
    }

    private Duration startDump(Checkpoint checkpoint, Context<Checkpoint> context) {
        CheckpointStatus status = checkpoint.getStatus();
        try {
            Tags.check(status.tag);
        } catch (CheckpointException e) {
            status.fail(Reasons.INVALID_SPEC, e.getMessage());
            return null;
        }
        Optional<Database> database = context.getSecondaryResource(Database.class);
        if (database.isEmpty()) {
            status.waiting(Reasons.DATABASE_NOT_FOUND, "Database '" + checkpoint.getSpec().database + "' does not exist in namespace "
                    + checkpoint.getMetadata().getNamespace() + ": create it (kind: Database); this checkpoint waits for it");
            return Duration.ofSeconds(30);
        }
        Database db = database.get();
        if (db.getStatus() == null || !Conditions.isTrue(db.getStatus().conditions, DatabaseStatus.READY)) {
            String why = db.getStatus() == null || db.getStatus().message == null ? "not validated yet" : db.getStatus().message;
            status.waiting(Reasons.DATABASE_NOT_READY, "Database '" + db.getMetadata().getName() + "' is not ready: " + why);
            return Duration.ofSeconds(15);
        }
        Optional<Checkpoint> earlier = earlierWithSameTag(checkpoint, context);
        if (earlier.isPresent()) {
            status.fail(Reasons.TAG_IN_USE, "Checkpoint '" + earlier.get().getMetadata().getName() + "' already uses tag '"
                    + status.tag + "' for Database '" + checkpoint.getSpec().database
                    + "': tags are never reused; create a Checkpoint with another tag");
            return null;
        }
        context.managedWorkflowAndDependentResourceContext().put(DATABASE, db);
        try {
            status.dumping(dump.ensure(checkpoint, context), JobFactory.storeUri(db),
                    db.getSpec().dump == null || db.getSpec().dump.jobs == null ? 1 : db.getSpec().dump.jobs);
            return null;
        } catch (KubernetesClientException e) {
            return createFailed(status, "dump", JobNames.dump(checkpoint), e);
        }
    }

    private Duration startDrill(Checkpoint checkpoint, Context<Checkpoint> context) {
        CheckpointStatus status = checkpoint.getStatus();
        Optional<Database> database = context.getSecondaryResource(Database.class);
        if (database.isEmpty()) {
            status.fail(Reasons.DATABASE_NOT_FOUND, "Database '" + checkpoint.getSpec().database
                    + "' was deleted after sealing; the archive stays in the bucket but cannot be drilled from here");
            return null;
        }
        String image;
        try {
            image = factory.drillImage(checkpoint, database.get(), status.archive == null ? null : status.archive.serverVersion);
        } catch (CheckpointException e) {
            status.fail(Reasons.fromCode(e.code()), e.getMessage());
            return null;
        }
        context.managedWorkflowAndDependentResourceContext().put(DATABASE, database.get());
        try {
            status.drilling(drill.ensure(checkpoint, context), image);
            return null;
        } catch (KubernetesClientException e) {
            return createFailed(status, "drill", JobNames.drill(checkpoint), e);
        }
    }

    /**
     * The API server refused the Job: an invalid one (a Database field the Job cannot take) fails
     * the checkpoint; anything else (quota, RBAC, a conflict) is shown and retried.
     */
    private static Duration createFailed(CheckpointStatus status, String role, String name, KubernetesClientException e) {
        String why = "cannot create the " + role + " Job " + name + ": " + apiMessage(e);
        if (e.getCode() == 400 || e.getCode() == 422) {
            status.fail(Reasons.JOB_CREATE_FAILED, why + ": correct the Database, then create a new Checkpoint");
            return null;
        }
        status.waiting(Reasons.JOB_CREATE_FAILED, why + "; retrying");
        return Duration.ofSeconds(15);
    }

    static String apiMessage(KubernetesClientException e) {
        return e.getStatus() != null && e.getStatus().getMessage() != null ? e.getStatus().getMessage() : e.getMessage();
    }

    /** A failed checkpoint's Job that has not finished (its pod cannot start, or cannot be created) is deleted. */
    void stopUnfinished(Checkpoint checkpoint, Context<Checkpoint> context) {
        CheckpointStatus status = checkpoint.getStatus();
        if (status.drillJob != null) {
            drill.stopUnfinished(checkpoint, context);
        } else if (status.dumpJob != null) {
            dump.stopUnfinished(checkpoint, context);
        }
    }

    /**
     * A deleted Checkpoint: stops its dump and drill Jobs if they have not finished, keeping each
     * until its pod is gone, so that nothing writes under the tag while its objects are removed.
     *
     * @return whether any such Job is still there
     */
    boolean stopUnfinished(Checkpoint checkpoint, Context<Checkpoint> context, boolean wait) {
        boolean dumping = dump.stopUnfinished(checkpoint, context, DeletionPropagation.FOREGROUND);
        boolean drilling = drill.stopUnfinished(checkpoint, context, DeletionPropagation.FOREGROUND);
        return wait && (dumping || drilling);
    }

    /** Older first; the name breaks a tie of creation timestamps, which have a one-second resolution. */
    private static final Comparator<Checkpoint> AGE = Comparator.comparing((Checkpoint c) -> c.getMetadata().getCreationTimestamp())
            .thenComparing(c -> c.getMetadata().getName());

    /** The other Checkpoints of the same Database, from the informer cache. */
    private static java.util.stream.Stream<Checkpoint> others(Checkpoint checkpoint, Context<Checkpoint> context) {
        return context.getPrimaryCache()
                .byIndex(CheckpointReconciler.DATABASE_INDEX, CheckpointReconciler.databaseKey(checkpoint.getMetadata().getNamespace(),
                        checkpoint.getSpec().database))
                .stream()
                .filter(other -> !other.getMetadata().getUid().equals(checkpoint.getMetadata().getUid()));
    }

    private static Optional<Checkpoint> earlierWithSameTag(Checkpoint checkpoint, Context<Checkpoint> context) {
        return others(checkpoint, context)
                .filter(other -> other.tag().equals(checkpoint.tag()))
                .filter(other -> AGE.compare(other, checkpoint) < 0)
                .findFirst();
    }

    /**
     * The archive size of the newest (by creation) other Checkpoint of the same Database that was
     * sealed, from the informer cache; null when there is none. Sizes the dump Job's /tmp when
     * pg_dump writes a directory there (spec.dump.jobs > 1).
     */
    static Long lastArchiveBytes(Checkpoint checkpoint, Context<Checkpoint> context) {
        return others(checkpoint, context)
                .filter(other -> other.getStatus() != null && other.getStatus().archive != null && other.getStatus().archive.bytes != null)
                .max(AGE)
                .map(other -> other.getStatus().archive.bytes)
                .orElse(null);
    }

    private static Database database(Context<Checkpoint> context) {
        return context.managedWorkflowAndDependentResourceContext().getMandatory(DATABASE, Database.class);
    }
}
