package io.pgcheckpoint.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Seal and drill a database built to break naive tools, through a real S3-compatible store and a file store. */
class SealDrillTest {
    static LocalPostgres pg;
    static DbTarget app;

    static final String SCHEMA = """
            CREATE SCHEMA "Mixed Case";
            CREATE SCHEMA "sch ""quoted\""";
            CREATE SCHEMA "ünïcødé";
            DO $$ BEGIN
              FOR i IN 1..25 LOOP
                EXECUTE format('CREATE SCHEMA s%1$s; CREATE TABLE s%1$s.t (id int); INSERT INTO s%1$s.t SELECT generate_series(1, %1$s)', i);
              END LOOP;
            END $$;
            CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy');
            CREATE DOMAIN posint AS int CHECK (VALUE > 0);
            CREATE TABLE "Mixed Case"."Order Items" (id serial PRIMARY KEY, qty posint, m mood, price numeric,
                total numeric GENERATED ALWAYS AS (qty * price) STORED);
            INSERT INTO "Mixed Case"."Order Items" (qty, m, price)
                SELECT 1 + g % 5, (ARRAY['sad','ok','happy']::mood[])[1 + g % 3], g * 1.5 FROM generate_series(1, 500) g;
            CREATE TABLE "sch ""quoted\"""."tbl ""x"" y" (a text);
            INSERT INTO "sch ""quoted\"""."tbl ""x"" y" VALUES ('a'), (E'tab\\tand\\nnewline'), ('\\.');
            CREATE TABLE "ünïcødé"."tåble ✓" (a int);
            INSERT INTO "ünïcødé"."tåble ✓" SELECT generate_series(1, 7);
            CREATE TABLE measurements (id bigint, at date, v int) PARTITION BY RANGE (at);
            CREATE TABLE measurements_2024 PARTITION OF measurements FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');
            CREATE TABLE measurements_2025 PARTITION OF measurements FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');
            INSERT INTO measurements SELECT g, DATE '2024-01-01' + (g % 500), g FROM generate_series(1, 500) g;
            CREATE TABLE animals (id int, name text);
            CREATE TABLE dogs (breed text) INHERITS (animals);
            INSERT INTO animals SELECT g, 'a' || g FROM generate_series(1, 10) g;
            INSERT INTO dogs SELECT g, 'd' || g, 'terrier' FROM generate_series(1, 5) g;
            SELECT lo_from_bytea(0, 'one'::bytea), lo_from_bytea(0, 'two'::bytea), lo_from_bytea(0, 'three'::bytea);
            CREATE MATERIALIZED VIEW moods AS SELECT m, count(*) AS n FROM "Mixed Case"."Order Items" GROUP BY m;
            CREATE MATERIALIZED VIEW never_refreshed AS SELECT 1 AS one WITH NO DATA;
            CREATE SEQUENCE standalone_seq;
            SELECT setval('standalone_seq', 42);
            CREATE TABLE secrets (id int, owner text);
            ALTER TABLE secrets ENABLE ROW LEVEL SECURITY;
            ALTER TABLE secrets FORCE ROW LEVEL SECURITY;
            CREATE POLICY only_mine ON secrets USING (owner = current_user);
            INSERT INTO secrets VALUES (1, 'alice'), (2, 'bob'), (3, 'carol'), (4, 'dave');
            CREATE TABLE empty_table (id int);
            CREATE UNLOGGED TABLE scratch (x int);
            INSERT INTO scratch VALUES (1), (2), (3);
            CREATE TABLE big (id bigint PRIMARY KEY, payload text);
            INSERT INTO big SELECT g, md5(g::text) FROM generate_series(1, 1000001) g;
            """;

    @BeforeAll
    static void start() {
        pg = Fixtures.source(null);
        app = pg.target("app");
        Fixtures.sql(app, SCHEMA);
    }

    @AfterAll
    static void stop() {
        pg.close();
    }

