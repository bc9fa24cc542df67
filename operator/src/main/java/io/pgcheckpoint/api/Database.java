package io.pgcheckpoint.api;

import io.fabric8.crd.generator.annotation.AdditionalPrinterColumn;
import io.fabric8.kubernetes.api.model.Namespaced;
import io.fabric8.kubernetes.client.CustomResource;
import io.fabric8.kubernetes.model.annotation.Group;
import io.fabric8.kubernetes.model.annotation.ShortNames;
import io.fabric8.kubernetes.model.annotation.Version;

/** What to protect and where its checkpoints go. */
@Group(Database.GROUP)
@Version(Database.VERSION)
@ShortNames("pgdb")
@AdditionalPrinterColumn(name = "Ready", jsonPath = ".status.conditions[?(@.type==\"Ready\")].status")
@AdditionalPrinterColumn(name = "Store", jsonPath = ".status.storeUri")
@AdditionalPrinterColumn(name = "Age", jsonPath = ".metadata.creationTimestamp", type = AdditionalPrinterColumn.Type.DATE)
public class Database extends CustomResource<DatabaseSpec, DatabaseStatus> implements Namespaced {
    public static final String GROUP = "pgcheckpoint.io";
    public static final String VERSION = "v1alpha1";
}
