package io.pgcheckpoint.engine;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFileAttributes;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * A throwaway PostgreSQL server started from local binaries: initdb in a temporary
 * directory, a random port on 127.0.0.1, durability switched off (it only has to live for one
 * drill), removed on {@link #close()}. As root it runs as an unprivileged user, since
 * PostgreSQL refuses to run as root.
 * <p>
 * It runs on shared machines (laptops, CI runners), so no other local user may get in: TCP
 * needs the superuser's password (scram-sha-256; a fresh random one unless the caller gives
 * one), and the Unix socket lives in the server's own 0700 directory and maps only the
 * server's OS user to postgres (peer). The password never appears on a command line.
 * <p>
 * It never outlives the JVM that started it, however that JVM ends (SIGKILL included): see
 * {@link #WATCHDOG}.
 */
public final class LocalPostgres implements AutoCloseable {
    private static final Set<PosixFilePermission> OWNER_ONLY = PosixFilePermissions.fromString("rwx------");
    private static final java.time.Duration STARTUP_TIMEOUT = java.time.Duration.ofSeconds(60);
    private final PgTools tools;
    private final Path dir;
    private final int port;
    private final String runAs;
    private final ServerUser user;
    private final String password;
    private final Thread shutdownHook;
    private Process watchdog;
    private PgTools.StderrTail watchdogErrors;
    private long postmasterPid;
    private boolean stopped;

    /**
     * The server's keeper, started as soon as its directory exists: a shell in a session of its
     * own that waits on a pipe from this JVM. When the pipe closes (close(), or the JVM died:
     * the kernel closes a dead process's pipes, even after SIGKILL, when no hook runs) it stops
     * the postmaster with SIGQUIT (immediate shutdown, which also ends every backend) and removes
     * the directory. The postmaster is its child, not a daemon (pg_ctl would hand it to init),
     * and, where setpriv has --pdeathsig, gets SIGQUIT should the shell itself be killed: the
     * shell is single-threaded, so "parent death" is its death, unlike a JVM thread that forked
     * a child and may exit while the JVM lives on (pool threads do). Its own session keeps it out
     * of a kill aimed at the JVM's process group. Line protocol on stdin: "start" runs the
     * server and answers with its pid; end of input means stop and clean up.
     */
    private static final String WATCHDOG = """
            dir=$1; shift
            trap '' PIPE
            pm=
            while read -r line; do
              if [ "$line" = start ] && [ -z "$pm" ]; then
                (trap - PIPE; exec "$@") </dev/null >>"$dir/server.log" 2>&1 &
                pm=$!
                echo "$pm"
              fi
            done
            if [ -n "$pm" ]; then kill -QUIT "$pm" 2>/dev/null; wait "$pm"; fi
            rm -rf "$dir"
            """;

    private LocalPostgres(PgTools tools, Path dir, int port, String runAs, ServerUser user, String password) {
        this.user = user;
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
     * @param password what TCP connections must authenticate as postgres with (scram-sha-256);
     *                 null for a fresh random one, which {@link #target} carries
     */
    public static LocalPostgres start(PgTools tools, Progress progress, String password) {
        return start(tools, progress, password, false);
    }

    /**
     * @param listenOnAllInterfaces also accept password connections from other hosts (the
     *                              end-to-end tests' database outside the cluster); needs a password
     */
    public static LocalPostgres start(PgTools given, Progress progress, String password, boolean listenOnAllInterfaces) {
        if (listenOnAllInterfaces && password == null) {
            throw new IllegalArgumentException("a server reachable from other hosts needs a password");
        }
        // initdb, postgres and psql of one version: the given directory's, else the newest installed server
        PgTools tools = given.serverTools();
        String runAs = isRoot() ? unprivilegedUser() : null;
        Path dir;
        int processUid;
        try {
            dir = Files.createTempDirectory("pgcheckpoint-pg-", PosixFilePermissions.asFileAttribute(OWNER_ONLY));
            processUid = (Integer) Files.getAttribute(dir, "unix:uid");
        } catch (IOException e) {
            throw new CheckpointException("drill.server", "cannot create a temporary directory for the throwaway PostgreSQL: " + e.getMessage(), e);
        }
        ServerUser user = runAs == null ? new ServerUser(System.getProperty("user.name"), processUid, -1) : ServerUser.of(runAs);
        LocalPostgres pg = new LocalPostgres(tools, dir, freePort(), runAs, user,
                password != null ? password : randomPassword());
        Runtime.getRuntime().addShutdownHook(pg.shutdownHook);
        try {
            if (runAs != null) {
                // the directory is also the socket directory: 0700 and the server user's, so only
                // that user (and root) can reach the socket
                Files.setAttribute(dir, "unix:gid", user.gid());
                Files.setAttribute(dir, "unix:uid", user.uid());
            }
            String serverVersion = tools.version("postgres");
            List<String> server = new ArrayList<>();
            if (Pdeathsig.AVAILABLE) {
                server.addAll(List.of("setpriv", "--pdeathsig", "QUIT", "--"));
            }
            server.addAll(List.of(tools.path("postgres"), "-D", pg.dataDir().toString(), "-p", Integer.toString(pg.port),
                    "-k", dir.toString(), "-c", "listen_addresses=" + (listenOnAllInterfaces ? "*" : "127.0.0.1"),
                    "-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off",
                    "-c", "wal_level=minimal", "-c", "max_wal_senders=0", "-c", "max_wal_size=4GB",
                    "-c", "checkpoint_timeout=1h", "-c", "maintenance_work_mem=256MB", "-c", "autovacuum=off"));
            pg.startWatchdog(server);
            progress.step("starting a throwaway PostgreSQL (" + serverVersion.replace("postgres (PostgreSQL) ", "")
                    + ") in " + dir + " on port " + pg.port);
            // Nothing may connect until pg_hba.conf below is written; the superuser gets its
            // password once the server runs (setPassword).
            List<String> initdb = List.of(tools.path("initdb"), "-D", pg.dataDir().toString(), "-U", "postgres",
                    "--auth=reject", "--encoding=UTF8", "--locale=C.UTF-8", "--no-sync");
            pg.initFromTemplate(initdb, serverVersion, processUid, progress);
            String hba = "local all all peer map=owner\n"
                    + "host all all 127.0.0.1/32 scram-sha-256\n"
                    + (listenOnAllInterfaces ? "host all all 0.0.0.0/0 scram-sha-256\nhost all all ::/0 scram-sha-256\n" : "");
            Files.writeString(pg.dataDir().resolve("pg_hba.conf"), hba);
            Files.writeString(pg.dataDir().resolve("pg_ident.conf"), "owner \"" + user.name() + "\" postgres\n");
            pg.startServer();
            pg.setPassword();
            return pg;
        } catch (RuntimeException | IOException e) {
            String log = pg.logTail();
            pg.close();
            throw new CheckpointException("drill.server", "the throwaway PostgreSQL did not start: " + e.getMessage()
                    + (log.isEmpty() ? "" : " | server log: " + log), e);
        }
    }

    private void startWatchdog(List<String> server) throws IOException {
        List<String> command = new ArrayList<>(asServerUser());
        if (onPath("setsid")) {
            command.add("setsid");
        }
        command.addAll(List.of("sh", "-c", WATCHDOG, "pgcheckpoint-watchdog", dir.toString()));
        command.addAll(server);
        ProcessBuilder pb = new ProcessBuilder(command);
        pb.environment().keySet().removeIf(k -> k.startsWith("PG"));
        pb.environment().put("LC_ALL", "C.UTF-8");
        watchdog = pb.start();
        watchdogErrors = PgTools.StderrTail.drain(watchdog.getErrorStream());
    }

    /** Runs the postmaster (through the watchdog) and waits until it accepts connections. */
    private void startServer() throws IOException {
        OutputStream in = watchdog.getOutputStream();
        in.write("start\n".getBytes(StandardCharsets.US_ASCII));
        in.flush();
        String line = new BufferedReader(new InputStreamReader(watchdog.getInputStream(), StandardCharsets.US_ASCII)).readLine();
        if (line == null || !line.strip().matches("\\d+")) {
            throw new CheckpointException("drill.server", "the watchdog did not start the server: " + watchdogErrors.text().strip());
        }
        long pid = Long.parseLong(line.strip());
        postmasterPid = pid;
        // what pg_ctl -w does, polled more often: postmaster.pid names this pid and says "ready"
        Path pidFile = dataDir().resolve("postmaster.pid");
        long deadline = System.nanoTime() + STARTUP_TIMEOUT.toNanos();
        while (true) {
            try {
                List<String> lines = Files.readAllLines(pidFile);
                if (lines.size() >= 8 && lines.get(0).strip().equals(Long.toString(pid)) && lines.get(7).strip().equals("ready")) {
                    return;
                }
            } catch (IOException notYet) {
                // not written yet
            }
            if (exited(pid)) {
                throw new CheckpointException("drill.server", "postgres exited during startup");
            }
            if (System.nanoTime() > deadline) {
                throw new CheckpointException("drill.server", "postgres did not accept connections within "
                        + STARTUP_TIMEOUT.toSeconds() + "s");
            }
            try {
                Thread.sleep(10);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new CheckpointException("interrupted", "interrupted while starting the throwaway PostgreSQL");
            }
        }
    }

    /** Whether setpriv has --pdeathsig (util-linux 2.33+), checked once. */
    private static final class Pdeathsig {
        static final boolean AVAILABLE = onPath("setpriv")
                && PgTools.run(List.of("setpriv", "--pdeathsig", "QUIT", "--", "true"), Map.of()).exitCode() == 0;
    }

    /** Gone, or a zombie its parent (the watchdog, busy reading) has not reaped yet. */
    private static boolean exited(long pid) {
        Path stat = Path.of("/proc", Long.toString(pid), "stat");
        if (!Files.isDirectory(Path.of("/proc/self"))) {
            return ProcessHandle.of(pid).map(p -> !p.isAlive()).orElse(true);
        }
        try {
            String s = Files.readString(stat);
            char state = s.charAt(s.lastIndexOf(')') + 2);
            return state == 'Z' || state == 'X';
        } catch (IOException | RuntimeException e) {
            return true;
        }
    }

    private static boolean onPath(String program) {
        String path = System.getenv("PATH");
        for (String d : (path == null ? "/usr/bin:/bin" : path).split(":")) {
            if (!d.isEmpty() && Files.isExecutable(Path.of(d, program))) {
                return true;
            }
        }
        return false;
    }

    /**
     * Sets the superuser's password as the server's OS user over the Unix socket, with the SQL on
     * psql's stdin: never on a command line, never in a file. Until then the role has no password,
     * so scram-sha-256 lets nobody in over TCP.
     */
    private void setPassword() {
        String sql = "SET password_encryption = 'scram-sha-256';\n"
                + "ALTER ROLE postgres PASSWORD '" + password.replace("'", "''") + "';\n";
        List<String> command = new ArrayList<>(asServerUser());
        command.addAll(List.of(tools.path("psql"), "-X", "-q", "-w", "-v", "ON_ERROR_STOP=1",
                "-h", dir.toString(), "-p", Integer.toString(port), "-U", "postgres", "-d", "postgres"));
        ProcessBuilder pb = new ProcessBuilder(command).redirectErrorStream(true);
        pb.environment().keySet().removeIf(k -> k.startsWith("PG"));
        pb.environment().put("LC_ALL", "C.UTF-8");
        try {
            Process p = pb.start();
            try (var in = p.getOutputStream()) {
                in.write(sql.getBytes(StandardCharsets.UTF_8));
            }
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            if (p.waitFor() != 0) {
                throw new CheckpointException("drill.server", "cannot set the superuser's password: " + out.strip());
            }
        } catch (IOException e) {
            throw new CheckpointException("drill.server", "cannot run psql: " + e.getMessage(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new CheckpointException("interrupted", "interrupted while starting the throwaway PostgreSQL");
        }
    }

    private List<String> asServerUser() {
        return runAs == null ? List.of()
                : List.of("setpriv", "--reuid=" + user.uid(), "--regid=" + user.gid(), "--clear-groups", "--");
    }

    private static String randomPassword() {
        byte[] bytes = new byte[24];
        new SecureRandom().nextBytes(bytes);
        return Base64.getUrlEncoder().withoutPadding().encodeToString(bytes);
    }

    /** The OS user the server runs as. */
    private record ServerUser(String name, int uid, int gid) {
        static ServerUser of(String name) {
            PgTools.Result r = PgTools.run(List.of("id", name), Map.of("LC_ALL", "C"));
            Matcher m = Pattern.compile("uid=(\\d+)\\S* gid=(\\d+)").matcher(r.stdout());
            if (r.exitCode() != 0 || !m.find()) {
                throw new CheckpointException("drill.server", "cannot look up the user " + name + ": " + r.stderr().strip());
            }
            return new ServerUser(name, Integer.parseInt(m.group(1)), Integer.parseInt(m.group(2)));
        }
    }

    /**
     * initdb takes over a second; a copy of a cluster initialised once per PostgreSQL version
     * and OS user takes a quarter of that. Where no cache can be written (a read-only root
     * filesystem), it is plain initdb.
     * <p>
     * A template is a server's configuration and catalog, so only one nobody else could have
     * changed is used: the cache directory must be ours and writable by no one else, the
     * template the server user's with mode 0700. Anything else is initialised afresh.
     */
    private void initFromTemplate(List<String> initdb, String serverVersion, int processUid, Progress progress) {
        Path cache = cacheDir(processUid, progress);
        Path template = cache == null ? null
                : cache.resolve(("pgdata-" + serverVersion + "-" + user.name()).replaceAll("[^A-Za-z0-9._-]", "_"));
        if (template != null && Files.exists(template, LinkOption.NOFOLLOW_LINKS)) {
            if (ownedPrivately(template, user.uid(), true) && Files.exists(template.resolve("PG_VERSION"))) {
                exec(List.of("cp", "-a", template.toString(), dataDir().toString()), false);
                return;
            }
            progress.step("not using the template " + template + ": not a directory of " + user.name() + " with mode 0700");
            exec(List.of("rm", "-rf", template.toString()), false);
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

    /** The template cache, created 0700; null where there is none or another user could write to it. */
    private static Path cacheDir(int processUid, Progress progress) {
        String configured = System.getenv("PGCHECKPOINT_CACHE");
        String xdg = System.getenv("XDG_CACHE_HOME");
        Path dir = configured != null ? Path.of(configured)
                : xdg != null ? Path.of(xdg, "pgcheckpoint") : Path.of(System.getProperty("user.home"), ".cache", "pgcheckpoint");
        try {
            if (!Files.exists(dir, LinkOption.NOFOLLOW_LINKS)) {
                Files.createDirectories(dir);
                Files.setPosixFilePermissions(dir, OWNER_ONLY);
            }
            if (!ownedPrivately(dir, processUid, false)) {
                progress.step("not using the template cache " + dir + ": it must be a directory of this user that no one else can write to");
                return null;
            }
            Files.setPosixFilePermissions(dir, OWNER_ONLY);
            return Files.isWritable(dir) ? dir : null;
        } catch (IOException | RuntimeException e) {
            return null;
        }
    }

    /**
     * A real directory (not a symbolic link) owned by uid, that no other user can write to
     * ({@code exactly0700}: nor read or enter).
     */
    private static boolean ownedPrivately(Path dir, int uid, boolean exactly0700) {
        try {
            PosixFileAttributes a = Files.readAttributes(dir, PosixFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
            Set<PosixFilePermission> perms = a.permissions();
            return a.isDirectory()
                    && ((Integer) Files.getAttribute(dir, "unix:uid", LinkOption.NOFOLLOW_LINKS)) == uid
                    && (exactly0700 ? perms.equals(OWNER_ONLY)
                    : !perms.contains(PosixFilePermission.GROUP_WRITE) && !perms.contains(PosixFilePermission.OTHERS_WRITE));
        } catch (IOException | RuntimeException e) {
            return false;
        }
    }

    private Path dataDir() {
        return dir.resolve("data");
    }

    public int port() {
        return port;
    }

    /** The server's own directory: data directory, log, Unix socket. */
    Path directory() {
        return dir;
    }

    /** Connection to the given database as the bootstrap superuser. */
    public DbTarget target(String database) {
        return new DbTarget("127.0.0.1", port, "postgres", password, database, "disable", Map.of());
    }

    private void exec(List<String> command, boolean asServerUser) {
        List<String> full = new ArrayList<>();
        if (asServerUser) {
            full.addAll(asServerUser());
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
        if (watchdog != null) {
            try {
                watchdog.getOutputStream().close(); // the watchdog stops the server and removes the directory
                if (!watchdog.waitFor(60, java.util.concurrent.TimeUnit.SECONDS)) {
                    watchdog.destroyForcibly();
                }
            } catch (IOException ignored) {
                // it is gone already; the directory is removed below
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        if (postmasterPid > 0 && !exited(postmasterPid)) {
            // the watchdog was killed on its own (and setpriv had no --pdeathsig)
            PgTools.run(List.of("kill", "-QUIT", Long.toString(postmasterPid)), Map.of());
        }
        if (Files.exists(dir)) {
            try (Stream<Path> walk = Files.walk(dir)) {
                walk.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            } catch (IOException ignored) {
                // a temp directory left behind is harmless
            }
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
