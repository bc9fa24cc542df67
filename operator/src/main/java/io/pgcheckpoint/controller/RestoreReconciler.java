package io.pgcheckpoint.controller;

import io.fabric8.kubernetes.api.model.batch.v1.Job;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.javaoperatorsdk.operator.api.config.informer.InformerEventSourceConfiguration;
import io.javaoperatorsdk.operator.api.reconciler.Context;
import io.javaoperatorsdk.operator.api.reconciler.ControllerConfiguration;
import io.javaoperatorsdk.operator.api.reconciler.ErrorStatusUpdateControl;
import io.javaoperatorsdk.operator.api.reconciler.EventSourceContext;
import io.javaoperatorsdk.operator.api.reconciler.Reconciler;
import io.javaoperatorsdk.operator.api.reconciler.UpdateControl;
import io.javaoperatorsdk.operator.processing.event.ResourceID;
import io.javaoperatorsdk.operator.processing.event.source.EventSource;
import io.javaoperatorsdk.operator.processing.event.source.informer.InformerEventSource;
import io.javaoperatorsdk.operator.processing.event.source.informer.Mappers;
import io.pgcheckpoint.api.Checkpoint;
import io.pgcheckpoint.api.CheckpointStatus;
import io.pgcheckpoint.api.Database;
import io.pgcheckpoint.api.Reasons;
import io.pgcheckpoint.api.Restore;
import io.pgcheckpoint.api.RestoreSpec;
import io.pgcheckpoint.api.RestoreStatus;
import io.pgcheckpoint.api.RestoreStatus.Phase;
import io.pgcheckpoint.engine.RestoreResult;
import io.pgcheckpoint.engine.Restorer;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.stream.Collectors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Pending → Running → Succeeded | Failed: runs {@code pgcheckpoint restore} in a Job for a Proven
 * Checkpoint, into the checkpoint's own Database or another Database of the namespace (never a
 * free connection string), and reports rows restored per table against the ledger.
 */
@ControllerConfiguration(name = "restore")
public class RestoreReconciler implements Reconciler<Restore> {
    private static final Logger LOG = LoggerFactory.getLogger(RestoreReconciler.class);
    static final String CHECKPOINT_INDEX = "restore-checkpoint";
    static final String TARGET_INDEX = "restore-target";
    private static final String CHECKPOINT = "checkpoint";
    private static final String SOURCE = "source";
    private static final String TARGET = "target";
    private final JobDependent<Restore> job;
    private InformerEventSource<Checkpoint, Restore> checkpoints;
    private InformerEventSource<Database, Restore> databases;

    public RestoreReconciler(JobFactory factory) {
        job = new JobDependent<>("restore", JobNames::restore, (r, ctx) -> {
            var held = ctx.managedWorkflowAndDependentResourceContext();
            return factory.restore(r, held.getMandatory(CHECKPOINT, Checkpoint.class), held.getMandatory(SOURCE, Database.class),
                    held.getMandatory(TARGET, Database.class));
        });
    }

    @Override
    public UpdateControl<Restore> reconcile(Restore restore, Context<Restore> context) {
        var patch = StatusPatch.begin(restore, RestoreStatus::new, Restore::new);
        RestoreStatus status = restore.getStatus();
        if (status.isDone()) {
            return UpdateControl.noUpdate();
        }
        LOG.debug("reconciling restore {}/{} in phase {}", restore.getMetadata().getNamespace(), restore.getMetadata().getName(),
                status.phase);
        status.observe(restore);
        Duration again = status.phase == Phase.Pending ? start(restore, context) : observe(restore, context);
        if (status.phase == Phase.Failed && status.job != null) {
            job.stopUnfinished(restore, context); // a restore that can never run must not run later
        }
        RestoreStatus before = patch.before(RestoreStatus.class);
        patch.afterCommit(() -> announce(restore, before, context));
        return patch.end(context, again);
    }

    @Override
    public ErrorStatusUpdateControl<Restore> updateErrorStatus(Restore restore, Context<Restore> context, Exception e) {
        LOG.warn("reconciling restore {}/{} failed; retrying", restore.getMetadata().getNamespace(), restore.getMetadata().getName(), e);
        Restore stored = StatusPatch.stored(restore, context);
        RestoreStatus status = StatusPatch.copy(stored.getStatus(), RestoreStatus.class, RestoreStatus::new);
        status.reconcileError(e.getMessage());
        return StatusPatch.error(stored, status, Restore::new);
    }

