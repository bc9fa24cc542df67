package io.pgcheckpoint.controller;

import io.javaoperatorsdk.operator.api.reconciler.Context;
import io.pgcheckpoint.api.Checkpoint;
import io.pgcheckpoint.api.CheckpointStatus;
import io.pgcheckpoint.api.Database;
import io.pgcheckpoint.api.Reasons;
import io.pgcheckpoint.engine.DrillResult;
import io.pgcheckpoint.engine.SealResult;
import java.time.Duration;
import java.util.List;

/**
 * Reads what the running Job says and moves the status accordingly: Dumping → Sealed, Drilling →
 * Proven, or Failed with the reason and what to do next. Never creates anything; Proven only from
 * a Complete drill Job whose result proves this very tag.
 */
final class CheckpointObserver {
    private final OperatorMetrics metrics;

    CheckpointObserver(OperatorMetrics metrics) {
        this.metrics = metrics;
    }

    /** @return when to look again, or null to wait for an event */
    Duration observe(Checkpoint checkpoint, Context<Checkpoint> context, StatusPatch<CheckpointStatus, Checkpoint> patch) {
        return switch (checkpoint.getStatus().phase) {
            case Dumping -> observeDump(checkpoint, context, patch);
            case Drilling -> observeDrill(checkpoint, context, patch);
            default -> null;
        };
    }

    private Duration observeDump(Checkpoint checkpoint, Context<Checkpoint> context, StatusPatch<CheckpointStatus, Checkpoint> patch) {
        CheckpointStatus status = checkpoint.getStatus();
        JobOutcome<SealResult> outcome = JobObserver.observe(context, checkpoint, status.dumpJob, SealResult.class, databases(context));
        switch (outcome.state()) {
            case MISSING -> status.fail(Reasons.JOB_DELETED, "the dump Job " + status.dumpJob
                    + " disappeared before it finished (deleted by hand, or by its TTL while the operator was down); "
                    + "nothing is sealed under this checkpoint: create a new Checkpoint with a new tag");
            case BLOCKED -> status.fail(outcome.reason(), "the dump Job " + status.dumpJob + " cannot run: " + outcome.message()
                    + "; then create a new Checkpoint");
            case WAITING -> status.waiting(outcome.reason(), outcome.message());
            case FAILED -> status.fail(outcome.failureReason(), "the dump failed: " + outcome.errorMessage());
            case SUCCEEDED -> {
                SealResult r = outcome.result();
                if (r == null && outcome.error() == null) {
                    return awaitResult(status, outcome, "dump");
                }
                if (r == null || !r.ok() || !status.tag.equals(r.tag())) {
                    status.fail(outcome.failureReason(), "the dump Job completed without sealing '" + status.tag + "': "
                            + outcome.errorMessage());
                    return null;
                }
                status.sealed(archive(r), ledger(r));
                if (r.retainUntil() != null) { // the Object Lock the seal put on the objects
                    status.retainUntil = r.retainUntil().toString();
                    status.lockMode = r.lockMode();
                }
                patch.afterCommit(() -> metrics.sealed(outcome, r.bytes()));
                return Duration.ofMillis(50); // on to the drill
            }
            case RUNNING -> resumed(status, Reasons.DUMPING, "the dump Job " + status.dumpJob + " is running");
        }
        return null;
    }

