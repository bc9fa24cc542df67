package io.pgcheckpoint.api;

/**
 * Condition reasons the operator sets (CamelCase, as Kubernetes requires). Engine failures add
 * their own, derived from the error code ({@code connection.auth} becomes {@code ConnectionAuth}).
 */
public final class Reasons {
    // waiting
    public static final String PENDING = "Pending";
    public static final String DATABASE_NOT_FOUND = "DatabaseNotFound";
    public static final String DATABASE_NOT_READY = "DatabaseNotReady";
    public static final String CHECKPOINT_NOT_FOUND = "CheckpointNotFound";
    public static final String CHECKPOINT_NOT_PROVEN = "CheckpointNotProven";
    public static final String IMAGE_PULL_BACK_OFF = "ImagePullBackOff";
    // progress
    public static final String DUMPING = "Dumping";
    public static final String SEALED = "Sealed";
    public static final String DRILLING = "Drilling";
    public static final String PROVEN = "Proven";
    public static final String RUNNING = "Running";
    public static final String SUCCEEDED = "Succeeded";
    public static final String PLANNED = "Planned";
    public static final String ACCEPTED = "Accepted";
    // failures
    public static final String INVALID_SPEC = "InvalidSpec";
    public static final String TAG_IN_USE = "TagInUse";
    public static final String NOT_CONFIRMED = "NotConfirmed";
    public static final String CHECKPOINT_FAILED = "CheckpointFailed";
    public static final String SECRET_MISSING = "SecretMissing";
    public static final String CONTAINER_CONFIG_ERROR = "ContainerConfigError";
    /** The kubelet could not read a Secret or ConfigMap from its cache yet, and retries by itself. */
    public static final String CONTAINER_CONFIG_PENDING = "ContainerConfigPending";
    public static final String IMAGE_PULL_FAILED = "ImagePullFailed";
    public static final String POD_CREATE_FAILED = "PodCreateFailed";
    public static final String JOB_CREATE_FAILED = "JobCreateFailed";
    public static final String JOB_CONFLICT = "JobConflict";
    public static final String JOB_DELETED = "JobDeleted";
    public static final String RESULT_MISSING = "ResultMissing";
    public static final String DRILL_NOT_PROVEN = "DrillNotProven";
    public static final String DEADLINE_EXCEEDED = "DeadlineExceeded";
    public static final String RECONCILE_ERROR = "ReconcileError";
    // deletion (deletionPolicy Delete) and retention
    public static final String DELETING_OBJECTS = "DeletingObjects";
    public static final String OBJECTS_LOCKED = "ObjectsLocked";
    public static final String CLEANUP_FAILED = "CleanupFailed";
    public static final String CLEANUP_BLOCKED = "CleanupBlocked";

    private Reasons() {
    }

    /** An engine error code as a condition reason: "connection.auth" becomes "ConnectionAuth". */
    public static String fromCode(String code) {
        StringBuilder sb = new StringBuilder();
        for (String part : (code == null ? "" : code).split("[^A-Za-z0-9]+")) {
            if (!part.isEmpty()) {
                sb.append(Character.toUpperCase(part.charAt(0))).append(part.substring(1));
            }
        }
        return sb.length() == 0 ? "Failed" : sb.toString();
    }
}
