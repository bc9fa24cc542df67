package io.pgcheckpoint.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Extension configuration tables (pg_extension_config_dump, e.g. pg_cron's cron.job): pg_dump
 * dumps their rows with the extension's filter although they belong to an extension. The seal
 * locks and counts them like any table, with that filter, and the drill compares the same way.
 * The extension is a real one, installed into the server's extension directory for the test.
 */
class ExtensionConfigTest {
    static final String NAME = "pgck_config_test";
    static Path extensionDir;
    static LocalPostgres pg;
    static DbTarget app;

    @BeforeAll
    static void start() throws Exception {
        String share = PgTools.run(List.of(Fixtures.TOOLS.path("pg_config"), "--sharedir"), java.util.Map.of()).stdout().strip();
        extensionDir = Path.of(share, "extension");
        Files.writeString(extensionDir.resolve(NAME + ".control"),
                "comment = 'pgcheckpoint test: a configuration table'\ndefault_version = '1.0'\nrelocatable = false\nschema = public\n");
        // the extension ships two standard rows; users add their own, which pg_dump dumps through the filter
        Files.writeString(extensionDir.resolve(NAME + "--1.0.sql"), """
                CREATE TABLE job (id serial PRIMARY KEY, command text NOT NULL, standard boolean NOT NULL DEFAULT false);
                INSERT INTO job (command, standard) VALUES ('vacuum', true), ('analyze', true);
                SELECT pg_catalog.pg_extension_config_dump('job', 'WHERE NOT standard');
                """);
        pg = Fixtures.source("ext-pw");
        app = pg.target("app");
        Fixtures.sql(app, "CREATE EXTENSION " + NAME + ";"
                + "INSERT INTO job (command) SELECT 'user job ' || g FROM generate_series(1, 42) g;");
    }

    @AfterAll
    static void stop() throws Exception {
        pg.close();
        Files.deleteIfExists(extensionDir.resolve(NAME + ".control"));
        Files.deleteIfExists(extensionDir.resolve(NAME + "--1.0.sql"));
    }

    @Test
    void configurationRowsAreLockedCountedAndProven(@TempDir Path dir) throws Exception {
        try (Store store = new FileStore(dir)) {
            // a TRUNCATE right after the snapshot: the table is locked, so it waits (or the seal starts again after it)
            Progress truncateAtSnapshot = new Progress() {
                CompletableFuture<Void> truncate;

                @Override
                public synchronized void step(String message) {
                    if (message.contains("exported") && truncate == null) {
                        truncate = CompletableFuture.runAsync(() -> Fixtures.sql(app, "TRUNCATE job"));
                        try {
                            truncate.get(2, TimeUnit.SECONDS);
                        } catch (Exception e) {
                            // blocked by the seal's lock: expected
                        }
                    }
                }
            };
            Manifest m = new Sealer(Fixtures.TOOLS, truncateAtSnapshot).seal(Fixtures.request(app, store, "ext"));
            Ledger.Entry job = m.ledger().tables().stream().filter(e -> e.name().equals("job")).findFirst().orElseThrow();
            assertEquals("extension config", job.kind());
            assertEquals("WHERE NOT standard", job.filter());
            long live = Fixtures.count(app, "SELECT count(*) FROM job WHERE NOT standard");
            assertTrue(job.rows() == 42 || job.rows() == live, "the ledger counted " + job.rows() + " user rows");
            Fixtures.sql(app, "INSERT INTO job (command) SELECT 'again ' || g FROM generate_series(1, 42) g");
            DrillReport report = new Driller(Fixtures.TOOLS, Progress.SILENT).drill(store, "ext", null, 2);
            assertTrue(report.proven(), () -> "mismatches: " + report.mismatches());
        }
    }

    @Test
    void aLostConfigurationRowFailsTheDrill(@TempDir Path dir) throws Exception {
        try (Store store = new FileStore(dir)) {
            Fixtures.sql(app, "DELETE FROM job; INSERT INTO job (command) SELECT 'user job ' || g FROM generate_series(1, 42) g");
            Manifest m = new Sealer(Fixtures.TOOLS, Progress.SILENT).seal(Fixtures.request(app, store, "ext-off"));
            // the ledger says one row more than the archive holds
            List<Ledger.Entry> tables = m.ledger().tables().stream()
                    .map(e -> e.name().equals("job") ? new Ledger.Entry(e.schema(), e.name(), e.kind(), e.rows() + 1, e.filter()) : e)
                    .toList();
            Manifest off = new Manifest(m.formatVersion(), "ext-off2", m.commit(), m.reason(), m.database(), m.createdAt(),
                    m.snapshotTime(), m.serverVersion(), m.serverMajor(), m.pgDumpVersion(), m.archive(),
                    new Manifest.LedgerSummary(m.ledger().tableCount(), m.ledger().totalRows() + 1, m.ledger().largeObjects(),
                            tables, m.ledger().views()), m.timings(), m.excluded());
            Files.createDirectories(dir.resolve("ext-off2"));
            Files.copy(dir.resolve("ext-off/archive.dump"), dir.resolve("ext-off2/archive.dump"));
            store.putNew("ext-off2/manifest.json", Json.bytes(off));
            DrillReport report = new Driller(Fixtures.TOOLS, Progress.SILENT).drill(store, "ext-off2", null, 2);
            assertTrue(!report.proven() && report.mismatches().get(0).describe().contains("public.job: expected 43 rows, found 42"),
                    report.mismatches().toString());
        }
    }
}
