package io.pgcheckpoint.api;

import io.fabric8.kubernetes.api.model.Condition;
import java.util.ArrayList;
import java.util.List;

public class CheckpointStatus {
    public enum Phase { Pending, Dumping, Sealed, Drilling, Proven, Failed }

    public Phase phase;
    public String tag;
    public Long observedGeneration;
    public List<Condition> conditions = new ArrayList<>();
    /** One sentence: what happened, and when Failed, what to do next. */
    public String message;
    public String dumpJob;
    public String drillJob;
    public String startedAt;
    public String sealedAt;
    public String finishedAt;
    public Archive archive;
    public LedgerSummary ledger;
    public Drill drill;

    public static class Archive {
        public String uri;
        public Long bytes;
        public String size;
        public String sha256;
        public String serverVersion;
        /** The source's major version: the drill runs a server of this major (spec.drill.image's {major}). */
        public Integer serverMajor;
        public String pgDumpVersion;
        /** pg_dump's compression, e.g. zstd:1 or gzip:1. */
        public String compression;
        public String snapshotTime;
    }

    public static class LedgerSummary {
        public Integer tables;
        public Long totalRows;
        public Long largeObjects;
    }

    public static class Drill {
        public Integer tablesChecked;
        public Long rowsChecked;
        public Integer mismatchCount;
        /** The first mismatches, e.g. "public.orders: expected 1001 rows, found 1000". */
        public List<String> mismatches;
        public Double seconds;
        /** The throwaway server's image and version the archive was restored into. */
        public String image;
        public String serverVersion;
    }
}
