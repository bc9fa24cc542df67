package io.pgcheckpoint.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The drill's throwaway PostgreSQL on a shared machine (laptop, CI runner): no other local user
 * gets in, and it never outlives the process that started it. Real processes and real OS users
 * throughout; needs root (to act as the other user, {@code nobody}).
 */
class ThrowawayServerTest {
    private static final Pattern STARTED = Pattern.compile("port=(\\d+) pid=(\\d+) dir=(\\S+) cluster_name=(.*)");

    @BeforeAll
    static void asRoot() {
        Assumptions.assumeTrue("root".equals(System.getProperty("user.name")), "needs root to act as another local user");
    }

    @Test
    void anotherLocalUserCannotConnectOverTcpOrTheSocket() throws IOException {
        try (LocalPostgres pg = LocalPostgres.start(Fixtures.TOOLS, Progress.SILENT)) {
            // the drill itself gets in
            assertEquals(1L, Fixtures.count(pg.target("postgres"), "SELECT 1"));
            for (String host : List.of("127.0.0.1", pg.directory().toString())) {
                PgTools.Result r = asNobody(List.of(Fixtures.TOOLS.path("psql"), "-X", "-w", "-At", "-v", "ON_ERROR_STOP=1",
                        "-h", host, "-p", Integer.toString(pg.port()), "-U", "postgres", "-d", "postgres",
                        "-c", "CREATE TEMP TABLE pwn (line text)",
                        "-c", "COPY pwn FROM PROGRAM 'id'",
                        "-c", "SELECT line FROM pwn"));
                String out = (r.stdout() + r.stderr()).strip();
                assertFalse(out.contains("uid="), "nobody ran a program as the server via " + host + ": " + out);
                assertNotEquals(0, r.exitCode(), "nobody connected as postgres via " + host + ": " + out);
            }
            PgTools.Result ls = asNobody(List.of("ls", pg.directory().toString()));
            assertNotEquals(0, ls.exitCode(), "nobody can list the server's directory: " + ls.stdout());
            assertEquals("rwx------", mode(pg.directory()));
        }
    }

    @Test
    void serverAndDirectoryGoWhenTheJvmIsKilled() throws Exception {
        Process child = childJvm(Map.of()).start();
        Matcher started = null;
        try {
            started = awaitStarted(child);
            long pid = Long.parseLong(started.group(2));
            Path dir = Path.of(started.group(3));
            int port = Integer.parseInt(started.group(1));
            assertTrue(running(pid), "the postmaster runs while the drill does");
            assertTrue(Files.isDirectory(dir));

            child.destroyForcibly(); // SIGKILL: no shutdown hook runs
            assertTrue(child.waitFor(10, TimeUnit.SECONDS));
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while ((running(pid) || Files.exists(dir) || accepts(port)) && System.nanoTime() < deadline) {
                Thread.sleep(100);
            }
            assertFalse(running(pid), "the postmaster " + pid + " outlived the JVM that started it");
            assertFalse(accepts(port), "port " + port + " still accepts connections");
            assertFalse(Files.exists(dir), dir + " outlived the JVM that started it");
        } finally {
            child.destroyForcibly();
            if (started != null) {
                // what today's leak would leave behind must not pile up on the test machine
                long pid = Long.parseLong(started.group(2));
                if (running(pid)) {
                    PgTools.run(List.of("kill", "-QUIT", Long.toString(pid)), Map.of());
                    long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
                    while (running(pid) && System.nanoTime() < until) {
                        Thread.sleep(100);
                    }
                }
                PgTools.run(List.of("rm", "-rf", started.group(3)), Map.of());
            }
        }
    }

    @Test
    void serverGoesWhenItsWatchdogIsKilled() throws Exception {
        LocalPostgres pg = LocalPostgres.start(Fixtures.TOOLS, Progress.SILENT);
        try {
            long pid = Long.parseLong(Files.readAllLines(pg.directory().resolve("data/postmaster.pid")).get(0).strip());
            String stat = Files.readString(Path.of("/proc", Long.toString(pid), "stat"));
            long parent = Long.parseLong(stat.substring(stat.lastIndexOf(')') + 2).split(" ")[1]);
            assertNotEquals(ProcessHandle.current().pid(), parent, "the postmaster is the watchdog's child");
            assertEquals(0, PgTools.run(List.of("kill", "-KILL", Long.toString(parent)), Map.of()).exitCode());
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (running(pid) && System.nanoTime() < deadline) {
                Thread.sleep(100);
            }
            assertFalse(running(pid), "the postmaster " + pid + " outlived its watchdog");
        } finally {
            pg.close();
        }
        assertFalse(Files.exists(pg.directory()));
    }

