package io.pgcheckpoint.controller;

import com.fasterxml.jackson.databind.JsonNode;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.batch.v1.Job;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
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
import io.pgcheckpoint.api.CheckpointStatus.Phase;
import io.pgcheckpoint.api.Database;
import io.pgcheckpoint.engine.CheckpointException;
import io.pgcheckpoint.engine.Tags;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * Pending → Dumping → Sealed → Drilling → Proven | Failed. All state lives in the status
 * and in Jobs with deterministic names, so a restarted operator resumes where it was: a Job
 * is created at most once, a Sealed checkpoint is never dumped again, and Proven is set
 * only from a Complete drill Job whose result says "proven" for this tag.
 */
@ControllerConfiguration(name = "checkpoint")
public class CheckpointReconciler implements Reconciler<Checkpoint> {
    static final String DATABASE_INDEX = "checkpoint-database";
    private final JobFactory jobs;
    private final OperatorMetrics metrics;

    public CheckpointReconciler(JobFactory jobs, OperatorMetrics metrics) {
        this.jobs = jobs;
        this.metrics = metrics;
    }

    @Override
    public List<EventSource<?, Checkpoint>> prepareEventSources(EventSourceContext<Checkpoint> context) {
        metrics.observe(() -> context.getPrimaryCache().list());
        context.getPrimaryCache().addIndexer(DATABASE_INDEX, c -> List.of(databaseKey(c.getMetadata().getNamespace(),
                c.getSpec() == null ? "" : c.getSpec().database)));
        var jobSource = new InformerEventSource<>(InformerEventSourceConfiguration.from(Job.class, Checkpoint.class)
                .withLabelSelector(Labels.SELECTOR + "," + Labels.CHECKPOINT)
                .withSecondaryToPrimaryMapper(Mappers.fromOwnerReferences(Checkpoint.class))
                .build(), context);
        var podSource = new InformerEventSource<>(InformerEventSourceConfiguration.from(Pod.class, Checkpoint.class)
                .withLabelSelector(Labels.SELECTOR + "," + Labels.CHECKPOINT)
                .withSecondaryToPrimaryMapper((Pod p) -> Set.of(new ResourceID(p.getMetadata().getLabels().get(Labels.CHECKPOINT),
                        p.getMetadata().getNamespace())))
                .build(), context);
        var databaseSource = new InformerEventSource<>(InformerEventSourceConfiguration.from(Database.class, Checkpoint.class)
                .withSecondaryToPrimaryMapper((Database d) -> context.getPrimaryCache()
                        .byIndex(DATABASE_INDEX, databaseKey(d.getMetadata().getNamespace(), d.getMetadata().getName()))
                        .stream().map(ResourceID::fromResource).collect(Collectors.toSet()))
                .withPrimaryToSecondaryMapper((Checkpoint c) -> Set.of(new ResourceID(c.getSpec().database, c.getMetadata().getNamespace())))
                .build(), context);
        metrics.observeDatabases(() -> databaseSource.list(d -> true));
        return List.of(jobSource, podSource, databaseSource);
    }

    private static String databaseKey(String namespace, String name) {
        return namespace + "/" + name;
    }

    @Override
    public UpdateControl<Checkpoint> reconcile(Checkpoint checkpoint, Context<Checkpoint> context) {
        CheckpointStatus status = StatusPatch.editable(checkpoint.getStatus(), CheckpointStatus.class, CheckpointStatus::new);
        Duration again = advance(new Step(checkpoint, status, context.getClient()), context);
        return StatusPatch.of(checkpoint, status, again, Checkpoint::new);
    }

