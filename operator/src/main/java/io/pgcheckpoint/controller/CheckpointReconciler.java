package io.pgcheckpoint.controller;

import io.fabric8.kubernetes.api.model.Event;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.batch.v1.Job;
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
import io.pgcheckpoint.api.CheckpointStatus.Phase;
import io.pgcheckpoint.api.Database;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.stream.Collectors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Pending → Dumping → Sealed → Drilling → Proven | Failed. Each reconcile observes the running
 * Job ({@link CheckpointObserver}), then, if nothing moved, acts ({@link CheckpointJobs}); the
 * status is the only state, with Jobs named after the object's UID, so a restarted operator
 * resumes where it was and never adopts another object's Job.
 */
// all events: the reconciler manages its finalizer itself, on the Checkpoints whose deletionPolicy is Delete only
@ControllerConfiguration(name = "checkpoint", triggerReconcilerOnAllEvents = true)
public class CheckpointReconciler implements Reconciler<Checkpoint> {
    private static final Logger LOG = LoggerFactory.getLogger(CheckpointReconciler.class);
    static final String DATABASE_INDEX = "checkpoint-database";
    /** After a finalizer patch, the next reconcile starts from the resource it stored. */
    private static final Duration FINALIZER_CHANGED = Duration.ofMillis(10);
    private final CheckpointObserver observer;
    private final CheckpointJobs jobs;
    private final CheckpointCleanup cleanup;
    private final OperatorMetrics metrics;

    public CheckpointReconciler(JobFactory factory, OperatorMetrics metrics) {
        this.observer = new CheckpointObserver(metrics);
        this.jobs = new CheckpointJobs(factory);
        this.cleanup = new CheckpointCleanup(factory);
        this.metrics = metrics;
    }

    @Override
    public UpdateControl<Checkpoint> reconcile(Checkpoint checkpoint, Context<Checkpoint> context) {
        if (context.isPrimaryResourceDeleted()) {
            return UpdateControl.noUpdate();
        }
        if (checkpoint.isMarkedForDeletion()) {
            if (!checkpoint.hasFinalizer(CheckpointCleanup.FINALIZER)) {
                return UpdateControl.noUpdate(); // Retain, or another's finalizer: the bucket is not touched
            }
            var patch = StatusPatch.begin(checkpoint, CheckpointStatus::new, Checkpoint::new);
            CheckpointCleanup.Result result = cleanup.onDeletion(checkpoint, context, jobs);
            return result.released() ? UpdateControl.noUpdate() : patch.end(context, result.again());
        }
        if (cleanup.keepFinalizer(checkpoint, context)) {
            return UpdateControl.<Checkpoint>noUpdate().rescheduleAfter(FINALIZER_CHANGED);
        }
        var patch = StatusPatch.begin(checkpoint, CheckpointStatus::new, Checkpoint::new);
        CheckpointStatus status = checkpoint.getStatus();
        if (status.isDone()) {
            return UpdateControl.noUpdate();
        }
        LOG.debug("reconciling checkpoint {}/{} in phase {}", checkpoint.getMetadata().getNamespace(),
                checkpoint.getMetadata().getName(), status.phase);
        status.observe(checkpoint);
        Phase observed = status.phase;
        Duration again = observer.observe(checkpoint, context, patch);
        if (status.phase == Phase.Failed) {
            jobs.stopUnfinished(checkpoint, context);
        } else if (status.phase == observed) {
            again = sooner(again, jobs.reconcile(checkpoint, context));
        }
        CheckpointStatus before = patch.before(CheckpointStatus.class);
        patch.afterCommit(() -> announce(checkpoint, before, context));
        return patch.end(context, again);
    }

    @Override
    public ErrorStatusUpdateControl<Checkpoint> updateErrorStatus(Checkpoint checkpoint, Context<Checkpoint> context, Exception e) {
        LOG.warn("reconciling checkpoint {}/{} failed; retrying", checkpoint.getMetadata().getNamespace(),
                checkpoint.getMetadata().getName(), e);
        Checkpoint stored = StatusPatch.stored(checkpoint, context);
        CheckpointStatus status = StatusPatch.copy(stored.getStatus(), CheckpointStatus.class, CheckpointStatus::new);
        status.reconcileError(e.getMessage());
        new EventRecorder(context.getClient()).record(checkpoint, EventRecorder.Type.Warning, EventRecorder.Reason.ReconcileError,
                status.message);
        return StatusPatch.error(stored, status, Checkpoint::new);
    }

