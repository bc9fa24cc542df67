package io.pgcheckpoint.controller;

import com.fasterxml.jackson.databind.JsonNode;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.batch.v1.Job;
import io.pgcheckpoint.engine.Json;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.javaoperatorsdk.operator.api.config.informer.InformerEventSourceConfiguration;
import io.javaoperatorsdk.operator.api.reconciler.Context;
import io.javaoperatorsdk.operator.api.reconciler.ControllerConfiguration;
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
import io.pgcheckpoint.api.Restore;
import io.pgcheckpoint.api.RestoreSpec;
import io.pgcheckpoint.api.RestoreStatus;
import io.pgcheckpoint.api.RestoreStatus.Phase;
import java.time.Duration;
import java.util.List;
import java.util.Set;

/** Runs {@code pgcheckpoint restore} in a Job for a Restore and reports rows restored per table against the ledger. */
@ControllerConfiguration(name = "restore")
public class RestoreReconciler implements Reconciler<Restore> {
    private final JobFactory jobs;

    public RestoreReconciler(JobFactory jobs) {
        this.jobs = jobs;
    }

    @Override
    public List<EventSource<?, Restore>> prepareEventSources(EventSourceContext<Restore> context) {
        var jobSource = new InformerEventSource<>(InformerEventSourceConfiguration.from(Job.class, Restore.class)
                .withLabelSelector(Labels.SELECTOR + "," + Labels.RESTORE)
                .withSecondaryToPrimaryMapper(Mappers.fromOwnerReferences(Restore.class)).build(), context);
        var podSource = new InformerEventSource<>(InformerEventSourceConfiguration.from(Pod.class, Restore.class)
                .withLabelSelector(Labels.SELECTOR + "," + Labels.RESTORE)
                .withSecondaryToPrimaryMapper((Pod p) -> Set.of(new ResourceID(p.getMetadata().getLabels().get(Labels.RESTORE),
                        p.getMetadata().getNamespace()))).build(), context);
        return List.of(jobSource, podSource);
    }

    @Override
    public UpdateControl<Restore> reconcile(Restore restore, Context<Restore> context) {
        RestoreStatus status = StatusPatch.editable(restore.getStatus(), RestoreStatus.class, RestoreStatus::new);
        return StatusPatch.of(restore, status, advance(restore, status, context), Restore::new);
    }

