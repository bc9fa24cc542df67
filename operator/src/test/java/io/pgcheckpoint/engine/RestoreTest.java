package io.pgcheckpoint.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A bad migration, the damage report, and the surgical way back. */
class RestoreTest {
    LocalPostgres pg;
    DbTarget app;
    Store store;

    @BeforeEach
    void seal(@TempDir Path dir) {
        pg = Fixtures.source(null);
        app = pg.target("app");
        Fixtures.sql(app, """
                CREATE TABLE customers (id serial PRIMARY KEY, email text UNIQUE NOT NULL);
                CREATE TABLE orders (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                                     customer_id int NOT NULL REFERENCES customers(id), total numeric NOT NULL);
                CREATE INDEX orders_customer ON orders (customer_id);
                CREATE TABLE "Audit Log" (at timestamptz DEFAULT now(), what text);
                INSERT INTO customers (email) SELECT 'c' || g || '@example.com' FROM generate_series(1, 200) g;
                INSERT INTO orders (customer_id, total) SELECT 1 + g % 200, g FROM generate_series(1, 5000) g;
                INSERT INTO "Audit Log" (what) SELECT 'event ' || g FROM generate_series(1, 50) g;
                """);
        store = new FileStore(dir);
        new Sealer(Fixtures.TOOLS, Progress.SILENT).seal(Fixtures.request(app, store, "pre-deploy-7"));
    }

    @AfterEach
    void stop() {
        pg.close();
    }

    private Restorer.Report restore(Restorer.Mode mode, String confirm, String... tables) {
        return new Restorer(Fixtures.TOOLS, Progress.SILENT)
                .restore(new Restorer.Request(store, "pre-deploy-7", List.of(tables), app, mode, confirm, null));
    }

    @Test
    void diffNamesTheDamageAndReplaceBringsDroppedAndDamagedTablesBack() {
        Fixtures.sql(app, """
                DROP TABLE orders;
                UPDATE customers SET email = 'oops' || id WHERE id > 100;
                DELETE FROM "Audit Log" WHERE what LIKE 'event 1%';
                CREATE TABLE new_feature (id int);
                """);
        Differ.Report diff = Differ.diff(Archives.manifest(store, "pre-deploy-7"), app);
        assertEquals(List.of("public.orders"), diff.missing());
        assertEquals(List.of("public.new_feature"), diff.added());
        assertEquals(1, diff.changed().size());
        assertEquals("public.Audit Log", diff.changed().get(0).table());
        assertEquals(50 - 11, diff.changed().get(0).liveRows());

        CheckpointException unconfirmed = assertThrows(CheckpointException.class,
                () -> restore(Restorer.Mode.REPLACE, "wrong", "public.orders"));
        assertEquals("restore.unconfirmed", unconfirmed.code());

        Restorer.Report report = restore(Restorer.Mode.REPLACE, "pre-deploy-7", "public.orders", "customers", "\"public\".\"Audit Log\"");
        assertTrue(report.allMatch(), report.toString());
        assertEquals(5000L, Fixtures.count(app, "SELECT count(*) FROM orders"));
        assertEquals(0L, Fixtures.count(app, "SELECT count(*) FROM customers WHERE email LIKE 'oops%'"));
        assertEquals(50L, Fixtures.count(app, "SELECT count(*) FROM \"Audit Log\""));
        // the dropped table came back whole: identity, primary key, foreign key and index
        Fixtures.sql(app, "INSERT INTO orders (customer_id, total) VALUES (1, 1)");
        assertEquals(5001L, Fixtures.count(app, "SELECT max(id) FROM orders"));
        assertEquals(1L, Fixtures.count(app, "SELECT count(*) FROM pg_indexes WHERE indexname = 'orders_customer'"));
        assertEquals(1L, Fixtures.count(app, "SELECT count(*) FROM pg_constraint WHERE conrelid = 'orders'::regclass AND contype = 'f'"));
        assertThrows(IllegalStateException.class, () -> Fixtures.sql(app, "INSERT INTO orders (customer_id, total) VALUES (999, 1)"));
        assertTrue(Differ.diff(Archives.manifest(store, "pre-deploy-7"), app).missing().isEmpty());
    }

    @Test
    void sideBySideLeavesLiveDataAlone() {
        Fixtures.sql(app, "UPDATE customers SET email = 'oops' || id WHERE id <= 10; DELETE FROM orders WHERE id > 4000;");
        Restorer.Report report = restore(Restorer.Mode.SIDE_BY_SIDE, null, "public.customers", "public.orders");
        assertTrue(report.allMatch(), report.toString());
        assertEquals("restored_pre_deploy_7.orders", report.tables().get(1).restoredAs());
        assertEquals(5000L, Fixtures.count(app, "SELECT count(*) FROM restored_pre_deploy_7.orders"));
        assertEquals(4000L, Fixtures.count(app, "SELECT count(*) FROM public.orders"));
        assertEquals(10L, Fixtures.count(app, "SELECT count(*) FROM public.customers WHERE email LIKE 'oops%'"));
        // a person can now copy the lost rows back
        Fixtures.sql(app, "INSERT INTO public.orders OVERRIDING SYSTEM VALUE SELECT * FROM restored_pre_deploy_7.orders WHERE id > 4000");
        assertEquals(5000L, Fixtures.count(app, "SELECT count(*) FROM public.orders"));
        // restoring again into the same schema is refused rather than mixed
        assertEquals("restore.exists", assertThrows(CheckpointException.class,
                () -> restore(Restorer.Mode.SIDE_BY_SIDE, null, "public.orders")).code());
    }

    @Test
    void unknownTableIsNamedWithSuggestions() {
        CheckpointException e = assertThrows(CheckpointException.class,
                () -> restore(Restorer.Mode.SIDE_BY_SIDE, null, "public.order"));
        assertEquals("restore.unknown-table", e.code());
        assertTrue(e.getMessage().contains("did you mean public.orders"), e.getMessage());
    }

    @Test
    void namesAreDataToTheServerWhateverItsStringSettings() {
        // with standard_conforming_strings off, a backslash in a literal is an escape: a name spliced
        // into SQL as a literal means another table; a bind parameter means this one
        Fixtures.sql(app, "CREATE TABLE \"back\\slash\" (id int); INSERT INTO \"back\\slash\" SELECT generate_series(1, 7);");
        new Sealer(Fixtures.TOOLS, Progress.SILENT).seal(Fixtures.request(app, store, "backslash-1"));
        Fixtures.sql(app, "DELETE FROM \"back\\slash\" WHERE id > 3; ALTER DATABASE app SET standard_conforming_strings = off");
        Restorer.Report report = new Restorer(Fixtures.TOOLS, Progress.SILENT).restore(new Restorer.Request(store, "backslash-1",
                List.of("public.\"back\\slash\""), app, Restorer.Mode.REPLACE, "backslash-1", null));
        assertTrue(report.allMatch(), report.toString());
        assertEquals(7L, Fixtures.count(app, "SELECT count(*) FROM \"back\\slash\""));
    }
}
