package io.pgcheckpoint.api;

import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import io.fabric8.kubernetes.api.model.Condition;
import java.util.ArrayList;
import java.util.List;

public class DatabaseStatus {
    /** Condition type. */
    public static final String READY = "Ready";

    @JsonPropertyDescription("The metadata.generation this status describes.")
    public Long observedGeneration;
    @JsonPropertyDescription("Ready: the spec was accepted and Checkpoints may use this Database.")
    public List<Condition> conditions = new ArrayList<>();
    @JsonPropertyDescription("Where this Database's checkpoints go, e.g. s3://bucket/prefix/namespace/name.")
    public String storeUri;
    @JsonPropertyDescription("One sentence about this Database's state.")
    public String message;
    @JsonPropertyDescription("Retention (spec.retention): the prune Jobs and what the last one did.")
    public Retention retention;

    public static class Retention {
        @JsonPropertyDescription("Name of the prune Job running now; unset when none runs.")
        public String pruneJob;
        @JsonPropertyDescription("How many prune Jobs were started.")
        public Integer prunes;
        @JsonPropertyDescription("When the last prune Job finished (RFC 3339).")
        public String lastPruneTime;
        @JsonPropertyDescription("What the last prune did, in one sentence.")
        public String lastPrune;
        @JsonPropertyDescription("Tags the last prune removed.")
        public java.util.List<String> removed;
        @JsonPropertyDescription("Earliest retain-until date of a checkpoint the last prune kept because it was locked (RFC 3339): "
                + "a prune runs again after it.")
        public String lockedUntil;
    }

    /**
     * The spec is usable. The Secrets are not looked at (the operator has no access to any): a
     * missing Secret or key shows on the first Checkpoint, from its Job's pod, as SecretMissing.
     */
    public void accepted(Database db, String uri) {
        observedGeneration = db.getMetadata().getGeneration();
        storeUri = uri;
        DatabaseSpec spec = db.getSpec();
        String secrets = "Secret '" + spec.connection.secretName + "'"
                + (spec.connection.key != null ? " (key '" + spec.connection.key + "')" : " (keys host, user, password, dbname)")
                + (spec.store.credentialsSecret != null ? " and Secret '" + spec.store.credentialsSecret + "'" : "")
                + (spec.signing != null && spec.signing.privateKeySecret != null
                        ? ", the dump Job also Secret '" + spec.signing.privateKeySecret.name + "' (the signing key)" : "");
        message = "checkpoints go to " + uri + "; the Jobs read " + secrets
                + (spec.serviceAccountName != null ? " and run as ServiceAccount '" + spec.serviceAccountName + "'" : "");
        Conditions.set(conditions, READY, true, Reasons.ACCEPTED, message, observedGeneration);
    }

    public void reconcileError(String why) {
        message = "retrying after an error: " + why;
        Conditions.set(conditions, READY, false, Reasons.RECONCILE_ERROR, message, observedGeneration);
    }
}
