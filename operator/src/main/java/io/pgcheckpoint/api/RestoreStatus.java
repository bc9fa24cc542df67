package io.pgcheckpoint.api;

import io.fabric8.kubernetes.api.model.Condition;
import java.util.ArrayList;
import java.util.List;

public class RestoreStatus {
    public enum Phase { Pending, Running, Succeeded, Failed }

    public Phase phase;
    public Long observedGeneration;
    public List<Condition> conditions = new ArrayList<>();
    public String message;
    public String job;
    public List<TableResult> tables;
    /** With spec.plan: what the restore would do, one step a line; nothing was changed. */
    public List<String> plan;
    /** What was not restored, or restored differently, and why (e.g. an owner the restoring role may not set). */
    public List<String> warnings;

    public static class TableResult {
        public String table;
        public String restoredAs;
        public String kind;
        public Long ledgerRows;
        public Long restoredRows;
        public Boolean matches;
        public String note;
    }
}