    @Test
    void aTemplateAnotherUserCouldHaveChangedIsNotUsed(@TempDir Path base) throws Exception {
        Path cache = base.resolve("cache");
        Map<String, String> env = Map.of("PGCHECKPOINT_CACHE", cache.toString());

        runOnce(env); // creates the cache and the template
        assertEquals("rwx------", mode(cache), "the template cache must be private");
        Path template = template(cache);
        assertEquals("rwx------", mode(template));
        Files.writeString(template.resolve("postgresql.auto.conf"), "cluster_name = 'tampered'\n",
                java.nio.file.StandardOpenOption.APPEND);
        assertEquals("tampered", runOnce(env), "a template in a private cache is used as it is");

        // another user owns the cache directory (say they created PGCHECKPOINT_CACHE first), so
        // they can put any template there
        chown("nobody", cache, false);
        assertEquals("", runOnce(env), "used a template from a cache directory owned by nobody");

        // the cache directory is ours again, but the template in it belongs to another user
        chown("root", cache, false);
        Files.setPosixFilePermissions(cache, PosixFilePermissions.fromString("rwx------"));
        chown("nobody", template, true);
        assertEquals("", runOnce(env), "used a template owned by nobody");

        // the cache directory is writable by others
        chown("postgres", template, true);
        Files.setPosixFilePermissions(cache, PosixFilePermissions.fromString("rwxrwxrwx"));
        assertEquals("", runOnce(env), "used a template from a world-writable cache directory");
    }

    private static String runOnce(Map<String, String> env) throws Exception {
        Process child = childJvm(env).start();
        try {
            Matcher started = awaitStarted(child);
            child.getOutputStream().close();
            assertTrue(child.waitFor(30, TimeUnit.SECONDS));
            assertEquals(0, child.exitValue());
            assertFalse(Files.exists(Path.of(started.group(3))));
            return started.group(4);
        } finally {
            child.destroyForcibly();
        }
    }

    private static Path template(Path cache) throws IOException {
        try (Stream<Path> entries = Files.list(cache)) {
            List<Path> templates = entries.filter(p -> p.getFileName().toString().startsWith("pgdata-")).toList();
            assertEquals(1, templates.size(), "templates: " + templates);
            return templates.get(0);
        }
    }

    private static void chown(String user, Path path, boolean recursive) {
        List<String> command = new ArrayList<>(List.of("chown"));
        if (recursive) {
            command.add("-R");
        }
        command.addAll(List.of(user, path.toString()));
        assertEquals(0, PgTools.run(command, Map.of()).exitCode());
    }

    private static ProcessBuilder childJvm(Map<String, String> env) {
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        ProcessBuilder pb = new ProcessBuilder(java, "-Xmx128m", "-cp", System.getProperty("java.class.path"),
                ThrowawayServerMain.class.getName());
        pb.environment().putAll(env);
        pb.redirectError(ProcessBuilder.Redirect.INHERIT);
        return pb;
    }

    private static Matcher awaitStarted(Process child) throws IOException {
        BufferedReader out = new BufferedReader(new InputStreamReader(child.getInputStream(), StandardCharsets.UTF_8));
        String line = out.readLine();
        assertTrue(line != null, "the child JVM exited without starting a server");
        Matcher m = STARTED.matcher(line);
        assertTrue(m.matches(), line);
        return m;
    }

    /** Runs a command as the OS user nobody, with none of this JVM's PG* variables. */
    private static PgTools.Result asNobody(List<String> command) {
        List<String> full = new ArrayList<>(List.of("setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups",
                "env", "-i", "PATH=/usr/bin:/bin", "PGCONNECT_TIMEOUT=5", "HOME=/nonexistent"));
        full.addAll(command);
        return PgTools.run(full, new HashMap<>());
    }

    /** Alive and not a zombie. */
    private static boolean running(long pid) {
        try {
            String stat = Files.readString(Path.of("/proc", Long.toString(pid), "stat"));
            char state = stat.charAt(stat.lastIndexOf(')') + 2);
            return state != 'Z' && state != 'X';
        } catch (IOException e) {
            return false;
        }
    }

    private static boolean accepts(int port) {
        try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress("127.0.0.1", port), 500);
            return true;
        } catch (IOException e) {
            return false;
        }
    }

    private static String mode(Path p) throws IOException {
        return PosixFilePermissions.toString(Files.getPosixFilePermissions(p, LinkOption.NOFOLLOW_LINKS));
    }
}
