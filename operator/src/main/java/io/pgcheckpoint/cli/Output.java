package io.pgcheckpoint.cli;

import io.pgcheckpoint.engine.CommandError;
import io.pgcheckpoint.engine.CommandResult;
import io.pgcheckpoint.engine.Json;
import io.pgcheckpoint.engine.Progress;
import java.util.LinkedHashMap;
import java.util.Map;
import picocli.CommandLine.Option;

/** Results on stdout (text for people, or one JSON object), progress on stderr. */
public final class Output {
    /** Termination messages of Kubernetes containers are capped at 4 KiB. */
    static final int JSON_LIMIT = 4096;

    enum Format { text, json }

    @Option(names = {"-o", "--output"}, defaultValue = "text", description = "Result format: ${COMPLETION-CANDIDATES} (default: ${DEFAULT-VALUE}).")
    Format format = Format.text;

    @Option(names = {"-q", "--quiet"}, description = "No progress lines on stderr.")
    boolean quiet;

    Progress progress() {
        return quiet ? Progress.SILENT : Progress.to(System.err);
    }

    boolean json() {
        return format == Format.json;
    }

    /** Prints a result: JSON as one line kept within 4 KiB (in UTF-8 bytes), text through the given renderer. */
    void result(CommandResult json, Runnable text) {
        print(fit(json), text);
    }

    /** The results of the cluster commands (create, status), which no Job reports. */
    void result(Map<String, Object> json, Runnable text) {
        print(fit(json), text);
    }

    private void print(String line, Runnable text) {
        writeResultFile(line);
        if (json()) {
            System.out.println(line);
        } else {
            text.run();
        }
        System.out.flush();
    }

    /** In a Job, the result also goes to the termination-message file the operator reads. */
    private static void writeResultFile(String line) {
        String file = System.getenv("PGCHECKPOINT_RESULT_FILE");
        if (file == null || file.isBlank()) {
            return;
        }
        try {
            java.nio.file.Files.writeString(java.nio.file.Path.of(file), line);
        } catch (java.io.IOException e) {
            System.err.println("warning: cannot write the result to " + file + ": " + e.getMessage());
        }
    }

    void error(String code, String message) {
        String line = errorLine(code, message);
        writeResultFile(line);
        if (json()) {
            System.out.println(line);
            System.out.flush();
        }
        System.err.println("error: " + message);
    }

    /** The error as one JSON line of at most {@link #JSON_LIMIT} bytes: the message is cut (at 2,000 characters, or shorter to fit). */
    static String errorLine(String code, String message) {
        int fits = 0;
        int tooLong = Math.min(message.length(), 2000);
        if (bytes(errorJson(code, message, tooLong)) <= JSON_LIMIT) {
            return errorJson(code, message, tooLong);
        }
        while (tooLong - fits > 1) {
            int mid = (fits + tooLong) / 2;
            if (bytes(errorJson(code, message, mid)) <= JSON_LIMIT) {
                fits = mid;
            } else {
                tooLong = mid;
            }
        }
        return errorJson(code, message, fits);
    }

    private static String errorJson(String code, String message, int keep) {
        if (keep > 0 && keep < message.length() && Character.isHighSurrogate(message.charAt(keep - 1))) {
            keep--;
        }
        return Json.compact(CommandError.of(code, keep >= message.length() ? message : message.substring(0, keep) + "…"));
    }

    private static int bytes(String s) {
        return s.getBytes(java.nio.charset.StandardCharsets.UTF_8).length;
    }

    static String fit(CommandResult json) {
        String s = Json.compact(json);
        if (bytes(s) <= JSON_LIMIT) {
            return s;
        }
        String smaller = Json.compact(json.shrunk());
        if (bytes(smaller) <= JSON_LIMIT) {
            return smaller;
        }
        return errorLine("result.too-large", "the result does not fit a termination message (" + bytes(smaller)
                + " bytes); see the command's output and the store's manifest.json / drill.json");
    }

    static String fit(Map<String, Object> json) {
        String s = Json.compact(json);
        if (bytes(s) <= JSON_LIMIT) {
            return s;
        }
        // Drop the longest list first (e.g. many mismatches); the manifest and drill.json hold the full detail.
        Map<String, Object> smaller = new LinkedHashMap<>(json);
        smaller.entrySet().removeIf(e -> e.getValue() instanceof java.util.Collection<?>);
        smaller.put("truncated", true);
        return Json.compact(smaller);
    }
}
