package io.pgcheckpoint.engine;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * Finds the PostgreSQL client and server binaries and runs them. The directory is taken
 * from {@code PGCHECKPOINT_PG_BIN}, else the newest {@code /usr/lib/postgresql/N/bin},
 * else the PATH.
 */
public final class PgTools {
    private static final Pattern VERSION = Pattern.compile("\\(PostgreSQL\\) (\\d+)(?:\\.(\\d+))?");
    private final Path binDir;

    private PgTools(Path binDir) {
        this.binDir = binDir;
    }

    /** Tools from one directory, e.g. a specific PostgreSQL version's bin. */
    public static PgTools at(Path binDir) {
        return new PgTools(binDir);
    }

    public static PgTools locate() {
        String configured = System.getenv("PGCHECKPOINT_PG_BIN");
        if (configured != null && !configured.isBlank()) {
            return new PgTools(Path.of(configured));
        }
        Path debian = Path.of("/usr/lib/postgresql");
        if (Files.isDirectory(debian)) {
            try (Stream<Path> dirs = Files.list(debian)) {
                Path newest = dirs.filter(d -> d.getFileName().toString().matches("\\d+"))
                        .filter(d -> Files.isExecutable(d.resolve("bin/pg_dump")))
                        .max(Comparator.comparingInt(d -> Integer.parseInt(d.getFileName().toString())))
                        .orElse(null);
                if (newest != null) {
                    return new PgTools(newest.resolve("bin"));
                }
            } catch (IOException e) {
                // fall through to PATH
            }
        }
        return new PgTools(null);
    }

    public String path(String tool) {
        if (binDir != null) {
            Path p = binDir.resolve(tool);
            if (!Files.isExecutable(p)) {
                throw new CheckpointException("tools.missing", tool + " not found in " + binDir
                        + ": install the PostgreSQL client (e.g. apt-get install postgresql-client-15) or set PGCHECKPOINT_PG_BIN");
            }
            return p.toString();
        }
        return tool;
    }

    public boolean has(String tool) {
        try {
            return binDir == null ? run(List.of(tool, "--version"), Map.of()).exitCode == 0
                    : Files.isExecutable(binDir.resolve(tool));
        } catch (CheckpointException e) {
            return false;
        }
    }

    /** Full version string, e.g. "pg_dump (PostgreSQL) 15.8 (Debian 15.8-0+deb12u1)". */
    public String version(String tool) {
        Result r = run(List.of(path(tool), "--version"), Map.of());
        if (r.exitCode != 0) {
            throw new CheckpointException("tools.broken", tool + " --version failed: " + errorSummary(r.stderr));
        }
        return r.stdout.trim();
    }

    public static int major(String versionString) {
        Matcher m = VERSION.matcher(versionString);
        if (!m.find()) {
            throw new CheckpointException("tools.version", "cannot read a PostgreSQL version from '" + versionString + "'");
        }
        return Integer.parseInt(m.group(1));
    }

    public record Result(int exitCode, String stdout, String stderr) {
    }

    /** Runs a short command to completion, capturing its output. */
    public static Result run(List<String> command, Map<String, String> env) {
        try {
            ProcessBuilder pb = new ProcessBuilder(command);
            pb.environment().putAll(env);
            Process p = pb.start();
            p.getOutputStream().close();
            StderrTail err = StderrTail.drain(p.getErrorStream());
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            int code = p.waitFor();
            return new Result(code, out, err.text());
        } catch (IOException e) {
            throw new CheckpointException("tools.missing", "cannot run " + command.get(0) + ": " + e.getMessage());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new CheckpointException("interrupted", "interrupted while running " + command.get(0));
        }
    }