    @Test
    void ledgerCountsEveryRelationOnceAndDrillRestoresEqualCounts(@TempDir Path s3dir) throws Exception {
        try (TestS3 s3 = new TestS3(s3dir)) {
            s3.createBucket("checkpoints");
            try (Store store = Stores.open("s3://checkpoints/prod/app", s3.settings())) {
                Manifest m = new Sealer(Fixtures.TOOLS, Progress.SILENT).seal(Fixtures.request(app, store, "pre-deploy-1"));
                Map<String, Long> ledger = Fixtures.ledger(m);

                assertEquals(500L, ledger.get("Mixed Case.Order Items"));
                assertEquals(3L, ledger.get("sch \"quoted\".tbl \"x\" y"));
                assertEquals(7L, ledger.get("ünïcødé.tåble ✓"));
                assertEquals(1_000_001L, ledger.get("public.big"));
                for (int i = 1; i <= 25; i++) {
                    assertEquals((long) i, ledger.get("s" + i + ".t"));
                }
                // partitions hold the rows; the partitioned parent stores none and is not listed
                assertEquals(500L, ledger.get("public.measurements_2024") + ledger.get("public.measurements_2025"));
                assertFalse(ledger.containsKey("public.measurements"));
                // inheritance: each relation counts only its own rows
                assertEquals(10L, ledger.get("public.animals"));
                assertEquals(5L, ledger.get("public.dogs"));
                // materialized views: listed for the drill to check their refresh, never counted
                assertFalse(ledger.containsKey("public.moods"));
                assertEquals(List.of(new Ledger.View("public", "moods")), m.ledger().views());
                assertFalse(ledger.containsKey("public.never_refreshed"));
                assertEquals(4L, ledger.get("public.secrets"), "superuser counts past FORCE ROW LEVEL SECURITY");
                assertEquals(0L, ledger.get("public.empty_table"));
                assertEquals(3L, ledger.get("public.scratch"));
                assertEquals(3L, m.ledger().largeObjects());
                assertEquals(25 + 11, m.ledger().tableCount());
                assertEquals(64, m.archive().sha256().length());
                assertTrue(store.exists("pre-deploy-1/manifest.json"));

                List<String> said = new java.util.concurrent.CopyOnWriteArrayList<>();
                DrillReport report = new Driller(Fixtures.TOOLS, said::add).drill(store, "pre-deploy-1", null, 2);
                assertTrue(report.proven(), () -> "mismatches: " + report.mismatches());
                // tables named with spaces, quotes and accents were counted as their data came in, and matched
                assertTrue(said.stream().anyMatch(s -> s.matches(".*; \\d+ table\\(s\\) counted as soon as their data was in.*")),
                        () -> "said: " + said);
                assertEquals(m.ledger().tableCount(), report.tablesChecked());
                assertEquals(m.ledger().totalRows(), report.rowsChecked());
                assertEquals(3L, report.largeObjectsFound());
                assertEquals(1, report.viewsRefreshed());
                DrillReport stored = Json.read(store.read("pre-deploy-1/drill.json").orElseThrow(), DrillReport.class);
                assertTrue(stored.proven());
                assertEquals(java.util.List.of("pre-deploy-1"), store.listTags());
            }
        }
    }

    @Test
    void fileStoreSealAndDrillIntoAGivenEmptyDatabase(@TempDir Path dir) {
        try (Store store = Stores.open("file:" + dir, null)) {
            Manifest m = new Sealer(Fixtures.TOOLS, Progress.SILENT).seal(Fixtures.request(app, store, "local-1"));
            Fixtures.sql(pg.target("postgres"), "CREATE DATABASE drill_target");
            DrillReport report = new Driller(Fixtures.TOOLS, Progress.SILENT)
                    .drill(store, "local-1", pg.target("drill_target"), 2);
            assertTrue(report.proven(), () -> "mismatches: " + report.mismatches());
            assertEquals(1_000_001L, Fixtures.count(pg.target("drill_target"), "SELECT count(*) FROM big"));
            assertEquals(m.ledger().totalRows(), report.rowsChecked());
        }
    }

    @Test
    void excludedSchemasAndTablesAreLeftOutOfArchiveAndLedgerAlike(@TempDir Path dir) {
        try (Store store = Stores.open("file:" + dir, null)) {
            Exclusions leaveOut = new Exclusions(List.of("s1", "s2"), List.of("public.big", "\"ünïcødé\".\"tåble ✓\""));
            Manifest m = new Sealer(Fixtures.TOOLS, Progress.SILENT).seal(new Sealer.Request(app, store, "partial-1", null, null, 1, leaveOut));
            Map<String, Long> ledger = Fixtures.ledger(m);
            assertFalse(ledger.containsKey("public.big"));
            assertFalse(ledger.containsKey("s1.t"));
            assertFalse(ledger.containsKey("ünïcødé.tåble ✓"));
            assertTrue(ledger.containsKey("s3.t"));
            assertFalse(ledger.containsKey("s2.t"));
            assertEquals(leaveOut, Archives.manifest(store, "partial-1").excluded());
            DrillReport report = new Driller(Fixtures.TOOLS, Progress.SILENT).drill(store, "partial-1", null, 2);
            assertTrue(report.proven(), () -> "mismatches: " + report.mismatches());
            Differ.Report diff = Differ.diff(Archives.manifest(store, "partial-1"), app);
            assertTrue(diff.added().isEmpty(), "excluded tables are not reported as new: " + diff.added());
        }
    }
}
