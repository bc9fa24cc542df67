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
            throw new CheckpointException("tools.broken", tool + " --version failed: " + r.stderr);
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

    /** Keeps the last 16 KiB of a process's stderr, read on its own thread so the process never blocks. */
    public static final class StderrTail {
        private static final int LIMIT = 16 * 1024;
        private final ByteArrayOutputStream buffer = new ByteArrayOutputStream();
        private final Thread thread;

        private StderrTail(InputStream in) {
            thread = new Thread(() -> {
                byte[] chunk = new byte[4096];
                try {
                    int n;
                    while ((n = in.read(chunk)) > 0) {
                        synchronized (buffer) {
                            buffer.write(chunk, 0, n);
                            if (buffer.size() > 2 * LIMIT) {
                                byte[] all = buffer.toByteArray();
                                buffer.reset();
                                buffer.write(all, all.length - LIMIT, LIMIT);
                            }
                        }
                    }
                } catch (IOException ignored) {
                    // process ended
                }
            }, "stderr-drain");
            thread.setDaemon(true);
            thread.start();
        }

        public static StderrTail drain(InputStream in) {
            return new StderrTail(in);
        }

        public String text() {
            try {
                thread.join(5000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            synchronized (buffer) {
                String s = buffer.toString(StandardCharsets.UTF_8);
                return s.length() > LIMIT ? s.substring(s.length() - LIMIT) : s;
            }
        }

        /** The last lines, for an error message that must stay short. */
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
