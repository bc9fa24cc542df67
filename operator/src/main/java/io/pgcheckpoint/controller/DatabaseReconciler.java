package io.pgcheckpoint.controller;

import io.javaoperatorsdk.operator.api.reconciler.Context;
import io.javaoperatorsdk.operator.api.reconciler.ControllerConfiguration;
import io.javaoperatorsdk.operator.api.reconciler.ErrorStatusUpdateControl;
import io.javaoperatorsdk.operator.api.reconciler.Reconciler;
import io.javaoperatorsdk.operator.api.reconciler.UpdateControl;
import io.pgcheckpoint.api.Conditions;
import io.pgcheckpoint.api.Database;
import io.pgcheckpoint.api.DatabaseStatus;
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

    @Override
    public UpdateControl<Database> reconcile(Database db, Context<Database> context) {
        var patch = StatusPatch.begin(db, DatabaseStatus::new, Database::new);
        DatabaseStatus before = patch.before(DatabaseStatus.class);
        db.getStatus().accepted(db, JobFactory.storeUri(db));
        if (before == null || !Conditions.isTrue(before.conditions, DatabaseStatus.READY)) {
            LOG.info("database {}/{}: {}", db.getMetadata().getNamespace(), db.getMetadata().getName(), db.getStatus().message);
            new EventRecorder(context.getClient()).record(db, EventRecorder.Type.Normal, EventRecorder.Reason.Accepted,
                    db.getStatus().message);
        }
        return patch.end(null);
    }

    @Override
    public ErrorStatusUpdateControl<Database> updateErrorStatus(Database db, Context<Database> context, Exception e) {
        LOG.warn("reconciling database {}/{} failed; retrying", db.getMetadata().getNamespace(), db.getMetadata().getName(), e);
        DatabaseStatus status = StatusPatch.copy(db.getStatus(), DatabaseStatus.class, DatabaseStatus::new);
        status.reconcileError(e.getMessage());
        return StatusPatch.error(db, status, Database::new);
    }
}
