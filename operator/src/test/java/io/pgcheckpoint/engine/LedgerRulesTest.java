package io.pgcheckpoint.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** What the ledger promises for materialized views, row-level security and roles that cannot read everything. */
class LedgerRulesTest {
    static final String PASSWORD = "rules-Pa55";
    static LocalPostgres pg;
    static DbTarget app;

    @BeforeAll
    static void start() {
        pg = Fixtures.source(PASSWORD);
        app = pg.target("app");
    }

    @AfterAll
    static void stop() {
        pg.close();
    }

    private static DbTarget as(String user, String password) {
        return new DbTarget(app.host(), app.port(), user, password, "app", "disable", Map.of());
    }

    @Test
    void aStaleMaterializedViewDoesNotFailTheDrill(@TempDir Path dir) {
        Fixtures.sql(app, """
                CREATE TABLE sales (id int, amount numeric);
                INSERT INTO sales SELECT g, g FROM generate_series(1, 3) g;
                CREATE MATERIALIZED VIEW sales_mv AS SELECT * FROM sales;
                INSERT INTO sales SELECT g, g FROM generate_series(4, 5) g;
                """);
        try (Store store = new FileStore(dir)) {
            Manifest m = new Sealer(Fixtures.TOOLS, Progress.SILENT).seal(Fixtures.request(app, store, "stale-mv"));
            // the archive holds no view rows, so the ledger counts none: it lists the view for the drill
            assertFalse(Fixtures.ledger(m).containsKey("public.sales_mv"));
            assertEquals(List.of(new Ledger.View("public", "sales_mv")), m.ledger().views());
            DrillReport report = new Driller(Fixtures.TOOLS, Progress.SILENT).drill(store, "stale-mv", null, 2);
            assertTrue(report.proven(), () -> "a stale view failed the drill: " + report.mismatches());
            assertEquals(1, report.viewsRefreshed());
        } finally {
            Fixtures.sql(app, "DROP MATERIALIZED VIEW sales_mv; DROP TABLE sales");
        }
    }

    @Test
    void aMaterializedViewWhoseRefreshFailsFailsTheDrill(@TempDir Path dir) {
        // the stored rows are fine, but the view's query fails on the snapshot's data: a restore would fail too
        Fixtures.sql(app, """
                CREATE TABLE divisors (d int);
                INSERT INTO divisors VALUES (1), (2);
                CREATE MATERIALIZED VIEW inverses AS SELECT 10 / d AS q FROM divisors;
                INSERT INTO divisors VALUES (0);
                """);
        try (Store store = new FileStore(dir)) {
            new Sealer(Fixtures.TOOLS, Progress.SILENT).seal(Fixtures.request(app, store, "bad-mv"));
            CheckpointException e = assertThrows(CheckpointException.class,
                    () -> new Driller(Fixtures.TOOLS, Progress.SILENT).drill(store, "bad-mv", null, 2));
            assertEquals("drill.restore", e.code());
            assertTrue(e.getMessage().contains("division by zero"), e.getMessage());
        } finally {
            Fixtures.sql(app, "DROP MATERIALIZED VIEW inverses; DROP TABLE divisors");
        }
    }

    @Test
    void diffCountsPastRowLevelSecurityOrRefuses() {
        Fixtures.sql(app, """
                CREATE ROLE tenant LOGIN PASSWORD 'tenant-pw';
                CREATE ROLE keeper LOGIN PASSWORD 'keeper-pw';
                CREATE TABLE notes (id int, owner text);
                INSERT INTO notes SELECT g, CASE WHEN g % 2 = 0 THEN 'tenant' ELSE 'other' END FROM generate_series(1, 100) g;
                ALTER TABLE notes ENABLE ROW LEVEL SECURITY;
                CREATE POLICY mine ON notes USING (owner = current_user);

                CREATE TABLE kept (id int);
                INSERT INTO kept SELECT generate_series(1, 100);
                ALTER TABLE kept OWNER TO keeper;
                ALTER TABLE kept ENABLE ROW LEVEL SECURITY;
                CREATE POLICY none ON kept USING (false);
                GRANT SELECT ON notes, kept TO tenant;
                """);
        try (Store store = new FileStore(Files.createTempDirectory("diff-rls"))) {
            new Sealer(Fixtures.TOOLS, Progress.SILENT).seal(Fixtures.request(app, store, "rls"));
            Manifest m = Archives.manifest(store, "rls");
            // a role limited by a policy must not report a mass delete that never happened
            // (counted under its policies it saw notes 100 -> 50 and kept 100 -> 0)
            CheckpointException e = assertThrows(CheckpointException.class, () -> Differ.diff(m, as("tenant", "tenant-pw")));
            assertEquals("database.row-security", e.code());
            assertTrue(e.getMessage().contains("public.notes"), e.getMessage());
            // the owner of an RLS table (without FORCE) sees every row with row_security off
            Fixtures.sql(app, "GRANT SELECT ON ALL TABLES IN SCHEMA public TO keeper; ALTER TABLE notes OWNER TO keeper");
            Differ.Report r = Differ.diff(m, as("keeper", "keeper-pw"));
            assertTrue(r.clean(), "nothing missing, new or changed: " + r);
            assertEquals(2, r.unchanged(), "both RLS tables counted whole: " + r);
        } catch (java.io.IOException e) {
            throw new IllegalStateException(e);
        } finally {
            Fixtures.sql(app, "DROP TABLE notes; DROP TABLE kept; DROP OWNED BY tenant; DROP OWNED BY keeper; DROP ROLE tenant; DROP ROLE keeper");
        }
    }

