package io.pgcheckpoint.api;

import io.fabric8.kubernetes.api.model.Condition;
import java.util.ArrayList;
import java.util.List;

public class DatabaseStatus {
    public Long observedGeneration;
    public List<Condition> conditions = new ArrayList<>();
    /** Where this Database's checkpoints go, e.g. s3://bucket/prefix/namespace/name. */
    public String storeUri;
    public String message;
}