    private Duration start(Restore restore, Context<Restore> context) {
        RestoreStatus status = restore.getStatus();
        RestoreSpec spec = restore.getSpec();
        String ns = restore.getMetadata().getNamespace();
        Checkpoint checkpoint = checkpoints.get(new ResourceID(spec.checkpoint, ns)).orElse(null);
        if (checkpoint == null) {
            status.pending(Reasons.CHECKPOINT_NOT_FOUND, "Checkpoint '" + spec.checkpoint + "' not found in namespace " + ns
                    + ": name an existing, Proven checkpoint");
            return Duration.ofSeconds(30);
        }
        CheckpointStatus.Phase phase = checkpoint.getStatus() == null ? null : checkpoint.getStatus().phase;
        if (phase == CheckpointStatus.Phase.Failed) {
            status.fail(Reasons.CHECKPOINT_FAILED, "Checkpoint '" + spec.checkpoint + "' failed and cannot be restored from: "
                    + checkpoint.getStatus().message);
            return null;
        }
        if (phase != CheckpointStatus.Phase.Proven) {
            status.pending(Reasons.CHECKPOINT_NOT_PROVEN, "waiting for Checkpoint '" + spec.checkpoint + "' to be Proven (now " + phase + ")");
            return null;
        }
        if (spec.mode == RestoreSpec.Mode.Replace && !checkpoint.tag().equals(spec.confirm)) {
            status.fail(Reasons.NOT_CONFIRMED, "Replace mode overwrites live tables: spec.confirm must equal the checkpoint's tag '"
                    + checkpoint.tag() + "'");
            return null;
        }
        Optional<Database> source = databases.get(new ResourceID(checkpoint.getSpec().database, ns));
        if (source.isEmpty()) {
            status.fail(Reasons.DATABASE_NOT_FOUND, "Database '" + checkpoint.getSpec().database + "' of Checkpoint '" + spec.checkpoint
                    + "' not found: its bucket and credentials are needed to read the archive");
            return null;
        }
        String targetName = spec.target != null ? spec.target : checkpoint.getSpec().database;
        Optional<Database> target = databases.get(new ResourceID(targetName, ns));
        if (target.isEmpty()) {
            status.pending(Reasons.DATABASE_NOT_FOUND, "target Database '" + targetName + "' not found in namespace " + ns
                    + ": a Restore writes only into a Database of its namespace; create it or correct spec.target");
            return Duration.ofSeconds(30);
        }
        var held = context.managedWorkflowAndDependentResourceContext();
        held.put(CHECKPOINT, checkpoint);
        held.put(SOURCE, source.get());
        held.put(TARGET, target.get());
        try {
            String name = job.ensure(restore, context);
            status.running(name, "restoring " + spec.tables + " from '" + checkpoint.tag() + "' into Database '" + targetName
                    + "' (Job " + name + ")");
            return null;
        } catch (KubernetesClientException e) {
            String why = "cannot create the restore Job " + JobNames.restore(restore) + ": " + CheckpointJobs.apiMessage(e);
            if (e.getCode() == 400 || e.getCode() == 422) {
                status.fail(Reasons.JOB_CREATE_FAILED, why);
                return null;
            }
            status.pending(Reasons.JOB_CREATE_FAILED, why + "; retrying");
            return Duration.ofSeconds(15);
        }
    }

    private Duration observe(Restore restore, Context<Restore> context) {
        RestoreStatus status = restore.getStatus();
        String ns = restore.getMetadata().getNamespace();
        List<Database> involved = java.util.stream.Stream.of(restore.getSpec().target, checkpoints
                        .get(new ResourceID(restore.getSpec().checkpoint, ns)).map(c -> c.getSpec().database).orElse(null))
                .filter(java.util.Objects::nonNull).distinct()
                .flatMap(name -> databases.get(new ResourceID(name, ns)).stream()).toList();
        JobOutcome<RestoreResult> outcome = JobObserver.observe(context, restore, status.job, RestoreResult.class, involved);
        RestoreResult r = outcome.result();
        if (r != null && r.tables() != null) {
            status.tables = r.tables().stream().map(RestoreReconciler::table).toList();
        }
        boolean planOnly = r != null ? r.planOnly() : Boolean.TRUE.equals(restore.getSpec().plan);
        if (r != null) {
            status.plan = planOnly ? lines(r.actions(), r.actionsOmitted()) : null;
            List<String> warnings = lines(r.warnings() == null ? null : r.warnings().stream().map(Object::toString).toList(),
                    r.warningsOmitted());
            status.warnings = warnings == null || warnings.isEmpty() ? null : warnings;
        }
        switch (outcome.state()) {
            case MISSING -> status.fail(Reasons.JOB_DELETED, "the restore Job disappeared before it finished: check the target "
                    + "database, then create a new Restore");
            case BLOCKED -> status.fail(outcome.reason(), "the restore Job " + status.job + " cannot run: " + outcome.message()
                    + "; then create a new Restore");
            case WAITING -> status.waiting(outcome.reason(), outcome.message());
            case FAILED -> status.fail(outcome.failureReason(), (planOnly
                    ? "the restore would be refused (plan only, nothing changed): " : "the restore failed: ") + outcome.errorMessage());
            case SUCCEEDED -> {
                if (r == null && outcome.error() == null) {
                    if (!outcome.resultOverdue()) {
                        return Duration.ofSeconds(1);
                    }
                    status.fail(Reasons.RESULT_MISSING, "the restore Job completed but its result (the pod's termination message) "
                            + "cannot be read: check the Job's pod and the target database's tables");
                } else if (r == null || !r.ok()) {
                    status.fail(outcome.failureReason(), (planOnly
                            ? "the restore would be refused (plan only, nothing changed): " : "the restore failed: ") + outcome.errorMessage());
                } else if (r.planOnly()) {
                    status.planned(status.plan);
                } else {
                    status.succeeded(status.tables);
                }
            }
            case RUNNING -> { }
        }
        return null;
    }