    /** Moves the checkpoint along as far as it can now; returns when to look again, or null to wait for an event. */
    private Duration advance(Step step, Context<Checkpoint> context) {
        CheckpointStatus status = step.status;
        Checkpoint checkpoint = step.checkpoint;
        if (status.phase == Phase.Proven || status.phase == Phase.Failed) {
            return null;
        }
        status.tag = checkpoint.tag();
        status.observedGeneration = checkpoint.getMetadata().getGeneration();
        if (status.phase == null) {
            status.phase = Phase.Pending;
            status.message = "waiting to start the dump";
            Conditions.set(status.conditions, "Ready", false, "Pending", status.message, status.observedGeneration);
        }
        try {
            Tags.check(status.tag);
        } catch (CheckpointException e) {
            return step.fail("InvalidSpec", e.getMessage());
        }
        switch (status.phase) {
            case Pending -> {
                Optional<Database> database = context.getSecondaryResource(Database.class);
                if (database.isEmpty()) {
                    return step.pending("DatabaseNotFound", "Database '" + checkpoint.getSpec().database + "' does not exist in namespace "
                            + checkpoint.getMetadata().getNamespace() + ": create it (kind: Database); this checkpoint waits for it");
                }
                Database db = database.get();
                if (db.getStatus() == null || !Conditions.isTrue(db.getStatus().conditions, "Ready")) {
                    String why = db.getStatus() == null || db.getStatus().message == null ? "not validated yet" : db.getStatus().message;
                    return step.pending("DatabaseNotReady", "Database '" + db.getMetadata().getName() + "' is not ready: " + why);
                }
                Optional<Checkpoint> earlier = earlierWithSameTag(checkpoint, context);
                if (earlier.isPresent()) {
                    return step.fail("TagInUse", "Checkpoint '" + earlier.get().getMetadata().getName() + "' already uses tag '"
                            + status.tag + "' for Database '" + checkpoint.getSpec().database
                            + "': tags are never reused; create a Checkpoint with another tag");
                }
                createJob(step.client, jobs.dump(checkpoint, db));
                status.dumpJob = JobFactory.dumpJobName(checkpoint);
                status.startedAt = Conditions.now();
                step.transition(Phase.Dumping, "Dumping", "pg_dump is streaming the archive to " + JobFactory.storeUri(db)
                        + "/" + status.tag + " (Job " + status.dumpJob + ")");
                Conditions.set(status.conditions, "Sealed", false, "Dumping", status.message, status.observedGeneration);
                Conditions.set(status.conditions, "Proven", false, "Dumping", "not drilled yet", status.observedGeneration);
                return null;
            }
            case Dumping -> {
                Optional<JobOutcome> outcome = JobOutcome.find(context, checkpoint.getMetadata().getNamespace(), JobFactory.dumpJobName(checkpoint));
                if (outcome.isEmpty()) {
                    return step.fail("JobDeleted", "the dump Job " + JobFactory.dumpJobName(checkpoint)
                            + " disappeared before it finished (deleted by hand, or by its TTL while the operator was down); "
                            + "nothing is sealed under this checkpoint: create a new Checkpoint with a new tag");
                }
                return onDumpOutcome(step, outcome.get());
            }
            case Sealed -> {
                Optional<Database> database = context.getSecondaryResource(Database.class);
                if (database.isEmpty()) {
                    return step.fail("DatabaseNotFound", "Database '" + checkpoint.getSpec().database
                            + "' was deleted after sealing; the archive stays in the bucket but cannot be drilled from here");
                }
                String image;
                try {
                    image = jobs.drillImage(checkpoint, database.get());
                } catch (CheckpointException e) {
                    return step.fail(reason(e.code()), e.getMessage());
                }
                createJob(step.client, jobs.drill(checkpoint, database.get()));
                status.drillJob = JobFactory.drillJobName(checkpoint);
                status.drill = new CheckpointStatus.Drill();
                status.drill.image = image;
                step.transition(Phase.Drilling, "Drilling", "restoring the archive into a throwaway PostgreSQL (image " + image
                        + ") and counting every table (Job " + status.drillJob + ")");
                Conditions.set(status.conditions, "Proven", false, "Drilling", status.message, status.observedGeneration);
                return null;
            }
            case Drilling -> {
                Optional<JobOutcome> outcome = JobOutcome.find(context, checkpoint.getMetadata().getNamespace(), JobFactory.drillJobName(checkpoint));
                if (outcome.isEmpty()) {
                    return step.fail("JobDeleted", "the drill Job " + JobFactory.drillJobName(checkpoint)
                            + " disappeared before it finished; the archive is sealed but not proven: create a new Checkpoint");
                }
                return onDrillOutcome(step, outcome.get());
            }
            default -> {
                return null;
            }
        }
    }