    private Duration observeDrill(Checkpoint checkpoint, Context<Checkpoint> context, StatusPatch<CheckpointStatus, Checkpoint> patch) {
        CheckpointStatus status = checkpoint.getStatus();
        JobOutcome<DrillResult> outcome = JobObserver.observe(context, checkpoint, status.drillJob, DrillResult.class, databases(context));
        DrillResult r = outcome.result();
        String image = status.drill != null ? status.drill.image : null; // chosen when the drill Job was created
        switch (outcome.state()) {
            case MISSING -> status.fail(Reasons.JOB_DELETED, "the drill Job " + status.drillJob
                    + " disappeared before it finished; the archive is sealed but not proven: create a new Checkpoint");
            case BLOCKED -> status.fail(outcome.reason(), "the drill Job " + status.drillJob + " cannot run: " + outcome.message()
                    + "; the archive is sealed but not proven: then create a new Checkpoint");
            case WAITING -> status.waiting(outcome.reason(), outcome.message());
            case FAILED -> {
                status.drill = drill(r, image);
                status.fail(outcome.failureReason(), r != null && r.mismatchCount() > 0
                        ? "the restore drill found row counts that differ from the ledger: " + String.join("; ", r.mismatches())
                          + ": the archive is not a faithful copy; do not migrate, seal a new checkpoint"
                        : "the restore drill failed: " + outcome.errorMessage());
            }
            case SUCCEEDED -> {
                if (r == null && outcome.error() == null) {
                    return awaitResult(status, outcome, "drill");
                }
                status.drill = drill(r, image);
                if (r == null || !r.proven() || !status.tag.equals(r.tag())) {
                    status.fail(Reasons.DRILL_NOT_PROVEN, "the drill Job completed but did not prove '" + status.tag + "': "
                            + outcome.errorMessage());
                    return null;
                }
                status.proven(drill(r, image));
                patch.afterCommit(() -> metrics.proven(outcome));
            }
            case RUNNING -> resumed(status, Reasons.DRILLING, "the drill Job " + status.drillJob + " is running");
        }
        return null;
    }

    /** Running again after a wait (an image pull that backed off, a Secret not in the kubelet's cache yet): the wait's message goes. */
    private static void resumed(CheckpointStatus status, String reason, String message) {
        if (Reasons.IMAGE_PULL_BACK_OFF.equals(status.readyReason()) || Reasons.CONTAINER_CONFIG_PENDING.equals(status.readyReason())) {
            status.waiting(reason, message);
        }
    }

    /** A Complete Job whose pod's termination message is not in the cache yet: wait a little, then fail. */
    private static Duration awaitResult(CheckpointStatus status, JobOutcome<?> outcome, String what) {
        if (!outcome.resultOverdue()) {
            return Duration.ofSeconds(1);
        }
        status.fail(Reasons.RESULT_MISSING, "the " + what + " Job completed but its result (the pod's termination message) "
                + "cannot be read, so nothing can be claimed: check the Job's pod, then create a new Checkpoint");
        return null;
    }

    private static List<Database> databases(Context<Checkpoint> context) {
        return context.getSecondaryResource(Database.class).map(List::of).orElse(List.of());
    }

    static CheckpointStatus.Archive archive(SealResult r) {
        CheckpointStatus.Archive a = new CheckpointStatus.Archive();
        a.uri = r.archive();
        a.bytes = r.bytes();
        a.size = r.size();
        a.sha256 = r.sha256();
        a.serverVersion = r.serverVersion();
        a.serverMajor = r.serverMajor() != null && r.serverMajor() > 0 ? r.serverMajor() : null;
        a.serverMajor = JobFactory.sourceMajor(a); // a seal that did not report it: from its version
        a.pgDumpVersion = r.pgDumpVersion();
        a.compression = r.compression();
        a.snapshotTime = r.snapshotTime() == null ? null : r.snapshotTime().toString();
        return a;
    }

    static CheckpointStatus.LedgerSummary ledger(SealResult r) {
        CheckpointStatus.LedgerSummary l = new CheckpointStatus.LedgerSummary();
        l.tables = r.tables();
        l.totalRows = r.rows();
        l.largeObjects = r.largeObjects();
        return l;
    }

    /** The drill's numbers for the status, the first five mismatches named; null when the drill produced none. */
    static CheckpointStatus.Drill drill(DrillResult r) {
        if (r == null || r.tablesChecked() == 0 && r.mismatchCount() == 0) {
            return null;
        }
        CheckpointStatus.Drill d = new CheckpointStatus.Drill();
        d.tablesChecked = r.tablesChecked();
        d.rowsChecked = r.rowsChecked();
        d.mismatchCount = r.mismatchCount();
        d.mismatches = r.mismatches() == null ? List.of() : r.mismatches().stream().limit(5).toList();
        d.seconds = r.seconds();
        d.serverVersion = r.drillServerVersion();
        return d;
    }

    /** As {@link #drill(DrillResult)}, with the throwaway server's image the drill Job was created with. */
    static CheckpointStatus.Drill drill(DrillResult r, String image) {
        CheckpointStatus.Drill d = drill(r);
        if (d == null && image == null) {
            return null;
        }
        if (d == null) {
            d = new CheckpointStatus.Drill();
        }
        d.image = image;
        return d;
    }
}