    /** Longest summary {@link #errorSummary(String)} returns, in characters. */
    public static final int SUMMARY_LIMIT = 700;
    /** Longest single line in a summary, in characters. */
    static final int SUMMARY_LINE_LIMIT = 300;
    /** "pg_dump: error: ...", "pg_restore: detail: ...", "initdb: error: ...". */
    private static final Pattern TOOL_LINE = Pattern.compile("^[A-Za-z_][\\w.-]*: (?:error|fatal|detail|hint): (.*)");
    /** A server message level, e.g. "psql:<stdin>:12: ERROR:  ..." or a libpq "DETAIL:  ..." line. */
    private static final Pattern SERVER_LINE = Pattern.compile("(?:^|[\\s:])(?:ERROR|FATAL|PANIC|DETAIL|HINT):\\s");

    /**
     * What a failed PostgreSQL tool (pg_dump, pg_restore, psql, initdb...) said went wrong, in at
     * most {@value #SUMMARY_LIMIT} characters: use it wherever a tool's stderr goes into an error
     * message, a status or a termination message.
     *
     * <p>It is the tool's error lines, in order, joined with {@code " | "}: {@code pg_dump: error:},
     * {@code pg_restore: error:}, {@code psql: error:}, {@code ERROR:}, {@code FATAL:},
     * {@code DETAIL:}, {@code HINT:} (and the tools' {@code detail:}/{@code hint:} lines), each cut
     * to {@value #SUMMARY_LINE_LIMIT} characters, never the statement text that follows them
     * ({@code Query was:}, {@code Command was:}); lines that do not fit are counted as
     * {@code (N more)}. Only when there is no such line does it fall back to the last three
     * non-blank lines, cut the same way. Empty stderr gives "".
     *
     * <p>For a process still being read, call {@link StderrTail#errorSummary()}, which also sees
     * error lines that scrolled out of its 16 KiB tail; {@link #run} results already include them
     * in {@link Result#stderr()}.
     */
    public static String errorSummary(String stderr) {
        return errorSummary(stderr, SUMMARY_LIMIT);
    }

