package io.pgcheckpoint.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The drill counts a table as soon as pg_restore says its TABLE DATA item finished: the lines of
 * pg_restore 15, 17 and 18, and which tables may be counted early at all.
 */
class DataLoadsTest {
    /** A table and its item, as {@code pg_restore --list} prints them. */
    private static Toc.Entry item(int id, String label) {
        return new Toc.Entry(id, 0, 16385, "TABLE DATA", label, id + "; 0 16385 TABLE DATA " + label);
    }

    private static Ledger.Entry table(String schema, String name, String kind) {
        return new Ledger.Entry(schema, name, kind, 1);
    }

    @Test
    void theLeadersFinishedLineNamesTheItemAndOthersAreNotTakenForIt() {
        assertEquals(Optional.of(new DataLoads.Finished(3355, "c d")),
                DataLoads.finished("pg_restore: finished item 3355 TABLE DATA c d"));
        // a worker's line says the load began, not that it is committed
        assertEquals(Optional.empty(), DataLoads.finished("pg_restore: processing data for table \"a b.c d\""));
        assertEquals(Optional.empty(), DataLoads.finished("pg_restore: launching item 3355 TABLE DATA c d"));
        assertEquals(Optional.empty(), DataLoads.finished("pg_restore: finished item 3211 CONSTRAINT c d c d_pkey"));
        // a translated pg_restore is not understood: its tables are counted after the restore
        assertEquals(Optional.empty(), DataLoads.finished("pg_restore: Element 3355 TABLE DATA c d beendet"));
        assertEquals(Optional.empty(), DataLoads.finished("pg_restore: finished item 99999999999 TABLE DATA c d"));
    }

    @Test
    void onlyTablesTheListNamesUnambiguouslyAndNoPartitionsAreCountedEarly() {
        Ledger.Entry spaced = table("a b", "c d", "table");
        Ledger.Entry plain = table("public", "orders", "table");
        Ledger.Entry partition = table("public", "m1", "partition");
        Ledger.Entry child = table("public", "dogs", "inheritance child");
        // "x y z owner" fits both x."y z" and "x y".z: neither is counted early
        Ledger.Entry left = table("x", "y z", "table");
        Ledger.Entry right = table("x y", "z", "table");
        Ledger.Entry noOwner = table("public", "lonely", "table");
        List<Ledger.Entry> ledger = List.of(spaced, plain, partition, child, left, right, noOwner);
        Map<Integer, Ledger.Entry> countable = DataLoads.countable(List.of(item(1, "a b c d postgres"),
                item(2, "public orders app owner"), item(3, "public m1 postgres"), item(4, "public dogs postgres"),
                item(5, "x y z postgres"), item(6, "public lonely"), item(7, "public not_in_ledger postgres"),
                new Toc.Entry(8, 1259, 16385, "TABLE", "public orders postgres", "8; 1259 16385 TABLE public orders postgres")),
                ledger);
        assertEquals(Map.of(1, spaced, 2, plain, 4, child, 6, noOwner), countable);

        assertEquals(Optional.of(spaced), DataLoads.loaded("pg_restore: finished item 1 TABLE DATA c d", countable));
        // the printed name must be the table's own
        assertEquals(Optional.empty(), DataLoads.loaded("pg_restore: finished item 2 TABLE DATA invoices", countable));
        assertEquals(Optional.empty(), DataLoads.loaded("pg_restore: finished item 3 TABLE DATA m1", countable));
    }

    @Test
    void aTableWithTwoDataItemsIsCountedAfterTheRestore() {
        Ledger.Entry t = table("public", "t", "table");
        assertEquals(Map.of(), DataLoads.countable(List.of(item(1, "public t postgres"), item(2, "public t postgres")), List.of(t)));
    }

    /**
     * Real restores: an archive of pg_dump 15 restored with --jobs=2 --verbose by pg_restore 15,
     * 17 and 18 into a PostgreSQL 18 server; each says, for every table that may be counted
     * early, that its data item finished, and only after its rows are in.
     */
    @Test
    void pgRestore15And17And18SayWhenEveryTablesDataIsIn(@TempDir Path dir) throws Exception {
        try (LocalPostgres source = Fixtures.source(null);
             LocalPostgres server = LocalPostgres.start(PgMajors.only(18), Progress.SILENT)) {
            Fixtures.sql(source.target("app"), """
                    CREATE SCHEMA "a b";
                    CREATE TABLE "a b"."c d" (id int PRIMARY KEY);
                    INSERT INTO "a b"."c d" SELECT generate_series(1, 20000);
                    CREATE TABLE "Mixed ""Case\""" (x text);
                    CREATE INDEX ON "Mixed ""Case\""" (x);
                    INSERT INTO "Mixed ""Case\""" SELECT md5(g::text) FROM generate_series(1, 30000) g;
                    CREATE TABLE m (id int, at int) PARTITION BY RANGE (at);
                    CREATE TABLE m1 PARTITION OF m FOR VALUES FROM (0) TO (10);
                    INSERT INTO m VALUES (1, 1);
                    CREATE TABLE animals (id int);
                    CREATE TABLE dogs (breed text) INHERITS (animals);
                    INSERT INTO dogs VALUES (1, 'terrier');
                    CREATE TABLE empty_one (id int);
                    """);
            Manifest m;
            try (Store store = new FileStore(dir.resolve("store"))) {
                m = new Sealer(Fixtures.TOOLS, Progress.SILENT).seal(Fixtures.request(source.target("app"), store, "t"));
            }
            Path archive = dir.resolve("store/t/archive.dump");
            for (int major : List.of(15, 17, 18)) {
                PgTools tools = PgMajors.only(major);
                Map<Integer, Ledger.Entry> countable = DataLoads.countable(new Toc(tools, archive).entries(), m.ledger().tables());
                Set<String> expected = new HashSet<>(List.of("a b.c d", "public.Mixed \"Case\"", "public.animals",
                        "public.dogs", "public.empty_one"));
                assertEquals(expected, names(countable.values()), "pg_restore " + major + " --list");

                String db = "r" + major;
                Fixtures.sql(server.target("postgres"), "CREATE DATABASE " + db);
                DbTarget target = server.target(db);
                List<String> said = new ArrayList<>();
                Map<String, Long> rowsWhenSaid = new ConcurrentHashMap<>();
                ProcessBuilder pb = new ProcessBuilder(tools.path("pg_restore"), "--jobs=2", "--verbose", "--exit-on-error",
                        "--no-owner", "--dbname=" + db, archive.toString());
                pb.environment().putAll(target.libpqEnv());
                Driller.messagesUntranslated(pb.environment());
                Process p = pb.start();
                PgTools.StderrTail err = PgTools.StderrTail.drain(p.getErrorStream(), line -> {
                    said.add(line);
                    DataLoads.loaded(line, countable).ifPresent(t -> rowsWhenSaid.put(t.display(),
                            Fixtures.count(target, "SELECT count(*) FROM ONLY " + t.qualifiedName())));
                });
                assertEquals(0, p.waitFor(), () -> err.text());
                err.text();
                assertEquals(expected, rowsWhenSaid.keySet(), "pg_restore " + major + " said: " + said);
                for (Ledger.Entry t : countable.values()) {
                    assertEquals(t.rows(), rowsWhenSaid.get(t.display()), "pg_restore " + major + ": " + t.display()
                            + " counted when its item was said to be finished");
                }
            }
        }
    }

    private static Set<String> names(java.util.Collection<Ledger.Entry> entries) {
        Set<String> names = new HashSet<>();
        for (Ledger.Entry e : entries) {
            names.add(e.display());
        }
        return names;
    }
}
