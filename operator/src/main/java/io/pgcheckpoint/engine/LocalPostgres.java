package io.pgcheckpoint.engine;

import java.io.IOException;
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
 */
public final class LocalPostgres implements AutoCloseable {
    private static final Set<PosixFilePermission> OWNER_ONLY = PosixFilePermissions.fromString("rwx------");
    private final PgTools tools;
    private final Path dir;
    private final int port;
    private final String runAs;
    private final ServerUser user;
    private final String password;
    private final Thread shutdownHook;
    private boolean stopped;

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
    public static LocalPostgres start(PgTools tools, Progress progress, String password, boolean listenOnAllInterfaces) {
        if (listenOnAllInterfaces && password == null) {
            throw new IllegalArgumentException("a server reachable from other hosts needs a password");
        }
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
            progress.step("starting a throwaway PostgreSQL (" + tools.version("postgres").replace("postgres (PostgreSQL) ", "")
                    + ") in " + dir + " on port " + pg.port);
            // Nothing may connect until pg_hba.conf below is written; the superuser gets its
            // password once the server runs (setPassword).
            List<String> initdb = List.of(tools.path("initdb"), "-D", pg.dataDir().toString(), "-U", "postgres",
                    "--auth=reject", "--encoding=UTF8", "--locale=C.UTF-8", "--no-sync");
            pg.initFromTemplate(initdb, tools.version("postgres"), processUid, progress);
            String hba = "local all all peer map=owner\n"
                    + "host all all 127.0.0.1/32 scram-sha-256\n"
                    + (listenOnAllInterfaces ? "host all all 0.0.0.0/0 scram-sha-256\nhost all all ::/0 scram-sha-256\n" : "");
            Files.writeString(pg.dataDir().resolve("pg_hba.conf"), hba);
            Files.writeString(pg.dataDir().resolve("pg_ident.conf"), "owner \"" + user.name() + "\" postgres\n");
            String settings = String.join(" ", List.of(
                    "-p " + pg.port, "-k " + dir, "-c listen_addresses=" + (listenOnAllInterfaces ? "'*'" : "127.0.0.1"),
                    "-c fsync=off", "-c synchronous_commit=off", "-c full_page_writes=off",
                    "-c wal_level=minimal", "-c max_wal_senders=0", "-c max_wal_size=4GB",
                    "-c checkpoint_timeout=1h", "-c maintenance_work_mem=256MB", "-c autovacuum=off"));
            pg.exec(List.of(tools.path("pg_ctl"), "-D", pg.dataDir().toString(), "-l", dir.resolve("server.log").toString(),
                    "-o", settings, "-w", "-t", "60", "start"), true);
            pg.setPassword();
            return pg;
        } catch (RuntimeException | IOException e) {
            String log = pg.logTail();
            pg.close();
            throw new CheckpointException("drill.server", "the throwaway PostgreSQL did not start: " + e.getMessage()
                    + (log.isEmpty() ? "" : " | server log: " + log), e);
        }
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
                    + r.exitCode() + "): " + (r.stderr() + r.stdout()).strip());
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
