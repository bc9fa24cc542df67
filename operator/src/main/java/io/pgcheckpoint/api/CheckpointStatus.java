package io.pgcheckpoint.api;

import com.fasterxml.jackson.annotation.JsonIgnore;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import io.fabric8.kubernetes.api.model.Condition;
import java.util.ArrayList;
import java.util.List;

/**
 * Pending → Dumping → Sealed → Drilling → Proven, or Failed. Every transition is a method here,
 * so that phase, message and the three conditions always move together.
 */
public class CheckpointStatus {
    public enum Phase { Pending, Dumping, Sealed, Drilling, Proven, Failed }

    /** Condition types. */
    public static final String SEALED = "Sealed";
    public static final String PROVEN = "Proven";
    public static final String READY = "Ready";
    /** Condition type while a deleted Checkpoint's objects are being removed. */
    public static final String OBJECTS_DELETED = "ObjectsDeleted";

    @JsonPropertyDescription("Pending, Dumping, Sealed, Drilling, Proven (restored and every table counted equal to the ledger) or Failed.")
    public Phase phase;
    @JsonPropertyDescription("The checkpoint's tag: spec.tag, or the Checkpoint's name.")
    public String tag;
    @JsonPropertyDescription("The metadata.generation this status describes.")
    public Long observedGeneration;
    @JsonPropertyDescription("Sealed (archive and manifest written), Proven (restore drill passed) and Ready (Proven, or why not).")
    public List<Condition> conditions = new ArrayList<>();
    @JsonPropertyDescription("One sentence: what happened, and when Failed, what to do next.")
    public String message;
    @JsonPropertyDescription("Name of the Job running pgcheckpoint seal.")
    public String dumpJob;
    @JsonPropertyDescription("Name of the Job running the restore drill.")
    public String drillJob;
    @JsonPropertyDescription("When the dump Job was created (RFC 3339).")
    public String startedAt;
    @JsonPropertyDescription("When the seal was read back from the dump Job (RFC 3339).")
    public String sealedAt;
    @JsonPropertyDescription("When the checkpoint became Proven or Failed (RFC 3339).")
    public String finishedAt;
    @JsonPropertyDescription("The sealed archive.")
    public Archive archive;
    @JsonPropertyDescription("Summary of the ledger: the exact row counts taken in the dump's snapshot (the full ledger is in manifest.json).")
    public LedgerSummary ledger;
    @JsonPropertyDescription("Result of the restore drill.")
    public Drill drill;
    @JsonPropertyDescription("Until when the checkpoint's objects are locked (S3 Object Lock, RFC 3339); unset when not locked.")
    public String retainUntil;
    @JsonPropertyDescription("Object Lock mode of the checkpoint's objects: GOVERNANCE or COMPLIANCE; unset when not locked.")
    public String lockMode;
    @JsonPropertyDescription("Removal of the checkpoint's objects after the resource was deleted with deletionPolicy Delete.")
    public Cleanup cleanup;

    public static class Cleanup {
        @JsonPropertyDescription("Name of the latest Job running pgcheckpoint delete.")
        public String job;
        @JsonPropertyDescription("How many cleanup Jobs were started.")
        public Integer attempts;
        @JsonPropertyDescription("When the next cleanup Job may start (RFC 3339): the lock's retain-until date, or a backoff.")
        public String retryAt;
    }

    public static class Archive {
        @JsonPropertyDescription("Where the archive is, e.g. s3://bucket/prefix/namespace/database/tag/archive.dump.")
        public String uri;
        @JsonPropertyDescription("Size of the archive in bytes.")
        public Long bytes;
        @JsonPropertyDescription("Size of the archive for people, e.g. 412.3 MB.")
        public String size;
        @JsonPropertyDescription("sha256 of the archive, verified by every drill and restore.")
        public String sha256;
        @JsonPropertyDescription("Version of the PostgreSQL server that was dumped.")
        public String serverVersion;
        @JsonPropertyDescription("The source's major version: the drill runs a server of this major (spec.drill.image's {major}).")
        public Integer serverMajor;
        @JsonPropertyDescription("Version of the pg_dump that wrote the archive.")
        public String pgDumpVersion;
        @JsonPropertyDescription("pg_dump's compression, e.g. zstd:1 or gzip:1.")
        public String compression;
        @JsonPropertyDescription("When the dump's snapshot was taken (RFC 3339): the archive holds the data as of this instant.")
        public String snapshotTime;
    }

    public static class LedgerSummary {
        @JsonPropertyDescription("Number of tables (and other counted relations) in the ledger.")
        public Integer tables;
        @JsonPropertyDescription("Sum of their exact row counts.")
        public Long totalRows;
        @JsonPropertyDescription("Number of large objects.")
        public Long largeObjects;
    }

