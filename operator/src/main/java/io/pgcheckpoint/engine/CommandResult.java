package io.pgcheckpoint.engine;

/**
 * The one-line JSON result of {@code seal}, {@code drill} and {@code restore}, printed with
 * {@code --output json} and written to a Job's termination message (at most 4 KiB). The CLI
 * writes these records and the operator reads the same records back with Jackson: a field
 * renamed on one side is renamed on the other.
 */
public interface CommandResult {
    boolean ok();

    /** A smaller form for when the JSON exceeds 4 KiB: lists cut, the manifest and drill.json keep the detail. */
    default CommandResult shrunk() {
        return this;
    }
}
