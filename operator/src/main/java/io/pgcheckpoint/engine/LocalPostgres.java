package io.pgcheckpoint.engine;

import java.io.IOException;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

/**
 * A throwaway PostgreSQL server started from local binaries: initdb in a temporary
 * directory, a random port on 127.0.0.1, durability switched off (it only has to live for one
 * drill), removed on {@link #close()}. As root it runs as an unprivileged user, since
 * PostgreSQL refuses to run as root.
 */
public final class LocalPostgres implements AutoCloseable {
    private final PgTools tools;
    private final Path dir;
    private final int port;
    private final String runAs;
    private final String password;
    private final Thread shutdownHook;
    private boolean stopped;

    private LocalPostgres(PgTools tools, Path dir, int port, String runAs, String password) {
        this.password = password;
        this.tools = tools;
        this.dir = dir;
        this.port = port;
        this.runAs = runAs;
        this.shutdownHook = new Thread(this::stopQuietly, "throwaway-postgres-stop");
    }

    public static LocalPostgres start(PgTools tools, Progress progress) {
        return start(tools, progress, null);
    }

    /**
     * @param password if set, TCP connections must authenticate as postgres with it
     *                 (scram-sha-256); otherwise they are trusted
     */
    public static LocalPostgres start(PgTools tools, Progress progress, String password) {
        return start(tools, progress, password, false);
    }

    /**
     * @param listenOnAllInterfaces also accept password connections from other hosts (the
     *                              end-to-end tests' database outside the cluster); needs a password
     */
    public static LocalPostgres start(PgTools tools, Progress progress, String password, boolean listenOnAllInterfaces) {
        if (listenOnAllInterfaces && password == null) {
            throw new IllegalArgumentException("a server reachable from other hosts needs a password");
        }
        String runAs = isRoot() ? unprivilegedUser() : null;
        Path dir;
        try {
            dir = Files.createTempDirectory("pgcheckpoint-pg-");
        } catch (IOException e) {
            throw new CheckpointException("drill.server", "cannot create a temporary directory for the throwaway PostgreSQL: " + e.getMessage(), e);
        }
        LocalPostgres pg = new LocalPostgres(tools, dir, freePort(), runAs, password);
        Runtime.getRuntime().addShutdownHook(pg.shutdownHook);
        try {
            if (runAs != null) {
                pg.exec(List.of("chown", "-R", runAs, dir.toString()), false);
            }
            progress.step("starting a throwaway PostgreSQL (" + tools.version("postgres").replace("postgres (PostgreSQL) ", "")
                    + ") in " + dir + " on port " + pg.port);
            List<String> initdb = new ArrayList<>(List.of(tools.path("initdb"), "-D", pg.dataDir().toString(), "-U", "postgres",
                    "--auth-local=trust", "--encoding=UTF8", "--locale=C.UTF-8", "--no-sync"));
            if (password != null) {
                Path pwfile = dir.resolve("pwfile");
                Files.writeString(pwfile, password + "\n");
                if (runAs != null) {
                    pg.exec(List.of("chown", runAs, pwfile.toString()), false);
                }
                initdb.addAll(List.of("--auth-host=scram-sha-256", "--pwfile=" + pwfile));
            } else {
                initdb.add("--auth-host=trust");
            }
            if (password == null) {
                pg.initFromTemplate(initdb, tools.version("postgres"));
            } else {
                pg.exec(initdb, true);
            }
            if (listenOnAllInterfaces) {
                Files.writeString(pg.dataDir().resolve("pg_hba.conf"), "host all all 0.0.0.0/0 scram-sha-256\n",
                        java.nio.file.StandardOpenOption.APPEND);
            }
            String settings = String.join(" ", List.of(
                    "-p " + pg.port, "-k " + dir, "-c listen_addresses=" + (listenOnAllInterfaces ? "'*'" : "127.0.0.1"),
                    "-c fsync=off", "-c synchronous_commit=off", "-c full_page_writes=off",
                    "-c wal_level=minimal", "-c max_wal_senders=0", "-c max_wal_size=4GB",
                    "-c checkpoint_timeout=1h", "-c maintenance_work_mem=256MB", "-c autovacuum=off"));
            pg.exec(List.of(tools.path("pg_ctl"), "-D", pg.dataDir().toString(), "-l", dir.resolve("server.log").toString(),
                    "-o", settings, "-w", "-t", "60", "start"), true);
            return pg;
        } catch (RuntimeException | IOException e) {
            String log = pg.logTail();
            pg.close();
            throw new CheckpointException("drill.server", "the throwaway PostgreSQL did not start: " + e.getMessage()
                    + (log.isEmpty() ? "" : " | server log: " + log), e);
        }
    }

