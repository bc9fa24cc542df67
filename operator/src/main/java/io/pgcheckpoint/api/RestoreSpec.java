package io.pgcheckpoint.api;

import io.fabric8.generator.annotation.Default;
import io.fabric8.generator.annotation.Required;
import io.fabric8.generator.annotation.Size;
import io.fabric8.generator.annotation.ValidationRule;
import java.util.List;

@ValidationRule(value = "self.mode != 'Replace' || has(self.confirm)",
        message = "Replace mode overwrites live tables: set spec.confirm to the checkpoint's tag")
@ValidationRule(value = "self == oldSelf", message = "a Restore's spec is immutable; create a new Restore")
public class RestoreSpec {
    public enum Mode { SideBySide, Replace }

    /** Name of a Proven Checkpoint in the same namespace. */
    @Required
    public String checkpoint;
    /** Schema-qualified tables, e.g. public.orders. */
    @Required
    @Size(min = 1)
    public List<String> tables;
    @Default("SideBySide")
    public Mode mode;
    /** Must equal the checkpoint's tag for Replace. */
    public String confirm;
    /** Schema for SideBySide (default restored_<tag>). */
    public String intoSchema;
    /** Another database to restore into: a Secret like the Database's connection; defaults to the source database. */
    public DatabaseSpec.Connection target;
    /**
     * Only plan: the Job computes what the restore would do (tables emptied or recreated, partitions
     * attached, foreign keys, sequences, triggers, what cannot be restored), reports it in
     * status.plan and changes nothing.
     */
    @Default("false")
    public Boolean plan;
}