    private Duration onDumpOutcome(Step step, JobOutcome outcome) {
        CheckpointStatus status = step.status;
        switch (outcome.state()) {
            case RUNNING -> {
                return null;
            }
            case FAILED -> {
                return step.fail(reason(outcome.errorCode()), "the dump failed: " + outcome.errorMessage());
            }
            default -> {
                JsonNode r = outcome.result();
                if (r == null) {
                    return step.awaitResult(outcome, "dump");
                }
                if (!outcome.ok() || !status.tag.equals(r.path("tag").asText())) {
                    return step.fail(reason(outcome.errorCode()), "the dump Job completed without sealing '" + status.tag + "': "
                            + outcome.errorMessage());
                }
                CheckpointStatus.Archive a = new CheckpointStatus.Archive();
                a.uri = r.path("archive").asText();
                a.bytes = r.path("bytes").asLong();
                a.size = r.path("size").asText();
                a.sha256 = r.path("sha256").asText();
                a.serverVersion = r.path("serverVersion").asText();
                a.serverMajor = r.path("serverMajor").canConvertToInt() && r.path("serverMajor").asInt() > 0
                        ? Integer.valueOf(r.path("serverMajor").asInt()) : null;
                a.serverMajor = JobFactory.sourceMajor(a); // a seal that did not report it: from its version
                a.pgDumpVersion = r.path("pgDumpVersion").asText();
                a.compression = r.hasNonNull("compression") ? r.path("compression").asText() : null;
                a.snapshotTime = r.path("snapshotTime").asText();
                status.archive = a;
                CheckpointStatus.LedgerSummary l = new CheckpointStatus.LedgerSummary();
                l.tables = r.path("tables").asInt();
                l.totalRows = r.path("rows").asLong();
                l.largeObjects = r.path("largeObjects").asLong();
                status.ledger = l;
                status.sealedAt = Conditions.now();
                metrics.sealed(outcome, a.bytes);
                step.transition(Phase.Sealed, "Sealed", "sealed " + a.uri + " (" + a.size + ", " + l.tables + " tables, "
                        + l.totalRows + " rows); starting the restore drill");
                Conditions.set(status.conditions, "Sealed", true, "Sealed", status.message, status.observedGeneration);
                return Duration.ofMillis(50);
            }
        }
    }

    private Duration onDrillOutcome(Step step, JobOutcome outcome) {
        CheckpointStatus status = step.status;
        switch (outcome.state()) {
            case RUNNING -> {
                return null;
            }
            case FAILED -> {
                readDrill(status, outcome.result());
                return step.fail(reason(outcome.errorCode()), outcome.result() != null && outcome.result().has("mismatches")
                        ? "the restore drill found row counts that differ from the ledger: " + String.join("; ", status.drill.mismatches)
                          + ": the archive is not a faithful copy; do not migrate, seal a new checkpoint"
                        : "the restore drill failed: " + outcome.errorMessage());
            }
            default -> {
                JsonNode r = outcome.result();
                if (r == null) {
                    return step.awaitResult(outcome, "drill");
                }
                boolean proven = outcome.ok() && "proven".equals(r.path("restoreDrill").asText())
                        && status.tag.equals(r.path("tag").asText()) && r.path("mismatchCount").asInt(-1) == 0;
                readDrill(status, r);
                if (!proven) {
                    return step.fail("DrillNotProven", "the drill Job completed but did not prove '" + status.tag + "': "
                            + outcome.errorMessage());
                }
                metrics.proven(outcome);
                status.finishedAt = Conditions.now();
                step.transition(Phase.Proven, "Proven", "proven: restored into a throwaway PostgreSQL and "
                        + status.drill.tablesChecked + " tables, " + status.drill.rowsChecked + " rows matched the ledger");
                Conditions.set(status.conditions, "Proven", true, "Proven", status.message, status.observedGeneration);
                Conditions.set(status.conditions, "Ready", true, "Proven", status.message, status.observedGeneration);
                return null;
            }
        }
    }

