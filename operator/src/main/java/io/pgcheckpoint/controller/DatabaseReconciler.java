package io.pgcheckpoint.controller;

import io.javaoperatorsdk.operator.api.reconciler.Context;
import io.javaoperatorsdk.operator.api.reconciler.ControllerConfiguration;
import io.javaoperatorsdk.operator.api.reconciler.ErrorStatusUpdateControl;
import io.javaoperatorsdk.operator.api.reconciler.Reconciler;
import io.javaoperatorsdk.operator.api.reconciler.UpdateControl;
import io.pgcheckpoint.api.Conditions;
import io.pgcheckpoint.api.Database;
import io.pgcheckpoint.api.DatabaseStatus;
import io.fabric8.kubernetes.api.model.batch.v1.Job;
import io.javaoperatorsdk.operator.api.config.informer.InformerEventSourceConfiguration;
import io.javaoperatorsdk.operator.api.reconciler.EventSourceContext;
import io.javaoperatorsdk.operator.processing.event.ResourceID;
import io.javaoperatorsdk.operator.processing.event.source.EventSource;
import io.javaoperatorsdk.operator.processing.event.source.informer.InformerEventSource;
import io.javaoperatorsdk.operator.processing.event.source.informer.Mappers;
import io.pgcheckpoint.api.Checkpoint;
import java.util.List;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Accepts a Database and says where its checkpoints go. It does not look at the Secrets: the
 * operator has no access to any. The Jobs mount them, and a missing Secret or key fails the
 * Checkpoint at once with SecretMissing, read from the Job's pod.
 */
@ControllerConfiguration(name = "database")
public class DatabaseReconciler implements Reconciler<Database> {
    private static final Logger LOG = LoggerFactory.getLogger(DatabaseReconciler.class);
    private final DatabaseRetention retention;

    public DatabaseReconciler(JobFactory factory, OperatorMetrics metrics) {
        this.retention = new DatabaseRetention(factory, metrics);
    }

    @Override
    public UpdateControl<Database> reconcile(Database db, Context<Database> context) {
        var patch = StatusPatch.begin(db, DatabaseStatus::new, Database::new);
        DatabaseStatus before = patch.before(DatabaseStatus.class);
        db.getStatus().accepted(db, JobFactory.storeUri(db));
        if (before == null || !Conditions.isTrue(before.conditions, DatabaseStatus.READY)) {
            String message = db.getStatus().message;
            patch.afterCommit(() -> {
                LOG.info("database {}/{}: {}", db.getMetadata().getNamespace(), db.getMetadata().getName(), message);
                new EventRecorder(context.getClient()).record(db, EventRecorder.Type.Normal, EventRecorder.Reason.Accepted, message);
            });
        }
        return patch.end(context, retention.reconcile(db, context, patch));
    }

    /** Its prune Jobs and their pods, and its Checkpoints (one turning Proven may call for a prune). */
    @Override
    public List<EventSource<?, Database>> prepareEventSources(EventSourceContext<Database> context) {
        InformerEventSource<Job, Database> jobs = new InformerEventSource<>(InformerEventSourceConfiguration
                .from(Job.class, Database.class).withName("prune-jobs")
                .withLabelSelector(Labels.SELECTOR + "," + Labels.DATABASE)
                .withSecondaryToPrimaryMapper(Mappers.fromOwnerReferences(Database.class))
                .build(), context);
        InformerEventSource<Checkpoint, Database> checkpoints = new InformerEventSource<>(InformerEventSourceConfiguration
                .from(Checkpoint.class, Database.class).withName("checkpoints")
                .withSecondaryToPrimaryMapper((Checkpoint c) -> c.getSpec() == null || c.getSpec().database == null ? Set.of()
                        : Set.of(new ResourceID(c.getSpec().database, c.getMetadata().getNamespace())))
                .build(), context);
        return List.of(jobs, JobSources.pods(context, Database.class, Labels.DATABASE), checkpoints);
    }

    @Override
    public ErrorStatusUpdateControl<Database> updateErrorStatus(Database db, Context<Database> context, Exception e) {
        LOG.warn("reconciling database {}/{} failed; retrying", db.getMetadata().getNamespace(), db.getMetadata().getName(), e);
        Database stored = StatusPatch.stored(db, context);
        DatabaseStatus status = StatusPatch.copy(stored.getStatus(), DatabaseStatus.class, DatabaseStatus::new);
        status.reconcileError(e.getMessage());
        return StatusPatch.error(stored, status, Database::new);
    }
}
