package io.pgcheckpoint.api;

/**
 * What deleting a Checkpoint resource does to its objects in the bucket: Retain leaves them (the
 * default), Delete removes them through a cleanup Job before the resource goes (a finalizer).
 */
public enum DeletionPolicy {
    Retain, Delete;

    /** The Checkpoint's own policy, else its Database's, else Retain. */
    public static DeletionPolicy effective(Checkpoint c, Database db) {
        if (c.getSpec() != null && c.getSpec().deletionPolicy != null) {
            return c.getSpec().deletionPolicy;
        }
        if (db != null && db.getSpec() != null && db.getSpec().deletionPolicy != null) {
            return db.getSpec().deletionPolicy;
        }
        return Retain;
    }
}
