package io.pgcheckpoint.api;

import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import io.fabric8.generator.annotation.Default;
import io.fabric8.generator.annotation.Pattern;
import io.fabric8.generator.annotation.Required;
import io.fabric8.generator.annotation.Size;
import io.fabric8.generator.annotation.ValidationRule;
import java.util.List;

@ValidationRule(value = "self.mode != 'Replace' || has(self.confirm)",
        message = "Replace mode overwrites live tables: set spec.confirm to the checkpoint's tag")
@ValidationRule(value = "self == oldSelf", message = "a Restore's spec is immutable; create a new Restore")
public class RestoreSpec {
    public enum Mode { SideBySide, Replace }

    @Required
    @JsonPropertyDescription("Name of a Proven Checkpoint in the same namespace.")
    public String checkpoint;
    @Required
    @Size(min = 1)
    @JsonPropertyDescription("Schema-qualified tables to restore, e.g. public.orders.")
    public List<String> tables;
    @Default("SideBySide")
    @JsonPropertyDescription("SideBySide restores into a new schema (restored_<tag>) to compare and copy rows back; "
            + "Replace empties and refills the live tables and needs spec.confirm.")
    public Mode mode;
    @JsonPropertyDescription("For Replace: the checkpoint's tag, repeated.")
    public String confirm;
    @JsonPropertyDescription("Schema for SideBySide (default restored_<tag>).")
    public String intoSchema;
    @Pattern("^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$")
    @JsonPropertyDescription("Name of the Database (in this namespace) to restore into; default: the checkpoint's own Database. "
            + "Only a Database can be a target, so a Restore cannot send data anywhere its owner did not declare.")
    public String target;
    @Default("false")
    @JsonPropertyDescription("Only plan: the Job computes what the restore would do (tables emptied or recreated, partitions "
            + "attached, foreign keys, sequences, triggers, what cannot be restored), reports it in status.plan and changes nothing.")
    public Boolean plan;
}
