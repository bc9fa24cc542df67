package io.pgcheckpoint.controller;

/** Labels and annotations the operator puts on its Jobs and their pods, and the informers' selectors. */
public final class Labels {
    public static final String MANAGED_BY = "app.kubernetes.io/managed-by";
    public static final String OPERATOR = "pgcheckpoint";
    public static final String SELECTOR = MANAGED_BY + "=" + OPERATOR;
    /** The owning Checkpoint's name as a label value ({@link JobNames#labelValue}): for kubectl -l. */
    public static final String CHECKPOINT = "pgcheckpoint.io/checkpoint";
    public static final String RESTORE = "pgcheckpoint.io/restore";
    /** On the prune Jobs: the Database they apply retention to. */
    public static final String DATABASE = "pgcheckpoint.io/database";
    public static final String ROLE = "pgcheckpoint.io/role";
    /** Annotation on Jobs and pods: the owner's full name, which a label value may not hold. */
    public static final String OWNER = "pgcheckpoint.io/owner";
    /** Annotation on a Job without an owner reference (the cleanup Job): the UID of the Checkpoint it works for. */
    public static final String OWNER_UID = "pgcheckpoint.io/owner-uid";
    /** The finalizer on Checkpoints whose deletionPolicy is Delete. */
    public static final String DELETE_OBJECTS_FINALIZER = "pgcheckpoint.io/delete-objects";
    /** Annotation the prune puts on a Checkpoint whose objects it removed, before deleting it: no cleanup Job then. */
    public static final String PRUNED_BY = "pgcheckpoint.io/pruned-by";
    /** The container whose termination message carries the result. */
    public static final String MAIN_CONTAINER = "pgcheckpoint";
    /** The drill's throwaway PostgreSQL, a native sidecar. */
    public static final String DRILL_SERVER_CONTAINER = "postgres";

    private Labels() {
    }
}
