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
 * Finds PostgreSQL's client and server binaries and runs them.
 * <p>
 * Debian and Ubuntu (also with the PostgreSQL project's own apt.postgresql.org packages)
 * install every major version side by side, one directory per major:
 * {@code /usr/lib/postgresql/N/bin}; the PostgreSQL project's RPMs use {@code /usr/pgsql-N/bin}.
 * {@link #locate()} finds them all, and each job takes the version it needs:
 * <ul>
 * <li>{@link #forDump}: pg_dump of the server's major, else the lowest newer one (pg_dump refuses
 *     servers newer than itself, and the output of the server's own pg_dump is the one its
 *     major is sure to load);</li>
 * <li>{@link #forArchive}: pg_restore and psql at least as new as the pg_dump that wrote the
 *     archive (an older pg_restore rejects a newer archive);</li>
 * <li>{@link #forDrillServer}: server binaries of the source's major, else the lowest newer one
 *     (the drill proves the archive on the major the user would restore to).</li>
 * </ul>
 * {@code PGCHECKPOINT_PG_BIN} names one directory to use for everything instead, and
 * {@code PGCHECKPOINT_PG_ROOTS} (colon-separated) adds directories laid out like
 * {@code /usr/lib/postgresql}. Without any of these, the tools on the PATH are used.
 * Every refusal names the versions found and what to install.
 */
public final class PgTools {
    private static final Pattern VERSION = Pattern.compile("\\(PostgreSQL\\) (\\d+)(?:\\.(\\d+))?");
    /** A major's directory under a root: "17" (Debian, Ubuntu) or "pgsql-17" (PGDG RPMs under /usr). */
    private static final Pattern MAJOR_DIR = Pattern.compile("(?:pgsql-)?(\\d+)");
    static final List<Path> DEFAULT_ROOTS = List.of(Path.of("/usr/lib/postgresql"), Path.of("/usr"));
    /** Where the packages come from, for the advice in messages. */
    static final String PACKAGES = "Debian/Ubuntu packages; apt.postgresql.org has every supported major for every release";
    /** What the project's image carries, for the advice in messages. */
    public static final int IMAGE_PG_MAJOR = 18;

    /** One bin directory of one PostgreSQL version; {@code major} null when unknown until asked (PATH, PGCHECKPOINT_PG_BIN). */
    public record Install(Integer major, Path bin) {
        boolean has(String tool) {
            if (bin == null) {
                try {
                    return run(List.of(tool, "--version"), Map.of()).exitCode == 0;
                } catch (CheckpointException e) {
                    return false;
                }
            }
            return Files.isExecutable(bin.resolve(tool));
        }

        String where() {
            return bin == null ? "on the PATH" : bin.toString();
        }
    }

    /** The directory this instance runs tools from; null: the PATH. */
    private final Path binDir;
    /** Every installation found, lowest major first: what the for* methods choose from. */
    private final List<Install> installs;
    /** How they were found, for messages. */
    private final String lookedIn;

    private PgTools(Path binDir, List<Install> installs, String lookedIn) {
        this.binDir = binDir;
        this.installs = List.copyOf(installs);
        this.lookedIn = lookedIn;
    }

    /** Tools from one directory, e.g. a specific PostgreSQL version's bin. */
    public static PgTools at(Path binDir) {
        return new PgTools(binDir, List.of(new Install(null, binDir)), binDir.toString());
    }

    /**
     * {@code PGCHECKPOINT_PG_BIN} if set; else every {@code N/bin} under
     * {@code PGCHECKPOINT_PG_ROOTS}, {@code /usr/lib/postgresql} and {@code /usr/pgsql-N},
     * defaulting to the newest; else the PATH.
     */
    public static PgTools locate() {
        String configured = System.getenv("PGCHECKPOINT_PG_BIN");
        if (configured != null && !configured.isBlank()) {
            Path bin = Path.of(configured);
            return new PgTools(bin, List.of(new Install(null, bin)), "PGCHECKPOINT_PG_BIN=" + configured);
        }
        List<Path> roots = new ArrayList<>();
        String extra = System.getenv("PGCHECKPOINT_PG_ROOTS");
        if (extra != null) {
            for (String r : extra.split(":")) {
                if (!r.isBlank()) {
                    roots.add(Path.of(r));
                }
            }
        }
        roots.addAll(DEFAULT_ROOTS);
        return scan(roots);
    }

    /** Every {@code N/bin} (or {@code pgsql-N/bin}) holding pg_dump or postgres under these roots; the PATH when none. */
    public static PgTools scan(List<Path> roots) {
        java.util.TreeMap<Integer, Install> found = new java.util.TreeMap<>();
        for (Path root : roots) {
            if (!Files.isDirectory(root)) {
                continue;
            }
            try (Stream<Path> dirs = Files.list(root)) {
                dirs.forEach(d -> {
                    Matcher m = MAJOR_DIR.matcher(d.getFileName().toString());
                    Path bin = realPath(d.resolve("bin"));
                    if (m.matches() && (Files.isExecutable(bin.resolve("pg_dump")) || Files.isExecutable(bin.resolve("postgres")))) {
                        // the first root that has a major wins (PGCHECKPOINT_PG_ROOTS before the defaults)
                        found.putIfAbsent(Integer.parseInt(m.group(1)), new Install(Integer.parseInt(m.group(1)), bin));
                    }
                });
            } catch (IOException e) {
                // unreadable: as if absent
            }
        }
        String lookedIn = roots.stream().map(r -> r.equals(Path.of("/usr")) ? "/usr/pgsql-N/bin" : r + "/N/bin")
                .distinct().collect(java.util.stream.Collectors.joining(", "));
        if (found.isEmpty()) {
            return new PgTools(null, List.of(new Install(null, null)), lookedIn + " and the PATH");
        }
        return new PgTools(found.lastEntry().getValue().bin(), new ArrayList<>(found.values()), lookedIn);
    }

    /** Where a linked installation really is: the server runs from there, as another user, too. */
    private static Path realPath(Path p) {
        try {
            return p.toRealPath();
        } catch (IOException e) {
            return p;
        }
    }

    /** Every installation found, lowest major first. */
    public List<Install> installs() {
        return installs;
    }

    /** The directory tools run from; null for the PATH. */
    public Path binDir() {
        return binDir;
    }

    private PgTools fixedAt(Install install) {
        return new PgTools(install.bin(), installs, lookedIn);
    }

    /** An installation with its version read (from the directory's name, or by asking the tool). */
    private record Found(Install install, int major) {
        String describe(String tool) {
            return tool + " " + major + " (" + install.where() + ")";
        }
    }

    private List<Found> having(List<String> tools) {
        List<Found> result = new ArrayList<>();
        for (Install i : installs) {
            if (!tools.stream().allMatch(i::has)) {
                continue;
            }
            int major;
            if (i.major() != null) {
                major = i.major();
            } else {
                try {
                    major = major(new PgTools(i.bin(), List.of(i), lookedIn).version(tools.get(0)));
                } catch (CheckpointException e) {
                    continue;
                }
            }
            result.add(new Found(i, major));
        }
        result.sort(Comparator.comparingInt(Found::major));
        return result;
    }

    /** The installation of exactly {@code major}, else the lowest newer one; null when none. */
    private static Found closestAtLeast(List<Found> found, int major) {
        return found.stream().filter(f -> f.major() >= major).findFirst().orElse(null);
    }

    private String foundList(List<Found> found, String tool) {
        return found.isEmpty() ? "no " + tool + " in " + lookedIn
                : "found " + found.stream().map(f -> f.describe(tool)).collect(java.util.stream.Collectors.joining(", "));
    }

    /**
     * pg_dump for a server of this major: that major's, else the lowest newer one. Refuses
     * (tools.version-mismatch, tools.missing) naming what was found and what to install.
     */
    public PgTools forDump(int serverMajor, String serverVersion) {
        List<Found> found = having(List.of("pg_dump"));
        Found chosen = closestAtLeast(found, serverMajor);
        if (chosen == null) {
            String advice = "install postgresql-client-" + serverMajor + " or newer (" + PACKAGES + ") and, if it is not under "
                    + "/usr/lib/postgresql, point PGCHECKPOINT_PG_BIN at its bin directory; or use the pgcheckpoint image (pg_dump "
                    + IMAGE_PG_MAJOR + ")";
            throw new CheckpointException(found.isEmpty() ? "tools.missing" : "tools.version-mismatch",
                    "pg_dump must be of the server's major version or newer to dump PostgreSQL " + serverVersion + " (major "
                            + serverMajor + "): " + foundList(found, "pg_dump") + "; " + advice);
        }
        return fixedAt(chosen.install());
    }

    /**
     * pg_restore and psql that read an archive written by pg_dump of this major: that major's,
     * else the lowest newer one.
     */
    public PgTools forArchive(int pgDumpMajor, String pgDumpVersion) {
        List<Found> found = having(List.of("pg_restore", "psql"));
        Found chosen = closestAtLeast(found, pgDumpMajor);
        if (chosen == null) {
            throw new CheckpointException(found.isEmpty() ? "tools.missing" : "tools.version-mismatch",
                    "the archive was written by " + shortVersion(pgDumpVersion) + " and only pg_restore " + pgDumpMajor
                            + " or newer can read it: " + foundList(found, "pg_restore") + "; install postgresql-client-"
                            + pgDumpMajor + " or newer (" + PACKAGES + ") or use the pgcheckpoint image (pg_restore "
                            + IMAGE_PG_MAJOR + ")");
        }
        return fixedAt(chosen.install());
    }

    /**
     * Server binaries (initdb, postgres, psql) for a throwaway server that proves an archive of
     * a source of this major: that major's, else the lowest newer one, saying so. Refuses
     * (drill.version) naming the servers found and the package to install.
     */
    public PgTools forDrillServer(int sourceMajor, String sourceVersion, Progress progress) {
        List<Found> found = having(List.of("initdb", "postgres", "psql"));
        Found chosen = closestAtLeast(found, sourceMajor);
        if (chosen == null) {
            throw new CheckpointException("drill.version", "the checkpoint comes from PostgreSQL " + sourceVersion
                    + " and a drill server must be PostgreSQL " + sourceMajor + " (or newer): "
                    + (found.isEmpty() ? "no PostgreSQL server binaries (initdb, postgres) in " + lookedIn
                    : "found only " + found.stream().map(f -> "PostgreSQL " + f.major() + " (" + f.install().where() + ")")
                    .collect(java.util.stream.Collectors.joining(", ")))
                    + "; install postgresql-" + sourceMajor + " (" + PACKAGES + "), or drill into an empty database on a PostgreSQL "
                    + sourceMajor + " server with --target");
        }
        if (chosen.major() != sourceMajor) {
            progress.step("no PostgreSQL " + sourceMajor + " server binaries here (" + foundList(found, "postgres")
                    + "): drilling on PostgreSQL " + chosen.major() + ", the lowest installed major above the source's; "
                    + "install postgresql-" + sourceMajor + " to prove it on the source's own major");
        }
        return fixedAt(chosen.install());
    }

    /** This instance if its directory has server binaries, else the newest installation that has them. */
    public PgTools serverTools() {
        if (binDir == null || Files.isExecutable(binDir.resolve("initdb"))) {
            return this;
        }
        List<Found> found = having(List.of("initdb", "postgres"));
        return found.isEmpty() ? this : fixedAt(found.get(found.size() - 1).install());
    }

    /** Where tools run from, for messages: a directory or "the PATH". */
    public String where() {
        return binDir == null ? "the PATH" : binDir.toString();
    }

    public String path(String tool) {
        if (binDir != null) {
            Path p = binDir.resolve(tool);
            if (!Files.isExecutable(p)) {
                throw new CheckpointException("tools.missing", tool + " not found in " + binDir
                        + ": install the PostgreSQL " + (tool.equals("initdb") || tool.equals("postgres") ? "server" : "client")
                        + " of that version (e.g. apt-get install postgresql-" + (tool.equals("initdb") || tool.equals("postgres") ? "" : "client-")
                        + dirMajor() + ") or set PGCHECKPOINT_PG_BIN");
            }
            return p.toString();
        }
        return tool;
    }

    private String dirMajor() {
        String name = binDir.getParent() == null ? "" : binDir.getParent().getFileName().toString();
        Matcher m = MAJOR_DIR.matcher(name);
        return m.matches() ? m.group(1) : "N";
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

    /** "pg_dump 15.18" from "pg_dump (PostgreSQL) 15.18 (Debian 15.18-0+deb12u1)". */
    public static String shortVersion(String versionString) {
        Matcher m = Pattern.compile("^(\\S+) \\(PostgreSQL\\) (\\S+)").matcher(versionString.strip());
        return m.find() ? m.group(1) + " " + m.group(2) : versionString.strip();
    }

    /** The major of a server's version string ("15.18 (Debian ...)", "9.6.24"): 15, 9. */
    public static int serverMajor(String serverVersion) {
        Matcher m = Pattern.compile("^(\\d+)").matcher(serverVersion.strip());
        if (!m.find()) {
            throw new CheckpointException("tools.version", "cannot read a PostgreSQL version from '" + serverVersion + "'");
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
        /** Told every line (its first LINE_PREFIX bytes) as it ends, on the draining thread. */
        private final java.util.function.Consumer<String> lines;

        private StderrTail(InputStream in, java.util.function.Consumer<String> lines) {
            this.lines = lines;
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
            if (lines != null && line.size() > 0) {
                lines.accept(line.toString(StandardCharsets.UTF_8).strip());
            }
            line.reset();
        }

        public static StderrTail drain(InputStream in) {
            return new StderrTail(in, null);
        }

        /**
         * Also hands every line (up to its first 1 KiB, stripped) to {@code lines} as soon as it
         * ends, on the draining thread: {@code lines} must be quick and must not throw.
         */
        public static StderrTail drain(InputStream in, java.util.function.Consumer<String> lines) {
            return new StderrTail(in, lines);
        }

        /**
         * Waits until every line has been read and handed on, at most {@code millis}: after the
         * process has ended its stderr closes, and what is left is the work of the line consumer.
         *
         * @return whether the drain has ended
         */
        public boolean awaitEnd(long millis) throws InterruptedException {
            thread.join(millis);
            return !thread.isAlive();
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
