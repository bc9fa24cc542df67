package io.pgcheckpoint.engine;

import java.io.PrintStream;
import java.time.Duration;
import java.time.Instant;

/** Human progress lines; the CLI sends them to stderr so stdout stays machine-readable. */
public interface Progress {
    void step(String message);

    Progress SILENT = message -> { };

    static Progress to(PrintStream out) {
        Instant start = Instant.now();
        return message -> {
            long ms = Duration.between(start, Instant.now()).toMillis();
            out.printf("[%6.1fs] %s%n", ms / 1000.0, message);
            out.flush();
        };
    }
}