    /** An Event, a log line and the failure metric for each transition; an Event when a wait's reason changes. */
    private void announce(Checkpoint checkpoint, CheckpointStatus before, Context<Checkpoint> context) {
        CheckpointStatus now = checkpoint.getStatus();
        boolean moved = before == null || before.phase != now.phase;
        if (!moved && (now.message == null || now.message.equals(before.message))) {
            return;
        }
        boolean failed = now.phase == Phase.Failed;
        if (moved) {
            LOG.info("checkpoint {}/{}: {} ({}): {}", checkpoint.getMetadata().getNamespace(), checkpoint.getMetadata().getName(),
                    now.phase, now.readyReason(), now.message);
        }
        if (failed) {
            metrics.failed(now.readyReason());
        }
        EventRecorder.Reason reason = moved ? EventRecorder.Reason.valueOf(now.phase.name()) : EventRecorder.Reason.Waiting;
        new EventRecorder(context.getClient()).record(checkpoint, failed || !moved ? EventRecorder.Type.Warning : EventRecorder.Type.Normal,
                reason, failed || !moved ? now.readyReason() + ": " + now.message : now.message);
    }

    private static Duration sooner(Duration a, Duration b) {
        return a == null ? b : b == null ? a : a.compareTo(b) <= 0 ? a : b;
    }

    @Override
    public List<EventSource<?, Checkpoint>> prepareEventSources(EventSourceContext<Checkpoint> context) {
        metrics.observe(() -> context.getPrimaryCache().list());
        context.getPrimaryCache().addIndexer(DATABASE_INDEX, c -> List.of(databaseKey(c.getMetadata().getNamespace(),
                c.getSpec() == null ? "" : c.getSpec().database)));
        InformerEventSource<Job, Checkpoint> jobSource = new InformerEventSource<>(InformerEventSourceConfiguration
                .from(Job.class, Checkpoint.class).withName("jobs")
                .withLabelSelector(Labels.SELECTOR + "," + Labels.CHECKPOINT)
                .withSecondaryToPrimaryMapper(CheckpointReconciler::owner)
                .build(), context);
        jobs.use(jobSource);
        var databaseSource = new InformerEventSource<>(InformerEventSourceConfiguration.from(Database.class, Checkpoint.class)
                .withSecondaryToPrimaryMapper((Database d) -> context.getPrimaryCache()
                        .byIndex(DATABASE_INDEX, databaseKey(d.getMetadata().getNamespace(), d.getMetadata().getName()))
                        .stream().map(ResourceID::fromResource).collect(Collectors.toSet()))
                .withPrimaryToSecondaryMapper((Checkpoint c) -> Set.of(new ResourceID(c.getSpec().database, c.getMetadata().getNamespace())))
                .build(), context);
        metrics.observeDatabases(() -> databaseSource.list(d -> true));
        var pods = JobSources.pods(context, Checkpoint.class, Labels.CHECKPOINT);
        return List.of(jobSource, pods, JobSources.failedCreateEvents(context, jobSource, Checkpoint.class),
                JobSources.failedMountEvents(context, pods, Checkpoint.class), databaseSource);
    }

    /** A Job's Checkpoint: its owner reference, or for a cleanup Job (which has none) the name it is annotated with. */
    static Set<ResourceID> owner(Job job) {
        Set<ResourceID> owners = Mappers.<Job>fromOwnerReferences(Checkpoint.class).toPrimaryResourceIDs(job);
        if (!owners.isEmpty()) {
            return owners;
        }
        var annotations = job.getMetadata().getAnnotations();
        String name = annotations == null || annotations.get(Labels.OWNER_UID) == null ? null : annotations.get(Labels.OWNER);
        return name == null ? Set.of() : Set.of(new ResourceID(name, job.getMetadata().getNamespace()));
    }

    static String databaseKey(String namespace, String name) {
        return namespace + "/" + name;
    }
}
