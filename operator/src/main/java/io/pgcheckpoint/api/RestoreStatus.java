package io.pgcheckpoint.api;

import com.fasterxml.jackson.annotation.JsonIgnore;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import io.fabric8.kubernetes.api.model.Condition;
import java.util.ArrayList;
import java.util.List;

/** Pending → Running → Succeeded, or Failed; each transition is a method here. */
public class RestoreStatus {
    public enum Phase { Pending, Running, Succeeded, Failed }

    /** Condition type. */
    public static final String COMPLETE = "Complete";

    @JsonPropertyDescription("Pending, Running, Succeeded or Failed.")
    public Phase phase;
    @JsonPropertyDescription("The metadata.generation this status describes.")
    public Long observedGeneration;
    @JsonPropertyDescription("Complete: every table restored and counted equal to the ledger, or why not.")
    public List<Condition> conditions = new ArrayList<>();
    @JsonPropertyDescription("One sentence: what happened, and when Failed, what to do next.")
    public String message;
    @JsonPropertyDescription("Name of the Job running pgcheckpoint restore.")
    public String job;
    @JsonPropertyDescription("Rows restored per table, against the checkpoint's ledger.")
    public List<TableResult> tables;
    @JsonPropertyDescription("With spec.plan: what the restore would do, one step a line; nothing was changed.")
    public List<String> plan;
    @JsonPropertyDescription("What was not restored, or restored differently, and why (e.g. an owner the restoring role may not set).")
    public List<String> warnings;

    public static class TableResult {
        @JsonPropertyDescription("The table in the checkpoint, e.g. public.orders.")
        public String table;
        @JsonPropertyDescription("Where it was restored, e.g. restored_pre_deploy_4f3a9c1.orders.")
        public String restoredAs;
        @JsonPropertyDescription("What it is in the checkpoint, e.g. table, partitioned table or materialized view.")
        public String kind;
        @JsonPropertyDescription("Rows in the ledger.")
        public Long ledgerRows;
        @JsonPropertyDescription("Rows restored.")
        public Long restoredRows;
        @JsonPropertyDescription("Whether the two are equal.")
        public Boolean matches;
        @JsonPropertyDescription("Anything to know about this table's restore, e.g. a view refreshed instead of counted.")
        public String note;
    }

    @JsonIgnore
    public boolean isDone() {
        return phase == Phase.Succeeded || phase == Phase.Failed;
    }

    public void observe(Restore restore) {
        observedGeneration = restore.getMetadata().getGeneration();
        if (phase == null) {
            phase = Phase.Pending;
        }
    }

    public void pending(String reason, String why) {
        phase = Phase.Pending;
        message = why;
        complete(false, reason);
    }

    /** Not moving on, for a reason the user can act on; the phase stays. */
    public void waiting(String reason, String why) {
        message = why;
        complete(false, reason);
    }

    public void running(String jobName, String why) {
        phase = Phase.Running;
        job = jobName;
        message = why;
        complete(false, Reasons.RUNNING);
    }

    public void succeeded(List<TableResult> restored) {
        phase = Phase.Succeeded;
        tables = restored;
        message = "restored " + restored.size() + " table(s); every count matches the ledger"
                + (warnings == null ? "" : "; " + warnings.size() + " warning(s) in status.warnings");
        complete(true, Reasons.SUCCEEDED);
    }

    /** spec.plan: the plan is in status.plan, nothing was changed. */
    public void planned(List<String> steps) {
        phase = Phase.Succeeded;
        message = "plan only, nothing changed: " + (steps == null ? 0 : steps.size()) + " step(s) in status.plan"
                + (warnings == null ? "" : ", " + warnings.size() + " warning(s)") + "; create a Restore without spec.plan to run it";
        complete(true, Reasons.PLANNED);
    }

    public void fail(String reason, String why) {
        phase = Phase.Failed;
        message = why;
        complete(false, reason);
    }

    public void reconcileError(String why) {
        if (isDone()) {
            return;
        }
        message = "retrying after an error: " + why;
        complete(false, Reasons.RECONCILE_ERROR);
    }

    @JsonIgnore
    public String completeReason() {
        Condition c = Conditions.find(conditions, COMPLETE);
        return c == null ? null : c.getReason();
    }

    private void complete(boolean value, String reason) {
        Conditions.set(conditions, COMPLETE, value, reason, message, observedGeneration);
    }
}
