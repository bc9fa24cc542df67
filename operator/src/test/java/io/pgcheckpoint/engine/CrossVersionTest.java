package io.pgcheckpoint.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Tools and servers of different majors: what works, what is refused (before anything is dumped or
 * downloaded) and what each refusal says. Sources: the host's PostgreSQL 15, and 17 and 18 in
 * containers; real binaries of 15, 17 and 18 ({@link PgMajors}).
 */
class CrossVersionTest {
    @TempDir
    Path dir;
    static PgMajors.Source pg15;
    static PgMajors.Source pg17;
    static PgMajors.Source pg18;
    static final String SCHEMA = """
            CREATE TABLE customers (id serial PRIMARY KEY, email text UNIQUE NOT NULL);
            CREATE TABLE orders (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                                 customer_id int NOT NULL REFERENCES customers(id), total numeric NOT NULL);
            INSERT INTO customers (email) SELECT 'c' || g || '@example.com' FROM generate_series(1, 300) g;
            INSERT INTO orders (customer_id, total) SELECT 1 + g % 300, g FROM generate_series(1, 5000) g;
            CREATE MATERIALIZED VIEW totals AS SELECT customer_id, sum(total) FROM orders GROUP BY customer_id;
            """;

    @BeforeAll
    static void sources() {
        pg15 = PgMajors.source(15, null);
        pg17 = PgMajors.source(17, null);
        pg18 = PgMajors.source(18, null);
        for (PgMajors.Source s : List.of(pg15, pg17, pg18)) {
            Fixtures.sql(s.target("app"), SCHEMA);
        }
    }

    @AfterAll
    static void stop() {
        for (PgMajors.Source s : new PgMajors.Source[] {pg15, pg17, pg18}) {
            if (s != null) {
                s.close();
            }
        }
    }

    @org.junit.jupiter.api.AfterEach
    void unlink() {
        PgMajors.unlinkAll(dir);
    }

    private static Manifest seal(PgTools tools, PgMajors.Source source, Store store, String tag, Compression compression) {
        return new Sealer(tools, Progress.SILENT).seal(Fixtures.request(source.target("app"), store, tag).withCompression(compression));
    }

    @Test
    void pgDumpOlderThanTheServerIsRefusedBeforeAnythingIsDumped() {
        try (Store store = new FileStore(dir)) {
            CheckpointException e = assertThrows(CheckpointException.class,
                    () -> seal(PgMajors.only(15), pg17, store, "too-old", Compression.AUTO));
            assertEquals("tools.version-mismatch", e.code());
            String m = e.getMessage();
            assertTrue(m.contains("pg_dump must be of the server's major version or newer to dump PostgreSQL 17."), m);
            assertTrue(m.contains("found pg_dump 15 (" + PgMajors.bin(15) + ")"), m);
            assertTrue(m.contains("install postgresql-client-17 or newer") && m.contains("pgcheckpoint image (pg_dump 18)"), m);
            assertTrue(store.listTags().isEmpty(), "nothing was written");
        }
    }

    @Test
    void zstdAndLz4NeedPgDump16AndAreRefusedForAFifteenSourceDumpedWithItsOwnMajor() {
        try (Store store = new FileStore(dir)) {
            CheckpointException e = assertThrows(CheckpointException.class,
                    () -> seal(PgMajors.installed(), pg15, store, "zstd-on-15", Compression.parse("zstd:3")));
            assertEquals("tools.compression", e.code());
            assertTrue(e.getMessage().contains("zstd compression needs pg_dump 16 or newer, and this PostgreSQL 15 server is "
                    + "dumped with pg_dump 15."), e.getMessage());
            assertTrue(store.listTags().isEmpty());

            for (String spec : List.of("zstd:3", "lz4", "gzip:1")) {
                Manifest m = seal(PgMajors.installed(), pg17, store, "c-" + spec.replace(':', '-'), Compression.parse(spec));
                assertEquals(spec, m.archive().compression());
                DrillReport r = new Driller(PgMajors.installed(), Progress.SILENT).drill(store, m.tag(), null, 2);
                assertTrue(r.proven(), () -> spec + ": " + r.mismatches());
            }
        }
    }

