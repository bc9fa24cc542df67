package io.pgcheckpoint.engine;

import static io.pgcheckpoint.engine.SurgicalRestoreTest.content;
import static io.pgcheckpoint.engine.SurgicalRestoreTest.definition;
import static io.pgcheckpoint.engine.SurgicalRestoreTest.list;
import static io.pgcheckpoint.engine.SurgicalRestoreTest.query;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The general case: names that need quoting, a schema other than public, sub-partitions, foreign
 * keys in a cycle, self-references and into partitioned tables, generated and unlogged tables,
 * rules, extended statistics, publications, deferrable keys, inheritance trees dropped whole.
 */
class SurgicalRestoreTestEdgeTest {
    static final String TAG = "edge-1";
    static final String SCHEMA = """
            CREATE SCHEMA "Sales Dept";
            CREATE TABLE "Sales Dept"."Team" (id int PRIMARY KEY, name text NOT NULL, lead_id int);
            CREATE TABLE "Sales Dept"."Person" (id int PRIMARY KEY, "Full Name" text, team_id int REFERENCES "Sales Dept"."Team" (id),
                                               manager_id int REFERENCES "Sales Dept"."Person" (id) DEFERRABLE INITIALLY DEFERRED);
            ALTER TABLE "Sales Dept"."Team" ADD CONSTRAINT team_lead FOREIGN KEY (lead_id) REFERENCES "Sales Dept"."Person" (id);
            CREATE TABLE "Sales Dept"."Deal" (id bigserial PRIMARY KEY, amount numeric NOT NULL, vat numeric GENERATED ALWAYS AS (amount * 0.2) STORED,
                                             person_id int REFERENCES "Sales Dept"."Person" (id), "select" text);
            CREATE INDEX "Deal amount idx" ON "Sales Dept"."Deal" ((amount * 2));
            CREATE STATISTICS "Sales Dept".deal_stats (dependencies) ON amount, person_id FROM "Sales Dept"."Deal";
            COMMENT ON COLUMN "Sales Dept"."Deal".amount IS 'in EUR; gross';
            COMMENT ON INDEX "Sales Dept"."Deal amount idx" IS 'for reports';
            CREATE TABLE "Sales Dept".deal_log (at timestamptz, what text);
            CREATE RULE deal_log_rule AS ON DELETE TO "Sales Dept"."Deal" DO ALSO INSERT INTO "Sales Dept".deal_log VALUES (now(), 'deleted ' || OLD.id);
            CREATE PUBLICATION deals FOR TABLE "Sales Dept"."Deal";
            CREATE UNLOGGED TABLE "Sales Dept".cache (k text PRIMARY KEY, v text);

            CREATE TABLE events (id bigint GENERATED ALWAYS AS IDENTITY, tenant int NOT NULL, at date NOT NULL, body text,
                                 PRIMARY KEY (id, tenant, at)) PARTITION BY LIST (tenant);
            CREATE TABLE events_t1 PARTITION OF events FOR VALUES IN (1) PARTITION BY RANGE (at);
            CREATE TABLE events_t1_2024 PARTITION OF events_t1 FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');
            CREATE TABLE events_t1_rest PARTITION OF events_t1 DEFAULT;
            CREATE TABLE events_t2 PARTITION OF events FOR VALUES IN (2);
            CREATE TABLE event_notes (id serial PRIMARY KEY, event_id bigint, tenant int, at date, note text,
                                      FOREIGN KEY (event_id, tenant, at) REFERENCES events (id, tenant, at));

            CREATE TABLE animals (id serial PRIMARY KEY, name text);
            CREATE TABLE dogs (bark text) INHERITS (animals);
            CREATE TABLE puppies (age int CHECK (age < 2)) INHERITS (dogs);

            INSERT INTO "Sales Dept"."Team" VALUES (1, 'north', NULL), (2, 'south', NULL);
            INSERT INTO "Sales Dept"."Person" VALUES (1, 'Ann', 1, NULL), (2, 'Bob', 1, 1), (3, 'Cy', 2, 1);
            UPDATE "Sales Dept"."Team" SET lead_id = id;
            INSERT INTO "Sales Dept"."Deal" (amount, person_id, "select") SELECT g, 1 + g % 3, 'tab	and ''quote'' \\ backslash' FROM generate_series(1, 300) g;
            INSERT INTO "Sales Dept".cache VALUES ('a', 'b');
            INSERT INTO events (tenant, at, body) SELECT 1 + g % 2, date '2023-12-01' + g % 90, 'e' || g FROM generate_series(1, 500) g;
            INSERT INTO event_notes (event_id, tenant, at, note) SELECT id, tenant, at, 'n' FROM events WHERE id % 10 = 0;
            INSERT INTO animals (name) VALUES ('generic');
            INSERT INTO dogs (name, bark) VALUES ('rex', 'woof'), ('fido', 'wuff');
            INSERT INTO puppies (name, bark, age) VALUES ('bit', 'yip', 1);
            """;