    private Duration advance(Restore restore, RestoreStatus status, Context<Restore> context) {
        if (status.phase == Phase.Succeeded || status.phase == Phase.Failed) {
            return null;
        }
        KubernetesClient client = context.getClient();
        String ns = restore.getMetadata().getNamespace();
        status.observedGeneration = restore.getMetadata().getGeneration();
        if (status.phase == null || status.phase == Phase.Pending) {
            status.phase = Phase.Pending;
            Checkpoint checkpoint = client.resources(Checkpoint.class).inNamespace(ns).withName(restore.getSpec().checkpoint).get();
            if (checkpoint == null) {
                return pending(status, restore, client, "CheckpointNotFound", "Checkpoint '" + restore.getSpec().checkpoint
                        + "' not found in namespace " + ns + ": name an existing, Proven checkpoint");
            }
            CheckpointStatus.Phase phase = checkpoint.getStatus() == null ? null : checkpoint.getStatus().phase;
            if (phase == CheckpointStatus.Phase.Failed) {
                return fail(status, restore, client, "CheckpointFailed", "Checkpoint '" + checkpoint.getMetadata().getName()
                        + "' failed and cannot be restored from: " + checkpoint.getStatus().message);
            }
            if (phase != CheckpointStatus.Phase.Proven) {
                return pending(status, restore, client, "CheckpointNotProven", "waiting for Checkpoint '"
                        + checkpoint.getMetadata().getName() + "' to be Proven (now " + phase + ")");
            }
            if (restore.getSpec().mode == RestoreSpec.Mode.Replace && !checkpoint.tag().equals(restore.getSpec().confirm)) {
                return fail(status, restore, client, "NotConfirmed", "Replace mode overwrites live tables: spec.confirm must equal the checkpoint's tag '"
                        + checkpoint.tag() + "'");
            }
            Database db = client.resources(Database.class).inNamespace(ns).withName(checkpoint.getSpec().database).get();
            if (db == null) {
                return fail(status, restore, client, "DatabaseNotFound", "Database '" + checkpoint.getSpec().database + "' not found");
            }
            CheckpointReconciler.createJob(client, jobs.restore(restore, checkpoint, db));
            status.job = JobFactory.restoreJobName(restore);
            status.phase = Phase.Running;
            status.message = "restoring " + restore.getSpec().tables + " from '" + checkpoint.tag() + "' (Job " + status.job + ")";
            Conditions.set(status.conditions, "Complete", false, "Running", status.message, status.observedGeneration);
            Events.emit(client, restore, false, "Running", status.message);
            return null;
        }
        java.util.Optional<JobOutcome> found = JobOutcome.find(context, ns, JobFactory.restoreJobName(restore));
        if (found.isEmpty()) {
            return fail(status, restore, client, "JobDeleted", "the restore Job disappeared before it finished: check the target database, then create a new Restore");
        }
        JobOutcome outcome = found.get();
        if (outcome.state() == JobOutcome.State.RUNNING) {
            return null;
        }
        JsonNode r = outcome.result();
        if (r == null && outcome.state() == JobOutcome.State.SUCCEEDED) {
            if (!outcome.resultOverdue()) {
                return Duration.ofSeconds(1);
            }
            return fail(status, restore, client, "ResultMissing", "the restore Job completed but its result (the pod's termination message) "
                    + "cannot be read: check the Job's pod and the target database's tables");
        }
        if (r != null && r.has("tables")) {
            // the CLI's JSON uses the status fields' names
            status.tables = Json.MAPPER.convertValue(r.get("tables"),
                    new com.fasterxml.jackson.core.type.TypeReference<List<RestoreStatus.TableResult>>() { });
        }
        boolean planOnly = r != null && r.path("plan").asBoolean(false);
        if (r != null) {
            status.plan = planOnly ? lines(r.get("actions"), r.path("actionsOmitted").asInt(0)) : null;
            List<String> warnings = lines(r.get("warnings"), r.path("warningsOmitted").asInt(0));
            status.warnings = warnings == null || warnings.isEmpty() ? null : warnings;
        }
        if (outcome.state() == JobOutcome.State.FAILED || !outcome.ok()) {
            return fail(status, restore, client, CheckpointReconciler.reason(outcome.errorCode()), (planOnly
                    ? "the restore would be refused (plan only, nothing changed): " : "the restore failed: ") + outcome.errorMessage());
        }
        status.phase = Phase.Succeeded;
        if (planOnly) {
            status.message = "plan only, nothing changed: " + (status.plan == null ? 0 : status.plan.size())
                    + " step(s) in status.plan" + (status.warnings == null ? "" : ", " + status.warnings.size() + " warning(s)")
                    + "; create a Restore without spec.plan to run it";
            Conditions.set(status.conditions, "Complete", true, "Planned", status.message, status.observedGeneration);
            Events.emit(client, restore, false, "Planned", status.message);
            return null;
        }
        status.message = "restored " + (status.tables == null ? 0 : status.tables.size()) + " table(s); every count matches the ledger"
                + (status.warnings == null ? "" : "; " + status.warnings.size() + " warning(s) in status.warnings");
        Conditions.set(status.conditions, "Complete", true, "Succeeded", status.message, status.observedGeneration);
        Events.emit(client, restore, false, "Succeeded", status.message);
        return null;
    }

    /** A JSON list of strings or of {what, object, detail} steps, as lines. */
    static List<String> lines(JsonNode list, int omitted) {
        if (list == null || !list.isArray()) {
            return null;
        }
        List<String> out = new java.util.ArrayList<>();
        for (JsonNode n : list) {
            if (n.isTextual()) {
                out.add(n.asText());
            } else if (n.has("what")) {
                String detail = n.path("detail").asText("");
                out.add(n.path("what").asText() + " " + n.path("object").asText() + (detail.isEmpty() ? "" : ": " + detail));
            }
        }
        if (omitted > 0) {
            out.add("… and " + omitted + " more (see the Job's log)");
        }
        return out;
    }

    private static Duration pending(RestoreStatus status, Restore restore, KubernetesClient client, String reason, String message) {
        if (!message.equals(status.message)) {
            status.message = message;
            Conditions.set(status.conditions, "Complete", false, reason, message, status.observedGeneration);
            Events.emit(client, restore, true, reason, message);
        }
        return Duration.ofSeconds(10);
    }

    private static Duration fail(RestoreStatus status, Restore restore, KubernetesClient client, String reason, String message) {
        status.phase = Phase.Failed;
        status.message = message;
        Conditions.set(status.conditions, "Complete", false, reason, message, status.observedGeneration);
        Events.emit(client, restore, true, reason, message);
        return null;
    }
}
