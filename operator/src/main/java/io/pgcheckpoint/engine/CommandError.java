package io.pgcheckpoint.engine;

/** What any command prints instead of its result when it fails: {@code {"ok":false,"error":"connection.auth","message":"..."}}. */
public record CommandError(boolean ok, String error, String message) implements CommandResult {
    public static CommandError of(String code, String message) {
        return new CommandError(false, code, message);
    }
}