    static LocalPostgres pg;
    static Store store;
    static Path storeDir;
    static DbTarget oracle;
    static int copies;

    @BeforeAll
    static void seal() throws IOException {
        pg = Fixtures.source(null);
        Fixtures.sql(pg.target("postgres"), "CREATE DATABASE golden");
        DbTarget golden = pg.target("golden");
        Fixtures.sql(golden, SCHEMA);
        storeDir = Files.createTempDirectory("surgical-edge-");
        store = new FileStore(storeDir);
        new Sealer(Fixtures.TOOLS, Progress.SILENT).seal(Fixtures.request(golden, store, TAG));
        Fixtures.sql(pg.target("postgres"), "CREATE DATABASE oracle");
        oracle = pg.target("oracle");
        Path dir = Files.createTempDirectory("surgical-edge-oracle-");
        Path archive = Archives.download(store, Archives.manifest(store, TAG), dir, Progress.SILENT);
        PgTools.Result r = PgTools.run(List.of(Fixtures.TOOLS.path("pg_restore"), "--exit-on-error", "--dbname=oracle",
                archive.toString()), oracle.libpqEnv());
        assertEquals(0, r.exitCode(), r.stderr());
        Driller.deleteTree(dir);
    }

    @AfterAll
    static void stop() {
        pg.close();
        Driller.deleteTree(storeDir);
    }

    static synchronized DbTarget copy() {
        String name = "edge_" + (++copies);
        Fixtures.sql(pg.target("postgres"), "CREATE DATABASE " + name + " TEMPLATE golden");
        return pg.target(name);
    }

    static Restorer.Report replace(DbTarget db, String... tables) {
        return new Restorer(Fixtures.TOOLS, Progress.SILENT)
                .restore(new Restorer.Request(store, TAG, List.of(tables), db, Restorer.Mode.REPLACE, TAG, null));
    }

    static Restorer.Report sideBySide(DbTarget db, String... tables) {
        return new Restorer(Fixtures.TOOLS, Progress.SILENT)
                .restore(new Restorer.Request(store, TAG, List.of(tables), db, Restorer.Mode.SIDE_BY_SIDE, null, null));
    }

    static void assertLikeOracle(DbTarget db, String... tables) {
        for (String t : tables) {
            assertEquals(definition(oracle, t), definition(db, t), "definition of " + t);
            boolean partitioned = "p".equals(query(db, "SELECT relkind FROM pg_class WHERE oid = '" + t + "'::regclass"));
            assertEquals(content(oracle, t, partitioned), content(db, t, partitioned), "content of " + t);
        }
    }

