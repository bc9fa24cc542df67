package io.pgcheckpoint.web;

/** A request the API refuses: the HTTP status, a stable code and a sentence saying what to do. */
final class ApiError extends RuntimeException {
    final int status;
    final String code;

    ApiError(int status, String code, String message) {
        super(message, null, false, false);
        this.status = status;
        this.code = code;
    }
}