    private static void readDrill(CheckpointStatus status, JsonNode r) {
        if (r == null || !r.has("tablesChecked")) {
            return;
        }
        CheckpointStatus.Drill d = new CheckpointStatus.Drill();
        d.tablesChecked = r.path("tablesChecked").asInt();
        d.rowsChecked = r.path("rowsChecked").asLong();
        d.mismatchCount = r.path("mismatchCount").asInt();
        List<String> mismatches = new ArrayList<>();
        r.path("mismatches").forEach(m -> {
            if (mismatches.size() < 5) {
                mismatches.add(m.asText());
            }
        });
        d.mismatches = mismatches;
        d.seconds = r.path("seconds").asDouble();
        d.serverVersion = r.hasNonNull("drillServerVersion") ? r.path("drillServerVersion").asText() : null;
        d.image = status.drill != null ? status.drill.image : null;
        status.drill = d;
    }

    /** "connection.auth" → "ConnectionAuth": a condition reason must be CamelCase. */
    static String reason(String code) {
        StringBuilder sb = new StringBuilder();
        for (String part : code.split("[^A-Za-z0-9]+")) {
            if (!part.isEmpty()) {
                sb.append(Character.toUpperCase(part.charAt(0))).append(part.substring(1));
            }
        }
        return sb.length() == 0 ? "Failed" : sb.toString();
    }

    private Optional<Checkpoint> earlierWithSameTag(Checkpoint checkpoint, Context<Checkpoint> context) {
        Comparator<Checkpoint> age = Comparator.comparing((Checkpoint c) -> c.getMetadata().getCreationTimestamp())
                .thenComparing(c -> c.getMetadata().getName());
        return context.getPrimaryCache()
                .byIndex(DATABASE_INDEX, databaseKey(checkpoint.getMetadata().getNamespace(), checkpoint.getSpec().database))
                .stream()
                .filter(other -> !other.getMetadata().getUid().equals(checkpoint.getMetadata().getUid()))
                .filter(other -> other.tag().equals(checkpoint.tag()))
                .filter(other -> age.compare(other, checkpoint) < 0)
                .findFirst();
    }

    /** Creates a Job; if it already exists (an earlier run created it before a restart), it is adopted as is. */
    static void createJob(KubernetesClient client, Job job) {
        try {
            client.batch().v1().jobs().inNamespace(job.getMetadata().getNamespace()).resource(job).create();
        } catch (KubernetesClientException e) {
            if (e.getCode() != 409) {
                throw e;
            }
        }
    }

    /** One reconcile's changes to a status, with the event for each transition. */
    private final class Step {
        final Checkpoint checkpoint;
        final CheckpointStatus status;
        final KubernetesClient client;

        Step(Checkpoint checkpoint, CheckpointStatus status, KubernetesClient client) {
            this.checkpoint = checkpoint;
            this.status = status;
            this.client = client;
        }

        void transition(Phase phase, String reason, String message) {
            status.phase = phase;
            status.message = message;
            Conditions.set(status.conditions, "Ready", phase == Phase.Proven, reason, message, status.observedGeneration);
            Events.emit(client, checkpoint, false, reason, message);
        }

        Duration pending(String reason, String message) {
            if (!message.equals(status.message)) {
                status.message = message;
                Conditions.set(status.conditions, "Ready", false, reason, message, status.observedGeneration);
                Events.emit(client, checkpoint, true, reason, message);
            }
            return Duration.ofSeconds(30);
        }

        Duration fail(String reason, String message) {
            status.phase = Phase.Failed;
            status.message = message;
            status.finishedAt = Conditions.now();
            Conditions.set(status.conditions, "Ready", false, reason, message, status.observedGeneration);
            Conditions.set(status.conditions, "Proven", false, reason, message, status.observedGeneration);
            if (!Conditions.isTrue(status.conditions, "Sealed")) {
                Conditions.set(status.conditions, "Sealed", false, reason, message, status.observedGeneration);
            }
            Events.emit(client, checkpoint, true, reason, message);
            metrics.failed(reason);
            return null;
        }

        /** A Complete Job whose pod's termination message is not in the cache yet: wait a little, then fail. */
        Duration awaitResult(JobOutcome outcome, String what) {
            if (!outcome.resultOverdue()) {
                return Duration.ofSeconds(1);
            }
            return fail("ResultMissing", "the " + what + " Job completed but its result (the pod's termination message) "
                    + "cannot be read, so nothing can be claimed: check the Job's pod, then create a new Checkpoint");
        }
    }
}