    /**
     * The documented risk, concretely: pg_restore 18 sets transaction_timeout, which PostgreSQL 15 does
     * not have, so `pg_restore -d` of a pg_dump 18 archive into 15 stops at once. That is why the
     * image carries pg_dump of every major and a source is dumped with its own; with only a newer
     * pg_dump at hand, the drill still proves the archive on 15 through psql, without that setting,
     * and says so.
     */
    @Test
    void aPgDump18ArchiveOfAFifteenSourceIsProvenOnFifteenWithoutTheSettingsFifteenLacks() throws Exception {
        try (Store store = new FileStore(dir.resolve("store"))) {
            List<String> said = new ArrayList<>();
            Manifest m = new Sealer(PgMajors.installedOnly(dir, 18), said::add)
                    .seal(Fixtures.request(pg15.target("app"), store, "newer-tools"));
            assertEquals(18, m.pgDumpMajor());
            assertEquals(15, m.serverMajor());
            assertTrue(said.stream().anyMatch(s -> s.contains("no pg_dump 15 here") && s.contains("postgresql-client-15")),
                    said.toString());

            Fixtures.sql(pg15.target("postgres"), "CREATE DATABASE plain_pg_restore");
            PgTools.Result direct = PgTools.run(List.of(PgMajors.bin(18).resolve("pg_restore").toString(), "--exit-on-error",
                    "--no-owner", "--dbname=plain_pg_restore", dir.resolve("store/newer-tools/archive.dump").toString()),
                    pg15.target("plain_pg_restore").libpqEnv());
            assertNotEquals(0, direct.exitCode(), "pg_restore 18 -d into PostgreSQL 15");
            assertTrue(direct.stderr().contains("unrecognized configuration parameter \"transaction_timeout\""), direct.stderr());

            said.clear();
            DrillReport r = new Driller(PgMajors.installedOnly(dir, 15, 18), said::add).drill(store, "newer-tools", null, 2);
            assertTrue(r.proven(), () -> "mismatches: " + r.mismatches());
            assertEquals(15, PgTools.serverMajor(r.drillServerVersion()));
            assertEquals(18, PgTools.major(r.pgRestoreVersion()));
            assertTrue(r.notes().stream().anyMatch(n -> n.contains("through psql") && n.contains("PostgreSQL 15")), r.notes().toString());

            // pgcheckpoint restore takes the same way into the live 15 source
            Fixtures.sql(pg15.target("app"), "DROP MATERIALIZED VIEW totals; DROP TABLE orders");
            Restorer.Report back = new Restorer(PgMajors.installedOnly(dir, 18), Progress.SILENT).restore(new Restorer.Request(
                    store, "newer-tools", List.of("public.orders"), pg15.target("app"), Restorer.Mode.REPLACE, "newer-tools", null));
            assertTrue(back.allMatch(), back.toString());
            assertEquals(5_000L, Fixtures.count(pg15.target("app"), "SELECT count(*) FROM orders"));
        } finally {
            Fixtures.sql(pg15.target("app"), "DROP TABLE IF EXISTS orders CASCADE; DROP TABLE customers; " + SCHEMA);
        }
    }

    @Test
    void aPgDump18ArchiveNeedsPgRestore18AndIsRefusedBeforeTheDownload() {
        try (Store store = new FileStore(dir.resolve("store"))) {
            seal(PgMajors.installed(), pg18, store, "from-18", Compression.AUTO);
            List<String> said = new ArrayList<>();
            CheckpointException e = assertThrows(CheckpointException.class,
                    () -> new Driller(PgMajors.installedOnly(dir, 15, 17), said::add).drill(store, "from-18", null, 2));
            assertEquals("tools.version-mismatch", e.code());
            assertTrue(e.getMessage().contains("the archive was written by pg_dump 18.") && e.getMessage().contains(
                    "only pg_restore 18 or newer can read it: found pg_restore 15 (") && e.getMessage().contains("pg_restore 17 ("),
                    e.getMessage());
            assertTrue(e.getMessage().contains("install postgresql-client-18"), e.getMessage());
            assertTrue(said.stream().noneMatch(s -> s.startsWith("downloading")), said.toString());
        }
    }

    @Test
    void noLocalServerOfTheSourcesMajorOrNewerIsRefusedBeforeTheDownload() throws Exception {
        try (Store store = new FileStore(dir.resolve("store"))) {
            seal(PgMajors.installed(), pg17, store, "from-17", Compression.AUTO);
            // PostgreSQL 15 installed whole, 17 as client tools only (no postgresql-17)
            Path root = Files.createDirectories(dir.resolve("laptop"));
            Files.createSymbolicLink(root.resolve("15"), PgMajors.bin(15).getParent());
            Path bin17 = Files.createDirectories(root.resolve("17/bin"));
            for (String tool : List.of("pg_dump", "pg_restore", "psql")) {
                Files.createSymbolicLink(bin17.resolve(tool), PgMajors.bin(17).resolve(tool));
            }
            List<String> said = new ArrayList<>();
            CheckpointException e = assertThrows(CheckpointException.class,
                    () -> new Driller(PgTools.scan(List.of(root)), said::add).drill(store, "from-17", null, 2));
            assertEquals("drill.version", e.code());
            assertTrue(e.getMessage().contains("the checkpoint comes from PostgreSQL 17.") && e.getMessage().contains(
                    "found only PostgreSQL 15 (") && e.getMessage().contains("install postgresql-17"), e.getMessage());
            assertTrue(said.stream().noneMatch(s -> s.startsWith("downloading")), said.toString());
        }
    }

    @Test
    void aDrillTargetOlderThanTheSourceIsRefusedBeforeTheDownload() {
        try (Store store = new FileStore(dir)) {
            seal(PgMajors.installed(), pg17, store, "to-older", Compression.AUTO);
            Fixtures.sql(pg15.target("postgres"), "CREATE DATABASE older_target");
            List<String> said = new ArrayList<>();
            CheckpointException e = assertThrows(CheckpointException.class,
                    () -> new Driller(PgMajors.installed(), said::add).drill(store, "to-older", pg15.target("older_target"), 2));
            assertEquals("drill.version", e.code());
            assertTrue(e.getMessage().contains("runs PostgreSQL 15.") && e.getMessage().contains("comes from PostgreSQL 17.")
                    && e.getMessage().contains("nothing was downloaded"), e.getMessage());
            assertTrue(said.stream().noneMatch(s -> s.startsWith("downloading")), said.toString());
            assertFalse(store.exists("to-older/drill.json"), "a refused drill server proves nothing either way");

            // a newer server is accepted, and the drill says the proof is on its major
            Fixtures.sql(pg18.target("postgres"), "CREATE DATABASE newer_target");
            said.clear();
            DrillReport r = new Driller(PgMajors.installed(), said::add).drill(store, "to-older", pg18.target("newer_target"), 2);
            assertTrue(r.proven(), () -> r.mismatches().toString());
            assertTrue(said.stream().anyMatch(s -> s.contains("proven on 18, not on 17")), said.toString());
        }
    }
}
