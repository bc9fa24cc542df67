package io.pgcheckpoint.engine;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.testcontainers.containers.PostgreSQLContainer;
import org.testcontainers.containers.wait.strategy.Wait;
import org.testcontainers.containers.wait.strategy.WaitAllStrategy;
import org.testcontainers.utility.DockerImageName;

/**
 * The PostgreSQL majors the engine tests cover (15, 17 and 18: {@code PGCK_TEST_PG_MAJORS}), their
 * binaries on this machine and servers of each.
 * <ul>
 * <li>Binaries: Debian's layout, one directory per major: {@code /usr/lib/postgresql/N} and the
 *     roots in {@code PGCK_TEST_PG_ROOTS} (testbed/env: PostgreSQL 17 and 18 taken from the testbed's
 *     images so that they run on this bookworm host; on a machine with PGDG's packages, 17 and 18
 *     are in /usr/lib/postgresql already).</li>
 * <li>Servers: the host's own major from local binaries ({@link Fixtures#source}); the others in
 *     containers, from {@code PGCK_TESTBED_POSTGRES_IMAGES} (testbed/env: {@code localhost/postgres:{major}},
 *     loaded by scripts/docker-up), else Docker Hub's official {@code postgres:{major}}.</li>
 * </ul>
 * Nothing here skips: a major whose binaries or images are missing fails its tests, saying what to run.
 */
public final class PgMajors {
    /** The host's own PostgreSQL, the one {@link Fixtures#TOOLS} finds. */
    public static final int HOST = 15;
    public static final List<Integer> ALL = Arrays.stream(System.getenv().getOrDefault("PGCK_TEST_PG_MAJORS", "15 17 18")
            .trim().split("\\s+")).map(Integer::valueOf).toList();

    private PgMajors() {
    }

    /** The majors other than the host's: their sources run in containers. */
    public static List<Integer> containerMajors() {
        return ALL.stream().filter(m -> m != HOST).toList();
    }

    public static List<Path> roots() {
        List<Path> roots = new ArrayList<>();
        String configured = System.getenv("PGCK_TEST_PG_ROOTS");
        if (configured != null && !configured.isBlank()) {
            for (String r : configured.split(":")) {
                roots.add(Path.of(r));
            }
        } else {
            roots.add(Path.of(System.getenv().getOrDefault("PGCK_TESTBED_CACHE", "/var/cache/pgcheckpoint-testbed"),
                    "pgtools", "postgresql"));
        }
        roots.add(Path.of("/usr/lib/postgresql"));
        return roots;
    }

    /** Every major found, side by side, as on a machine with several PostgreSQL packages. */
    public static PgTools installed() {
        return PgTools.scan(roots());
    }

    /** The bin directory of one major. */
    public static Path bin(int major) {
        for (Path root : roots()) {
            Path bin = root.resolve(Integer.toString(major)).resolve("bin");
            if (Files.isExecutable(bin.resolve("pg_dump"))) {
                return bin;
            }
        }
        throw new AssertionError("no PostgreSQL " + major + " binaries in " + roots() + ": run testbed/build (it takes them "
                + "from its postgres:" + major + " image) and source testbed/env, or install postgresql-" + major);
    }

    /** Only this major's tools, as with PGCHECKPOINT_PG_BIN. */
    public static PgTools only(int major) {
        return PgTools.at(bin(major));
    }

    /** A laptop with only these majors installed: a root of links to their real directories. */
    public static PgTools installedOnly(Path dir, int... majors) {
        try {
            Path root = Files.createDirectories(dir.resolve("roots-" + Arrays.toString(majors).replaceAll("\\D+", "-")));
            for (int major : majors) {
                Path link = root.resolve(Integer.toString(major));
                if (!Files.exists(link)) {
                    Files.createSymbolicLink(link, bin(major).getParent());
                }
            }
            return PgTools.scan(List.of(root));
        } catch (java.io.IOException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Removes the links {@link #installedOnly} made, so that removing the directory leaves their targets alone. */
    public static void unlinkAll(Path dir) {
        try (var walk = Files.walk(dir)) {
            for (Path p : walk.filter(Files::isSymbolicLink).toList()) {
                Files.deleteIfExists(p);
            }
        } catch (java.io.IOException e) {
            throw new IllegalStateException(e);
        }
    }

    public static String image(int major) {
        String template = System.getenv().getOrDefault("PGCK_TESTBED_POSTGRES_IMAGES", "postgres:{major}");
        return template.replace("{major}", Integer.toString(major));
    }

    /** A running PostgreSQL of one major with a database "app". */
    public interface Source extends AutoCloseable {
        DbTarget target(String database);

        int major();

        @Override
        void close();
    }

    /** The host's major from local binaries, any other in a container. */
    public static Source source(int major, String password) {
        String pw = password != null ? password : "src-" + Long.toHexString(new java.security.SecureRandom().nextLong());
        if (major == HOST) {
            LocalPostgres pg = Fixtures.source(pw);
            return new Source() {
                public DbTarget target(String database) {
                    return pg.target(database);
                }

                public int major() {
                    return major;
                }

                public void close() {
                    pg.close();
                }
            };
        }
        PostgreSQLContainer<?> c = container(major, pw);
        c.start();
        Source s = new Source() {
            public DbTarget target(String database) {
                return new DbTarget(c.getHost(), c.getMappedPort(5432), "postgres", pw, database, "disable", Map.of());
            }

            public int major() {
                return major;
            }

            public void close() {
                c.stop();
            }
        };
        Fixtures.sql(s.target("postgres"), "CREATE DATABASE app");
        return s;
    }

    @SuppressWarnings("resource")
    static PostgreSQLContainer<?> container(int major, String password) {
        // Ready when it accepts TCP connections: the entrypoint's first, socket-only server
        // (initdb, init scripts) does not listen on TCP; both the official image and the testbed's do so.
        return new PostgreSQLContainer<>(DockerImageName.parse(image(major)).asCompatibleSubstituteFor("postgres"))
                .withDatabaseName("postgres").withUsername("postgres").withPassword(password)
                .waitingFor(new WaitAllStrategy().withStrategy(Wait.forListeningPort())
                        .withStrategy(Wait.forSuccessfulCommand("pg_isready -q -h 127.0.0.1 -p 5432 -U postgres"))
                        .withStartupTimeout(java.time.Duration.ofMinutes(2)));
    }
}
