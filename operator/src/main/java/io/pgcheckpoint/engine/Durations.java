package io.pgcheckpoint.engine;

import java.time.Duration;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** Go-style durations as kubectl and Helm take them: 90s, 30m, 1h30m; a bare number is seconds. */
public final class Durations {
    private static final Pattern GO = Pattern.compile("(?:(\\d+)h)?(?:(\\d+)m)?(?:(\\d+)s?)?");

    private Durations() {
    }

    /** @throws IllegalArgumentException when the text is not such a duration (or too long to hold) */
    public static Duration parse(String text) {
        Matcher m = GO.matcher(text == null ? "" : text);
        if (text == null || text.isEmpty() || !m.matches()) {
            throw new IllegalArgumentException("not a duration: " + text);
        }
        try {
            return Duration.ofHours(part(m.group(1))).plusMinutes(part(m.group(2))).plusSeconds(part(m.group(3)));
        } catch (ArithmeticException | NumberFormatException e) {
            throw new IllegalArgumentException("duration out of range: " + text, e);
        }
    }

    private static long part(String digits) {
        return digits == null ? 0 : Long.parseLong(digits);
    }
}
