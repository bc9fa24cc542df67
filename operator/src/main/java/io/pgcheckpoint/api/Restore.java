package io.pgcheckpoint.api;

import io.fabric8.crd.generator.annotation.AdditionalPrinterColumn;
import io.fabric8.kubernetes.api.model.Namespaced;
import io.fabric8.kubernetes.client.CustomResource;
import io.fabric8.kubernetes.model.annotation.Group;
import io.fabric8.kubernetes.model.annotation.Version;

/** Surgical recovery of chosen tables from a Checkpoint. */
@Group(Database.GROUP)
@Version(Database.VERSION)
@AdditionalPrinterColumn(name = "Checkpoint", jsonPath = ".spec.checkpoint")
@AdditionalPrinterColumn(name = "Mode", jsonPath = ".spec.mode")
@AdditionalPrinterColumn(name = "Phase", jsonPath = ".status.phase")
@AdditionalPrinterColumn(name = "Age", jsonPath = ".metadata.creationTimestamp", type = AdditionalPrinterColumn.Type.DATE)
public class Restore extends CustomResource<RestoreSpec, RestoreStatus> implements Namespaced {
}