    /**
     * initdb takes over a second; a copy of a cluster initialised once per PostgreSQL version
     * and OS user takes a quarter of that. Where no cache can be written (a read-only root
     * filesystem), it is plain initdb.
     */
    private void initFromTemplate(List<String> initdb, String serverVersion) {
        Path cache = cacheDir();
        Path template = cache == null ? null
                : cache.resolve(("pgdata-" + serverVersion + "-" + (runAs == null ? System.getProperty("user.name") : runAs))
                        .replaceAll("[^A-Za-z0-9._-]", "_"));
        if (template != null && Files.exists(template.resolve("PG_VERSION"))) {
            exec(List.of("cp", "-a", template.toString(), dataDir().toString()), false);
            return;
        }
        exec(initdb, true);
        if (template == null) {
            return;
        }
        Path partial = cache.resolve(template.getFileName() + "." + ProcessHandle.current().pid() + ".partial");
        try {
            exec(List.of("cp", "-a", dataDir().toString(), partial.toString()), false);
            Files.move(partial, template, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException | RuntimeException e) {
            // another drill cached it first, or the cache is not writable: initdb next time too
            exec(List.of("rm", "-rf", partial.toString()), false);
        }
    }

    private static Path cacheDir() {
        String configured = System.getenv("PGCHECKPOINT_CACHE");
        String xdg = System.getenv("XDG_CACHE_HOME");
        Path dir = configured != null ? Path.of(configured)
                : xdg != null ? Path.of(xdg, "pgcheckpoint") : Path.of(System.getProperty("user.home"), ".cache", "pgcheckpoint");
        try {
            Files.createDirectories(dir);
            return Files.isWritable(dir) ? dir : null;
        } catch (IOException | SecurityException e) {
            return null;
        }
    }

    private Path dataDir() {
        return dir.resolve("data");
    }

    public int port() {
        return port;
    }

    /** Connection to the given database as the bootstrap superuser. */
    public DbTarget target(String database) {
        return new DbTarget("127.0.0.1", port, "postgres", password, database, "disable", Map.of());
    }

    private void exec(List<String> command, boolean asServerUser) {
        List<String> full = new ArrayList<>();
        if (asServerUser && runAs != null) {
            full.addAll(List.of("runuser", "-u", runAs, "--"));
        }
        full.addAll(command);
        PgTools.Result r = PgTools.run(full, Map.of("LC_ALL", "C.UTF-8"));
        if (r.exitCode() != 0) {
            throw new CheckpointException("drill.server", String.join(" ", command.subList(0, 1)) + " failed (exit "
                    + r.exitCode() + "): " + PgTools.errorSummary(r.stderr() + "\n" + r.stdout()));
        }
    }

    private String logTail() {
        try {
            List<String> lines = Files.readAllLines(dir.resolve("server.log"));
            return String.join(" | ", lines.subList(Math.max(0, lines.size() - 5), lines.size()));
        } catch (IOException e) {
            return "";
        }
    }

    private void stopQuietly() {
        synchronized (this) {
            if (stopped) {
                return;
            }
            stopped = true;
        }
        if (Files.exists(dataDir().resolve("postmaster.pid"))) {
            try {
                exec(List.of(tools.path("pg_ctl"), "-D", dataDir().toString(), "-m", "immediate", "-w", "stop"), true);
            } catch (RuntimeException ignored) {
                // removing the directory below is what matters
            }
        }
        try (Stream<Path> walk = Files.walk(dir)) {
            walk.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (IOException ignored) {
            // a temp directory left behind is harmless
        }
    }

    @Override
    public void close() {
        stopQuietly();
        try {
            Runtime.getRuntime().removeShutdownHook(shutdownHook);
        } catch (IllegalStateException ignored) {
            // JVM already shutting down
        }
    }

    private static boolean isRoot() {
        return "root".equals(System.getProperty("user.name"));
    }

    private static String unprivilegedUser() {
        for (String user : List.of("postgres", "nobody")) {
            if (PgTools.run(List.of("id", "-u", user), Map.of()).exitCode() == 0) {
                return user;
            }
        }
        throw new CheckpointException("drill.server", "running as root and no unprivileged user (postgres or nobody) exists to run the throwaway PostgreSQL");
    }

    private static int freePort() {
        try (ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        } catch (IOException e) {
            throw new CheckpointException("drill.server", "no free local port: " + e.getMessage(), e);
        }
    }
}
