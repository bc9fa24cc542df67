package io.pgcheckpoint.controller;

/** Labels and annotations the operator puts on its Jobs and their pods, and the informers' selectors. */
public final class Labels {
    public static final String MANAGED_BY = "app.kubernetes.io/managed-by";
    public static final String OPERATOR = "pgcheckpoint";
    public static final String SELECTOR = MANAGED_BY + "=" + OPERATOR;
    /** The owning Checkpoint's name as a label value ({@link JobNames#labelValue}): for kubectl -l. */
    public static final String CHECKPOINT = "pgcheckpoint.io/checkpoint";
    public static final String RESTORE = "pgcheckpoint.io/restore";
    public static final String ROLE = "pgcheckpoint.io/role";
    /** Annotation on Jobs and pods: the owner's full name, which a label value may not hold. */
    public static final String OWNER = "pgcheckpoint.io/owner";
    /** The container whose termination message carries the result. */
    public static final String MAIN_CONTAINER = "pgcheckpoint";
    /** The drill's throwaway PostgreSQL, a native sidecar. */
    public static final String DRILL_SERVER_CONTAINER = "postgres";

    private Labels() {
    }
}