    /** {@link #errorSummary(String)} with another limit on the total length. */
    public static String errorSummary(String stderr, int maxChars) {
        List<String> lines = new ArrayList<>();
        for (String line : stderr.split("\\R")) {
            if (!line.isBlank()) {
                lines.add(line.strip().replace('\t', ' '));
            }
        }
        List<String> chosen = new ArrayList<>();
        for (String line : lines) {
            if (isErrorLine(line) && (chosen.isEmpty() || !chosen.get(chosen.size() - 1).equals(line))) {
                chosen.add(line);
            }
        }
        if (chosen.isEmpty()) {
            chosen = lines.subList(Math.max(0, lines.size() - 3), lines.size());
        }
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < chosen.size(); i++) {
            String line = cut(chosen.get(i), SUMMARY_LINE_LIMIT);
            String more = i + 1 < chosen.size() ? " | (" + (chosen.size() - i - 1) + " more)" : "";
            if (sb.length() + (i == 0 ? 0 : 3) + line.length() + more.length() > maxChars) {
                if (i == 0) {
                    return cut(line, maxChars);
                }
                return sb.append(" | (").append(chosen.size() - i).append(" more)").toString();
            }
            sb.append(i == 0 ? "" : " | ").append(line);
        }
        return sb.toString();
    }

    /** A line that says what went wrong, not the statement or query that was running. */
    static boolean isErrorLine(String line) {
        Matcher tool = TOOL_LINE.matcher(line);
        if (tool.lookingAt()) {
            String rest = tool.group(1);
            return !rest.startsWith("Query was:") && !rest.startsWith("Command was:");
        }
        return !line.startsWith("Command was:") && !line.startsWith("Query was:") && SERVER_LINE.matcher(line).find();
    }

    private static String cut(String s, int max) {
        return s.length() <= max ? s : s.substring(0, max - 1) + "…";
    }

    /**
     * Drains a process's stderr on its own thread, so the process never blocks, keeping the
     * last 16 KiB and, wherever they occur, the first {@value #KEPT_ERROR_LINES} error lines
     * (see {@link PgTools#errorSummary(String)}): an error followed by a long statement is not lost.
     */
    public static final class StderrTail {
        private static final int LIMIT = 16 * 1024;
        /** Error lines kept even when they scroll out of the tail. */
        static final int KEPT_ERROR_LINES = 20;
        /** Of a line, only this much is kept for classification and for the summary. */
        private static final int LINE_PREFIX = 1024;
        private final ByteArrayOutputStream buffer = new ByteArrayOutputStream();
        /** The start of the current line (its first LINE_PREFIX bytes). */
        private final ByteArrayOutputStream line = new ByteArrayOutputStream();
        private final List<String> errorLines = new ArrayList<>();
        /** Stream offsets at which each kept error line starts. */
        private final List<Long> errorOffsets = new ArrayList<>();
        private long total;
        private long lineStart;
        private final Thread thread;

        private StderrTail(InputStream in) {
            thread = new Thread(() -> {
                byte[] chunk = new byte[4096];
                try {
                    int n;
                    while ((n = in.read(chunk)) > 0) {
                        synchronized (buffer) {
                            buffer.write(chunk, 0, n);
                            scan(chunk, n);
                            if (buffer.size() > 2 * LIMIT) {
                                byte[] all = buffer.toByteArray();
                                buffer.reset();
                                buffer.write(all, all.length - LIMIT, LIMIT);
                            }
                        }
                    }
                } catch (IOException ignored) {
                    // process ended
                } finally {
                    synchronized (buffer) {
                        endLine();
                    }
                }
            }, "stderr-drain");
            thread.setDaemon(true);
            thread.start();
        }

        private void scan(byte[] chunk, int n) {
            for (int i = 0; i < n; i++) {
                total++;
                if (chunk[i] == '\n') {
                    endLine();
                    lineStart = total;
                } else if (line.size() < LINE_PREFIX) {
                    line.write(chunk[i]);
                }
            }
        }

        private void endLine() {
            if (line.size() > 0 && errorLines.size() < KEPT_ERROR_LINES) {
                String text = line.toString(StandardCharsets.UTF_8).strip();
                if (isErrorLine(text)) {
                    errorLines.add(text);
                    errorOffsets.add(lineStart);
                }
            }
            line.reset();
        }

        public static StderrTail drain(InputStream in) {
            return new StderrTail(in);
        }

        /**
         * The last 16 KiB of stderr, after the process closed it (or 5 s); when earlier output was
         * dropped, the error lines that were in it come first, then a line saying how much was left out.
         */
        public String text() {
            try {
                thread.join(5000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            synchronized (buffer) {
                byte[] bytes = buffer.toByteArray();
                int from = Math.max(0, bytes.length - LIMIT);
                long dropped = total - (bytes.length - from);
                String tail = new String(bytes, from, bytes.length - from, StandardCharsets.UTF_8);
                if (dropped <= 0) {
                    return tail;
                }
                StringBuilder sb = new StringBuilder();
                for (int i = 0; i < errorLines.size(); i++) {
                    if (errorOffsets.get(i) < dropped) {
                        sb.append(errorLines.get(i)).append('\n');
                    }
                }
                return sb.append("[... ").append(dropped).append(" bytes of output left out ...]\n").append(tail).toString();
            }
        }

        /** {@link PgTools#errorSummary(String)} of everything this process wrote to stderr: what to put in a message. */
        public String errorSummary() {
            return PgTools.errorSummary(text());
        }

        /**
         * The last lines, uncut.
         *
         * @deprecated a long statement in the output fills these lines and hides the error; use {@link #errorSummary()}
         */
        @Deprecated
        public String lastLines(int n) {
            String[] lines = text().strip().split("\n");
            List<String> tail = new ArrayList<>();
            for (int i = Math.max(0, lines.length - n); i < lines.length; i++) {
                tail.add(lines[i]);
            }
            return String.join(" | ", tail);
        }
    }
}