    public static class Drill {
        @JsonPropertyDescription("Tables restored and counted.")
        public Integer tablesChecked;
        @JsonPropertyDescription("Rows counted after the restore.")
        public Long rowsChecked;
        @JsonPropertyDescription("Number of tables whose count differs from the ledger.")
        public Integer mismatchCount;
        @JsonPropertyDescription("The first mismatches, e.g. \"public.orders: expected 1001 rows, found 1000\".")
        public List<String> mismatches;
        @JsonPropertyDescription("Duration of the drill in seconds.")
        public Double seconds;
        @JsonPropertyDescription("Image of the throwaway server the archive was restored into.")
        public String image;
        @JsonPropertyDescription("Version of the throwaway server the archive was restored into.")
        public String serverVersion;
    }

    /** Proven and Failed are final: nothing moves a checkpoint out of them. */
    @JsonIgnore
    public boolean isDone() {
        return phase == Phase.Proven || phase == Phase.Failed;
    }

    /** Starts a new status, or refreshes tag and generation of an existing one. */
    public void observe(Checkpoint checkpoint) {
        tag = checkpoint.tag();
        observedGeneration = checkpoint.getMetadata().getGeneration();
        if (phase == null) {
            phase = Phase.Pending;
            message = "waiting to start the dump";
            ready(false, Reasons.PENDING);
        }
    }

    /** Not moving on, for a reason the user can act on (the Database does not exist yet, an image pull backs off). */
    public void waiting(String reason, String why) {
        message = why;
        ready(false, reason);
    }

    public void dumping(String job, String storeUri) {
        dumping(job, storeUri, 1);
    }

    /** @param workers spec.dump.jobs: more than 1, pg_dump's directory format, uploaded file by file */
    public void dumping(String job, String storeUri, int workers) {
        phase = Phase.Dumping;
        dumpJob = job;
        startedAt = Conditions.now();
        message = (workers > 1 ? workers + " pg_dump workers are writing the archive's files, each uploaded when done, to "
                : "pg_dump is streaming the archive to ") + storeUri + "/" + tag + " (Job " + job + ")";
        ready(false, Reasons.DUMPING);
        set(SEALED, false, Reasons.DUMPING, message);
        set(PROVEN, false, Reasons.DUMPING, "not drilled yet");
    }

    public void sealed(Archive sealedArchive, LedgerSummary sealedLedger) {
        phase = Phase.Sealed;
        archive = sealedArchive;
        ledger = sealedLedger;
        sealedAt = Conditions.now();
        message = "sealed " + archive.uri + " (" + archive.size + ", " + ledger.tables + " tables, " + ledger.totalRows
                + " rows); starting the restore drill";
        ready(false, Reasons.SEALED);
        set(SEALED, true, Reasons.SEALED, message);
    }

    public void drilling(String job) {
        drilling(job, null);
    }

    /** @param image the throwaway server's image, chosen for the source's major */
    public void drilling(String job, String image) {
        phase = Phase.Drilling;
        drillJob = job;
        if (image != null) {
            drill = new Drill();
            drill.image = image;
        }
        message = "restoring the archive into a throwaway PostgreSQL" + (image == null ? "" : " (image " + image + ")")
                + " and counting every table (Job " + job + ")";
        ready(false, Reasons.DRILLING);
        set(PROVEN, false, Reasons.DRILLING, message);
    }

    public void proven(Drill result) {
        phase = Phase.Proven;
        drill = result;
        finishedAt = Conditions.now();
        message = "proven: restored into a throwaway PostgreSQL and " + drill.tablesChecked + " tables, " + drill.rowsChecked
                + " rows matched the ledger";
        ready(true, Reasons.PROVEN);
        set(PROVEN, true, Reasons.PROVEN, message);
    }

    /** Failed, for good: the message says what to do next. Sealed stays true when the archive was sealed. */
    public void fail(String reason, String why) {
        phase = Phase.Failed;
        message = why;
        finishedAt = Conditions.now();
        ready(false, reason);
        set(PROVEN, false, reason, why);
        if (!Conditions.isTrue(conditions, SEALED)) {
            set(SEALED, false, reason, why);
        }
    }

    /** The operator itself could not finish a reconcile (API error); it retries. Phase unchanged. */
    public void reconcileError(String why) {
        if (isDone()) {
            return;
        }
        message = "retrying after an error: " + why;
        ready(false, Reasons.RECONCILE_ERROR);
    }

    /** A deleted Checkpoint whose objects are not removed yet: says why, in the message and the ObjectsDeleted condition. */
    public void cleaning(String reason, String why) {
        message = why;
        set(OBJECTS_DELETED, false, reason, why);
    }

    @JsonIgnore
    public String readyReason() {
        Condition c = Conditions.find(conditions, READY);
        return c == null ? null : c.getReason();
    }

    private void ready(boolean value, String reason) {
        set(READY, value, reason, message);
    }

    private void set(String type, boolean value, String reason, String text) {
        Conditions.set(conditions, type, value, reason, text, observedGeneration);
    }
}
