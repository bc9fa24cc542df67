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
                + (spec.store.credentialsSecret != null ? " and Secret '" + spec.store.credentialsSecret + "'" : "");
        message = "checkpoints go to " + uri + "; the Jobs read " + secrets
                + (spec.serviceAccountName != null ? " and run as ServiceAccount '" + spec.serviceAccountName + "'" : "");
        Conditions.set(conditions, READY, true, Reasons.ACCEPTED, message, observedGeneration);
    }

    public void reconcileError(String why) {
        message = "retrying after an error: " + why;
        Conditions.set(conditions, READY, false, Reasons.RECONCILE_ERROR, message, observedGeneration);
    }
}
