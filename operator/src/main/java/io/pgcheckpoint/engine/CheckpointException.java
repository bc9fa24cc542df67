package io.pgcheckpoint.engine;

/**
 * A failure the user can act on: {@code code} is a stable machine-readable reason
 * (for scripts and, later, Kubernetes condition reasons), the message says what went
 * wrong and what to do next.
 */
public class CheckpointException extends RuntimeException {
    private final String code;

    public CheckpointException(String code, String message) {
        super(message);
        this.code = code;
    }

    public CheckpointException(String code, String message, Throwable cause) {
        super(message, cause);
        this.code = code;
    }

    public String code() {
        return code;
    }
}