    private static RestoreStatus.TableResult table(Restorer.TableResult t) {
        RestoreStatus.TableResult s = new RestoreStatus.TableResult();
        s.table = t.table();
        s.restoredAs = t.restoredAs();
        s.kind = t.kind();
        s.ledgerRows = t.ledgerRows();
        s.restoredRows = t.restoredRows();
        s.matches = t.matches();
        s.note = t.note();
        return s;
    }

    /** Steps or warnings as lines, with a last one saying how many were left out to fit the termination message. */
    static List<String> lines(List<?> list, Integer omitted) {
        if (list == null) {
            return null;
        }
        List<String> out = new java.util.ArrayList<>();
        list.forEach(x -> out.add(x.toString()));
        if (omitted != null && omitted > 0) {
            out.add("… and " + omitted + " more (see the Job's log)");
        }
        return out;
    }

    private static void announce(Restore restore, RestoreStatus before, Context<Restore> context) {
        RestoreStatus now = restore.getStatus();
        boolean moved = before == null || before.phase != now.phase;
        if (!moved && (now.message == null || now.message.equals(before.message))) {
            return;
        }
        boolean failed = now.phase == Phase.Failed;
        if (moved) {
            LOG.info("restore {}/{}: {} ({}): {}", restore.getMetadata().getNamespace(), restore.getMetadata().getName(),
                    now.phase, now.completeReason(), now.message);
        }
        EventRecorder.Reason reason = moved ? EventRecorder.Reason.valueOf(now.phase.name()) : EventRecorder.Reason.Waiting;
        new EventRecorder(context.getClient()).record(restore, failed || !moved ? EventRecorder.Type.Warning : EventRecorder.Type.Normal,
                reason, failed || !moved ? now.completeReason() + ": " + now.message : now.message);
    }

    @Override
    public List<EventSource<?, Restore>> prepareEventSources(
            EventSourceContext<Restore> context) {
        context.getPrimaryCache().addIndexer(CHECKPOINT_INDEX, r -> List.of(key(r.getMetadata().getNamespace(), r.getSpec().checkpoint)));
        context.getPrimaryCache().addIndexer(TARGET_INDEX, r -> r.getSpec().target == null ? List.of()
                : List.of(key(r.getMetadata().getNamespace(), r.getSpec().target)));
        InformerEventSource<Job, Restore> jobSource = new InformerEventSource<>(InformerEventSourceConfiguration
                .from(Job.class, Restore.class).withName("jobs")
                .withLabelSelector(Labels.SELECTOR + "," + Labels.RESTORE)
                .withSecondaryToPrimaryMapper(Mappers.fromOwnerReferences(Restore.class)).build(), context);
        job.setEventSource(jobSource);
        checkpoints = new InformerEventSource<>(InformerEventSourceConfiguration.from(Checkpoint.class, Restore.class)
                .withSecondaryToPrimaryMapper((Checkpoint c) -> context.getPrimaryCache()
                        .byIndex(CHECKPOINT_INDEX, key(c.getMetadata().getNamespace(), c.getMetadata().getName()))
                        .stream().map(ResourceID::fromResource).collect(Collectors.toSet())).build(), context);
        databases = new InformerEventSource<>(InformerEventSourceConfiguration.from(Database.class, Restore.class)
                .withSecondaryToPrimaryMapper((Database d) -> context.getPrimaryCache()
                        .byIndex(TARGET_INDEX, key(d.getMetadata().getNamespace(), d.getMetadata().getName()))
                        .stream().map(ResourceID::fromResource).collect(Collectors.toSet())).build(), context);
        return List.of(jobSource, JobSources.pods(context, Restore.class, Labels.RESTORE),
                JobSources.failedCreateEvents(context, jobSource, Restore.class), checkpoints, databases);
    }

    private static String key(String namespace, String name) {
        return namespace + "/" + name;
    }
}