    /**
     * A managed-service role: owns its tables (one with RLS), cannot read the platform's schemas.
     * The seal refuses before dumping, names everything it cannot read and says what to exclude.
     */
    @Test
    void aRoleThatCannotReadPlatformSchemasIsToldWhatToExcludeBeforeAnythingIsDumped(@TempDir Path dir) {
        Fixtures.sql(app, """
                CREATE ROLE platform NOLOGIN;
                CREATE ROLE appowner LOGIN PASSWORD 'appowner-pw';
                CREATE SCHEMA auth AUTHORIZATION platform;
                CREATE TABLE auth.users (id int);
                INSERT INTO auth.users VALUES (1), (2);
                ALTER TABLE auth.users OWNER TO platform;
                CREATE SCHEMA storage AUTHORIZATION platform;
                CREATE TABLE storage.objects (id int);
                ALTER TABLE storage.objects OWNER TO platform;
                GRANT USAGE ON SCHEMA storage TO appowner;
                CREATE SCHEMA shop AUTHORIZATION appowner;
                SET ROLE appowner;
                CREATE TABLE shop.orders (id int);
                INSERT INTO shop.orders SELECT generate_series(1, 50);
                CREATE TABLE shop.profiles (id int, owner text);
                INSERT INTO shop.profiles SELECT g, 'u' || g FROM generate_series(1, 20) g;
                ALTER TABLE shop.profiles ENABLE ROW LEVEL SECURITY;
                CREATE POLICY own ON shop.profiles USING (owner = current_user);
                RESET ROLE;
                """);
        DbTarget owner = as("appowner", "appowner-pw");
        try (Store store = new FileStore(dir)) {
            CheckpointException e = assertThrows(CheckpointException.class,
                    () -> new Sealer(Fixtures.TOOLS, Progress.SILENT).seal(Fixtures.request(owner, store, "managed")));
            assertEquals("database.unreadable", e.code(), e.getMessage());
            assertTrue(e.getMessage().contains("auth"), e.getMessage());
            assertTrue(e.getMessage().contains("storage.objects"), e.getMessage());
            assertTrue(e.getMessage().contains("--exclude-schema auth"), e.getMessage());
            assertTrue(e.getMessage().contains("--exclude-table storage.objects"), e.getMessage());
            assertTrue(e.getMessage().contains("excludeSchemas"), e.getMessage());
            assertFalse(dir.resolve("managed").toFile().exists(), "nothing was written before the refusal");

            Exclusions platform = new Exclusions(List.of("auth"), List.of("storage.objects"));
            Manifest m = new Sealer(Fixtures.TOOLS, Progress.SILENT)
                    .seal(new Sealer.Request(owner, store, "managed", null, null, 1, platform));
            assertEquals(50L, Fixtures.ledger(m).get("shop.orders"));
            assertEquals(20L, Fixtures.ledger(m).get("shop.profiles"), "the owner counts its RLS table past its policy");
            assertTrue(new Driller(Fixtures.TOOLS, Progress.SILENT).drill(store, "managed", null, 2).proven());
        } finally {
            Fixtures.sql(app, "DROP SCHEMA auth CASCADE; DROP SCHEMA storage CASCADE; DROP SCHEMA shop CASCADE;"
                    + "DROP ROLE platform; DROP ROLE appowner");
        }
    }
}
