package io.pgcheckpoint.controller;

/** Labels the operator puts on its Jobs and their pods, and the informers' selector. */
public final class Labels {
    public static final String MANAGED_BY = "app.kubernetes.io/managed-by";
    public static final String OPERATOR = "pgcheckpoint";
    public static final String SELECTOR = MANAGED_BY + "=" + OPERATOR;
    public static final String CHECKPOINT = "pgcheckpoint.io/checkpoint";
    public static final String RESTORE = "pgcheckpoint.io/restore";
    public static final String ROLE = "pgcheckpoint.io/role";
    /** The container whose termination message carries the result. */
    public static final String MAIN_CONTAINER = "pgcheckpoint";

    private Labels() {
    }
}
