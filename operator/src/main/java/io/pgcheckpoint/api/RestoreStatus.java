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

    public static class TableResult {
        public String table;
        public String restoredAs;
        public Long ledgerRows;
        public Long restoredRows;
        public Boolean matches;
    }
}
