package io.pgcheckpoint.api;

import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import io.fabric8.generator.annotation.Pattern;
import io.fabric8.generator.annotation.Required;
import io.fabric8.generator.annotation.Size;
import io.fabric8.generator.annotation.ValidationRule;

/**
 * What to checkpoint. Deliberately nothing about where data goes or which image runs: images,
 * stores and credentials come only from the Database, so whoever may create a Checkpoint cannot
 * send a copy of the data anywhere else.
 */
@ValidationRule(value = "has(self.tag) == has(oldSelf.tag)", message = "spec.tag cannot be added or removed")
public class CheckpointSpec {
    @Required
    @ValidationRule(value = "self == oldSelf", message = "spec.database is immutable")
    @JsonPropertyDescription("Name of the Database (in this namespace) to checkpoint. Immutable.")
    public String database;

    @Pattern("^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
    @ValidationRule(value = "self == oldSelf", message = "spec.tag is immutable")
    @JsonPropertyDescription("Name of the checkpoint in the bucket (<prefix>/<namespace>/<database>/<tag>/); never reused. "
            + "Defaults to the Checkpoint's name. Immutable.")
    public String tag;

    @Size(max = 256)
    @JsonPropertyDescription("The commit about to be deployed, recorded in the manifest.")
    public String commit;

    @Size(max = 1024)
    @JsonPropertyDescription("Why this checkpoint was taken, recorded in the manifest.")
    public String reason;

    @JsonPropertyDescription("Retain: deleting this Checkpoint leaves its objects in the bucket; Delete: a cleanup Job removes "
            + "them first (a finalizer holds the resource until it has; a locked object is reported and retried). "
            + "Unset: the Database's deletionPolicy, itself Retain by default.")
    public DeletionPolicy deletionPolicy;
}
