package io.pgcheckpoint.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.api.io.TempDir;

/**
 * Every major the project supports and tests (15 from this host's binaries, 17 and 18 in containers)
 * as the source of a checkpoint, on a machine with 15, 17 and 18 installed side by side: the seal
 * takes pg_dump of the source's major, the drill pg_restore of the archive's and a throwaway server
 * of the source's major, and the odd schema of {@link SealDrillTest} comes back with every count
 * equal; the same archive is proven in an empty database on the source's server, and tables are
 * restored from it into the source.
 */
class SourceMajorsTest {
    static List<Integer> majors() {
        return PgMajors.ALL;
    }

    @ParameterizedTest(name = "PostgreSQL {0}")
    @MethodSource("majors")
    void sealDrillAndRestoreOnTheSourcesOwnMajor(int major, @TempDir Path dir) {
        PgTools installed = PgMajors.installed();
        try (PgMajors.Source source = PgMajors.source(major, null); Store store = new FileStore(dir)) {
            DbTarget app = source.target("app");
            // SealDrillTest's odd schema; its big table a tenth as big (SealDrillTest has the 1M rows)
            Fixtures.sql(app, SealDrillTest.SCHEMA.replace("generate_series(1, 1000001)", "generate_series(1, 100001)"));
            Fixtures.sql(app, """
                    CREATE TABLE customers (id serial PRIMARY KEY, email text UNIQUE NOT NULL);
                    CREATE TABLE orders (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                                         customer_id int NOT NULL REFERENCES customers(id), total numeric NOT NULL);
                    INSERT INTO customers (email) SELECT 'c' || g || '@example.com' FROM generate_series(1, 200) g;
                    INSERT INTO orders (customer_id, total) SELECT 1 + g % 200, g FROM generate_series(1, 5000) g;
                    """);
            List<String> said = new ArrayList<>();
            Manifest m = new Sealer(installed, said::add).seal(Fixtures.request(app, store, "pre-deploy-" + major)
                    .withCompression(Compression.AUTO));
            assertEquals(major, m.serverMajor(), "the seal records the source's major");
            assertEquals(major, m.pgDumpMajor(), "pg_dump of the source's own major: " + m.pgDumpVersion());
            assertEquals((major >= 16 ? Compression.DEFAULT_MODERN : Compression.DEFAULT_LEGACY).toString(),
                    m.archive().compression());
            assertTrue(said.stream().anyMatch(s -> s.contains("dumping with pg_dump " + major + ".")), said.toString());

            Map<String, Long> ledger = Fixtures.ledger(m);
            assertEquals(500L, ledger.get("Mixed Case.Order Items"));
            assertEquals(3L, ledger.get("sch \"quoted\".tbl \"x\" y"));
            assertEquals(7L, ledger.get("ünïcødé.tåble ✓"));
            assertEquals(100_001L, ledger.get("public.big"));
            assertEquals(500L, ledger.get("public.measurements_2024") + ledger.get("public.measurements_2025"));
            assertEquals(4L, ledger.get("public.secrets"));
            assertEquals(3L, m.ledger().largeObjects());
            assertEquals(25 + 11 + 2, m.ledger().tableCount(), "tables only: the materialized view is listed apart");
            assertEquals(1, m.ledger().views().size());

            // a throwaway server of the source's major, from the binaries installed for it
            said.clear();
            DrillReport local = new Driller(installed, said::add).drill(store, "pre-deploy-" + major, null, 2);
            assertTrue(local.proven(), () -> "mismatches: " + local.mismatches());
            assertEquals(m.ledger().totalRows(), local.rowsChecked());
            assertEquals(3L, local.largeObjectsFound());
            assertEquals(major, PgTools.serverMajor(local.drillServerVersion()), local.drillServerVersion());
            assertEquals(major, PgTools.major(local.pgRestoreVersion()), local.pgRestoreVersion());
            assertTrue(local.notes().isEmpty(), local.notes().toString());
            assertFalse(said.stream().anyMatch(s -> s.contains("lowest installed major above")), said.toString());

            // an empty database on the source's own server
            Fixtures.sql(source.target("postgres"), "CREATE DATABASE drill_target");
            DrillReport onTarget = new Driller(installed, Progress.SILENT).drill(store, "pre-deploy-" + major,
                    source.target("drill_target"), 2);
            assertTrue(onTarget.proven(), () -> "mismatches: " + onTarget.mismatches());
            assertEquals(100_001L, Fixtures.count(source.target("drill_target"), "SELECT count(*) FROM big"));

            // a bad migration, and the tables back from the checkpoint
            Fixtures.sql(app, "DROP TABLE orders; UPDATE customers SET email = 'oops' || id WHERE id > 100;"
                    + " DELETE FROM \"Mixed Case\".\"Order Items\" WHERE id > 10");
            Restorer restorer = new Restorer(installed, Progress.SILENT);
            Restorer.Report replaced = restorer.restore(new Restorer.Request(store, "pre-deploy-" + major,
                    List.of("public.orders", "public.customers"), app, Restorer.Mode.REPLACE, "pre-deploy-" + major, null));
            assertTrue(replaced.allMatch(), replaced.toString());
            assertEquals(5000L, Fixtures.count(app, "SELECT count(*) FROM orders"));
            assertEquals(0L, Fixtures.count(app, "SELECT count(*) FROM customers WHERE email LIKE 'oops%'"));
            Fixtures.sql(app, "INSERT INTO orders (customer_id, total) VALUES (1, 1)");
            assertEquals(5001L, Fixtures.count(app, "SELECT max(id) FROM orders"), "the identity came back with the table");
            Restorer.Report aside = restorer.restore(new Restorer.Request(store, "pre-deploy-" + major,
                    List.of("\"Mixed Case\".\"Order Items\""), app, Restorer.Mode.SIDE_BY_SIDE, null, null));
            assertTrue(aside.allMatch(), aside.toString());
            assertEquals(500L, Fixtures.count(app, "SELECT count(*) FROM restored_pre_deploy_" + major + ".\"Order Items\""));
            assertEquals(10L, Fixtures.count(app, "SELECT count(*) FROM \"Mixed Case\".\"Order Items\""));

            // the parallel seal on the same major: its files carry the compression's own suffix
            // (.zst from pg_dump 16), its large objects that major's layout, and the drill proves it
            Manifest parallel = new Sealer(installed, Progress.SILENT).seal(Fixtures.request(app, store, "parallel-" + major)
                    .withCompression(Compression.AUTO).withJobs(2));
            assertEquals("directory", parallel.archive().format());
            String suffix = major >= 16 ? ".zst" : ".gz";
            assertTrue(parallel.archive().files().stream().filter(f -> f.name().matches("\\d+\\.dat.*"))
                    .allMatch(f -> f.name().endsWith(".dat" + suffix)), parallel.archive().files().toString());
            assertEquals(3L, parallel.ledger().largeObjects());
            DrillReport proven = new Driller(installed, Progress.SILENT).drill(store, "parallel-" + major, null, 2);
            assertTrue(proven.proven(), () -> "mismatches: " + proven.mismatches());
            assertEquals(parallel.ledger().totalRows(), proven.rowsChecked());
            assertEquals(3L, proven.largeObjectsFound());
        }
    }
}
