package io.pgcheckpoint.controller;

import io.pgcheckpoint.api.Reasons;
import io.pgcheckpoint.engine.CommandError;
import io.pgcheckpoint.engine.CommandResult;
import java.time.Duration;
import java.time.Instant;

/**
 * What a Job and its pod say, typed: the command's own result record when its container wrote
 * one, the command's error otherwise, and for Jobs that never got to run, why.
 *
 * @param result the command's result (a {@code SealResult}, {@code DrillResult}, ...), or null
 * @param error  the command's error line, or what stands in for it (the Job's own reason)
 */
public record JobOutcome<T extends CommandResult>(State state, T result, CommandError error, String reason, String message,
                                                  Instant startedAt, Instant finishedAt) {
    public enum State {
        /** No Job of this name owned by this object. */
        MISSING,
        RUNNING,
        /** Running, but waiting for something outside it that may still come (an image pull backing off). */
        WAITING,
        /** Can never run: a Secret or key missing, its pod refused (admission, quota), its image invalid, a foreign Job. */
        BLOCKED,
        SUCCEEDED,
        FAILED
    }

    /** How long a Complete Job may wait for its pod's termination message to reach the cache. */
    static final Duration RESULT_GRACE = Duration.ofSeconds(30);

    static <T extends CommandResult> JobOutcome<T> missing() {
        return new JobOutcome<>(State.MISSING, null, null, null, null, null, null);
    }

    static <T extends CommandResult> JobOutcome<T> blocked(String reason, String message) {
        return new JobOutcome<>(State.BLOCKED, null, null, reason, message, null, null);
    }

    /** A Complete Job without a readable result gets a short grace for its pod's status to reach the cache, no more. */
    boolean resultOverdue() {
        return finishedAt == null || !finishedAt.plus(RESULT_GRACE).isAfter(Instant.now());
    }

    /** The failure as a condition reason: the engine's code (connection.auth → ConnectionAuth), else the Job's reason. */
    public String failureReason() {
        if (error != null && error.error() != null) {
            return Reasons.fromCode(error.error());
        }
        return reason != null ? Reasons.fromCode(reason) : "JobFailed";
    }

    public String errorMessage() {
        if (error != null && error.message() != null) {
            return error.message();
        }
        if (Reasons.DEADLINE_EXCEEDED.equals(reason)) {
            return "the Job ran past its deadline (activeDeadlineSeconds) and was stopped: raise the Database's timeoutSeconds or check why it is slow";
        }
        return message != null ? message : "the Job failed without a readable result: check its pod's logs";
    }
}