    static Map<String, String> everything(DbTarget db) {
        Map<String, String> sums = new TreeMap<>();
        for (String t : list(db, "SELECT format('%I.%I', n.nspname, c.relname) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                + "WHERE c.relkind IN ('r', 'm') AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_toast%'")) {
            sums.put(t, content(db, t, false));
        }
        return sums;
    }

    @Test
    void quotedNamesAForeignKeyCycleAndASelfReferenceReplacedTogether() {
        DbTarget db = copy();
        Fixtures.sql(db, """
                SET CONSTRAINTS ALL DEFERRED;
                UPDATE "Sales Dept"."Person" SET "Full Name" = 'oops';
                DELETE FROM "Sales Dept"."Deal" WHERE id > 100;
                """);
        String log = query(db, "SELECT count(*) FROM \"Sales Dept\".deal_log");
        Restorer.Report report = replace(db, "\"Sales Dept\".\"Team\"", "\"Sales Dept\".\"Person\"", "\"Sales Dept\".\"Deal\"");
        assertTrue(report.allMatch(), report.toString());
        assertLikeOracle(db, "\"Sales Dept\".\"Team\"", "\"Sales Dept\".\"Person\"", "\"Sales Dept\".\"Deal\"");
        assertEquals(log, query(db, "SELECT count(*) FROM \"Sales Dept\".deal_log"), "TRUNCATE fires no rule on DELETE");
        Fixtures.sql(db, "INSERT INTO \"Sales Dept\".\"Deal\" (amount) VALUES (1)");
    }

    @Test
    void droppedTableWithQuotedNamesComesBackWithRuleStatisticsCommentsAndPublication() {
        DbTarget db = copy();
        Fixtures.sql(db, "DROP TABLE \"Sales Dept\".\"Deal\"");
        Restorer.Report report = replace(db, "\"Sales Dept\".\"Deal\"");
        assertTrue(report.allMatch(), report.toString());
        assertLikeOracle(db, "\"Sales Dept\".\"Deal\"");
        assertEquals("1", query(db, "SELECT count(*) FROM pg_publication_tables WHERE pubname = 'deals'"));
        assertEquals("1", query(db, "SELECT count(*) FROM pg_statistic_ext WHERE stxname = 'deal_stats'"));
        Fixtures.sql(db, "INSERT INTO \"Sales Dept\".\"Deal\" (amount) VALUES (1)");
    }

    @Test
    void subPartitionedTableDroppedAndAForeignKeyIntoItComeBack() {
        DbTarget db = copy();
        Fixtures.sql(db, "DROP TABLE events CASCADE");
        Restorer.Report report = replace(db, "public.events");
        assertTrue(report.allMatch(), report.toString());
        assertLikeOracle(db, "public.events", "public.events_t1", "public.events_t1_2024", "public.events_t1_rest", "public.events_t2",
                "public.event_notes");
        Fixtures.sql(db, "INSERT INTO events (tenant, at) VALUES (1, '2024-02-02')");
    }

    @Test
    void subPartitionDroppedAloneIsAttachedToItsParent() {
        DbTarget db = copy();
        Fixtures.sql(db, "ALTER TABLE event_notes DROP CONSTRAINT event_notes_event_id_tenant_at_fkey; DROP TABLE events_t1_2024");
        replace(db, "public.events_t1_2024", "public.event_notes");
        assertLikeOracle(db, "public.events_t1_2024", "public.events_t1", "public.event_notes");
    }

    @Test
    void referencedPartitionedTableRefilledTogetherWithTheTableReferencingIt() {
        DbTarget db = copy();
        Fixtures.sql(db, "DELETE FROM event_notes; DELETE FROM events WHERE tenant = 2");
        CheckpointException blocked = assertThrows(CheckpointException.class, () -> replace(db, "public.events"));
        assertTrue(blocked.getMessage().contains("public.event_notes"), blocked.getMessage());
        replace(db, "public.events", "public.event_notes");
        assertLikeOracle(db, "public.events", "public.events_t1_2024", "public.events_t2", "public.event_notes");
    }

    @Test
    void inheritanceTreeDroppedWholeComesBackWhenNamed() {
        DbTarget db = copy();
        Fixtures.sql(db, "DROP TABLE animals CASCADE");
        Restorer.Report report = replace(db, "public.animals", "public.dogs", "public.puppies");
        assertTrue(report.allMatch(), report.toString());
        assertLikeOracle(db, "public.animals", "public.dogs", "public.puppies");
        Fixtures.sql(db, "INSERT INTO puppies (name, age) VALUES ('new', 1)");
        assertEquals("5", query(db, "SELECT max(id) FROM puppies"), "the sequence the children share moved past every restored row");
    }

    @Test
    void droppedChildOfALiveParentAndUnloggedTable() {
        DbTarget db = copy();
        Fixtures.sql(db, "DROP TABLE puppies; DROP TABLE \"Sales Dept\".cache");
        replace(db, "public.puppies", "\"Sales Dept\".cache");
        assertLikeOracle(db, "public.puppies", "public.dogs", "\"Sales Dept\".cache");
    }

    @Test
    void sideBySideOfQuotedSubPartitionedAndThreeLevelInheritance() {
        DbTarget db = copy();
        Map<String, String> before = everything(db);
        Restorer.Report report = sideBySide(db, "\"Sales Dept\".\"Deal\"", "public.events", "public.puppies", "public.dogs");
        assertTrue(report.allMatch(), report.toString());
        Map<String, String> after = everything(db);
        after.keySet().removeIf(k -> k.startsWith("restored_"));
        assertEquals(before, after);
        assertEquals(content(oracle, "\"Sales Dept\".\"Deal\"", false), content(db, "restored_edge_1.\"Deal\"", false));
        assertEquals(content(oracle, "public.events", true), content(db, "restored_edge_1.events", true));
        assertEquals(content(oracle, "public.puppies", false), content(db, "restored_edge_1.puppies", false));
        assertEquals("dogs", query(db, "SELECT inhparent::regclass::text FROM pg_inherits WHERE inhrelid = 'restored_edge_1.puppies'::regclass")
                .replace("restored_edge_1.", ""), "restored together, the child keeps its restored parent");
        assertEquals("0", query(db, "SELECT count(*) FROM pg_class WHERE relname LIKE 'pgcheckpoint_parent%'"));
    }
}
