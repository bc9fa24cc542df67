package io.pgcheckpoint.api;

import io.fabric8.generator.annotation.Pattern;
import io.fabric8.generator.annotation.Required;
import io.fabric8.generator.annotation.ValidationRule;

@ValidationRule(value = "has(self.tag) == has(oldSelf.tag)", message = "spec.tag cannot be added or removed")
public class CheckpointSpec {
    @Required
    @ValidationRule(value = "self == oldSelf", message = "spec.database is immutable")
    public String database;
    /** Defaults to the Checkpoint's name. */
    @Pattern("^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
    @ValidationRule(value = "self == oldSelf", message = "spec.tag is immutable")
    public String tag;
    public String commit;
    public String reason;
    /** Overrides the Database's drill image for this checkpoint. */
    public String drillImage;
}
