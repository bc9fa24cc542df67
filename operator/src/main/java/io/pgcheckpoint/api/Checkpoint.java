package io.pgcheckpoint.api;

import io.fabric8.crd.generator.annotation.AdditionalPrinterColumn;
import io.fabric8.kubernetes.api.model.Namespaced;
import io.fabric8.kubernetes.client.CustomResource;
import io.fabric8.kubernetes.model.annotation.Group;
import io.fabric8.kubernetes.model.annotation.ShortNames;
import io.fabric8.kubernetes.model.annotation.Version;

/** One sealed-and-proven copy of a Database. */
@Group(Database.GROUP)
@Version(Database.VERSION)
@ShortNames("ckpt")
@AdditionalPrinterColumn(name = "Database", jsonPath = ".spec.database")
@AdditionalPrinterColumn(name = "Tag", jsonPath = ".status.tag")
@AdditionalPrinterColumn(name = "Phase", jsonPath = ".status.phase")
@AdditionalPrinterColumn(name = "Size", jsonPath = ".status.archive.size")
@AdditionalPrinterColumn(name = "Age", jsonPath = ".metadata.creationTimestamp", type = AdditionalPrinterColumn.Type.DATE)
public class Checkpoint extends CustomResource<CheckpointSpec, CheckpointStatus> implements Namespaced {
    /** The tag: spec.tag, or the object's name. */
    public String tag() {
        return getSpec() != null && getSpec().tag != null && !getSpec().tag.isBlank() ? getSpec().tag : getMetadata().getName();
    }
}
