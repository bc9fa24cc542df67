package io.pgcheckpoint.engine;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Every fault ends in a named error and loses nothing: no half checkpoint, no overwritten one, no false proof. */
class FaultsTest {
    static final String PASSWORD = "s3cret-Pa55";
    static LocalPostgres pg;
    static DbTarget app;

    @BeforeAll
    static void start() {
        pg = Fixtures.source(PASSWORD);
        app = pg.target("app");
        Fixtures.sql(app, """
                CREATE TABLE orders (id serial PRIMARY KEY, total numeric);
                INSERT INTO orders (total) SELECT g FROM generate_series(1, 1000) g;
                CREATE TABLE big (id bigint, a text, b text);
                INSERT INTO big SELECT g, md5(g::text), md5((g * 7)::text) FROM generate_series(1, 1500000) g;
                """);
    }

    @AfterAll
    static void stop() {
        pg.close();
    }

    private static Sealer sealer() {
        return new Sealer(Fixtures.TOOLS, Progress.SILENT);
    }

    private static CheckpointException sealFails(DbTarget db, Store store, String tag) {
        return assertThrows(CheckpointException.class, () -> sealer().seal(Fixtures.request(db, store, tag)));
    }

    @Test
    void wrongPasswordIsAnAuthenticationError(@TempDir Path dir) {
        DbTarget wrong = new DbTarget(app.host(), app.port(), "postgres", "not-the-password", "app", "disable", Map.of());
        try (Store store = new FileStore(dir)) {
            CheckpointException e = sealFails(wrong, store, "t");
            assertEquals("connection.auth", e.code());
            assertTrue(e.getMessage().contains("authentication failed for user 'postgres'"), e.getMessage());
            assertFalse(e.getMessage().contains("not-the-password"), "the password must never appear in a message");
            assertTrue(store.listTags().isEmpty());
        }
    }

    @Test
    void unreachableHostsAreNamedByKind(@TempDir Path dir) throws Exception {
        try (Store store = new FileStore(dir)) {
            DbTarget dns = DbTarget.parse("postgresql://postgres:x@no-such-host.invalid:5432/app", Map.of());
            assertEquals("connection.dns", sealFails(dns, store, "t").code());
            DbTarget refused = DbTarget.parse("postgresql://postgres:x@127.0.0.1:" + TestS3.freePort() + "/app", Map.of());
            CheckpointException e = sealFails(refused, store, "t");
            assertEquals("connection.refused", e.code());
            assertTrue(e.getMessage().contains("is PostgreSQL running"), e.getMessage());
            DbTarget tls = new DbTarget(app.host(), app.port(), "postgres", PASSWORD, "app", "require", Map.of());
            assertEquals("connection.tls", sealFails(tls, store, "t").code());
        }
    }

    @Test
    void existingTagIsNeverOverwritten(@TempDir Path dir) throws Exception {
        try (Store store = new FileStore(dir)) {
            Manifest first = sealer().seal(Fixtures.request(app, store, "pre-deploy-1"));
            byte[] archive = Files.readAllBytes(dir.resolve("pre-deploy-1/archive.dump"));
            byte[] manifest = Files.readAllBytes(dir.resolve("pre-deploy-1/manifest.json"));
            CheckpointException e = sealFails(app, store, "pre-deploy-1");
            assertEquals("store.exists", e.code());
            assertTrue(e.getMessage().contains("never overwritten"), e.getMessage());
            assertArrayEquals(archive, Files.readAllBytes(dir.resolve("pre-deploy-1/archive.dump")));
            assertArrayEquals(manifest, Files.readAllBytes(dir.resolve("pre-deploy-1/manifest.json")));
            // even a direct write below the engine's check refuses to replace a checkpoint file
            assertEquals("store.exists", assertThrows(CheckpointException.class,
                    () -> store.putNew("pre-deploy-1/manifest.json", new byte[] {1})).code());
            assertEquals(first.archive().sha256(), Archives.manifest(store, "pre-deploy-1").archive().sha256());
        }
    }

    @Test
    void s3RefusesToReplaceAnExistingObject(@TempDir Path dir) throws Exception {
        try (TestS3 s3 = new TestS3(dir)) {
            s3.createBucket("bkt");
            try (Store store = Stores.open("s3://bkt/p", s3.settings())) {
                sealer().seal(Fixtures.request(app, store, "one"));
                assertEquals("store.exists", sealFails(app, store, "one").code());
                assertEquals("store.exists", assertThrows(CheckpointException.class,
                        () -> store.putNew("one/manifest.json", new byte[] {1})).code());
            }
        }
    }

    @Test
    void flippedByteFailsTheDrill(@TempDir Path dir) throws Exception {
        try (Store store = new FileStore(dir)) {
            sealer().seal(Fixtures.request(app, store, "tampered"));
            Path archive = dir.resolve("tampered/archive.dump");
            byte[] bytes = Files.readAllBytes(archive);
            bytes[bytes.length / 2] ^= 0x01;
            Files.write(archive, bytes);
            CheckpointException e = assertThrows(CheckpointException.class,
                    () -> new Driller(Fixtures.TOOLS, Progress.SILENT).drill(store, "tampered", null, 2));
            assertEquals("archive.checksum", e.code());
            assertTrue(e.getMessage().contains("does not match its manifest"), e.getMessage());
            DrillReport recorded = Json.read(store.read("tampered/drill.json").orElseThrow(), DrillReport.class);
            assertFalse(recorded.proven());
        }
    }

    @Test
    void ledgerOffByOneIsNamed(@TempDir Path dir) throws Exception {
        try (Store store = new FileStore(dir)) {
            Manifest m = sealer().seal(Fixtures.request(app, store, "off-by-one"));
            List<Ledger.Entry> tables = new ArrayList<>();
            for (Ledger.Entry e : m.ledger().tables()) {
                tables.add(e.name().equals("orders") ? new Ledger.Entry(e.schema(), e.name(), e.kind(), e.rows() + 1) : e);
            }
            Manifest lying = new Manifest(m.formatVersion(), m.tag(), m.commit(), m.reason(), m.database(), m.createdAt(),
                    m.snapshotTime(), m.serverVersion(), m.serverMajor(), m.pgDumpVersion(), m.archive(),
                    new Manifest.LedgerSummary(m.ledger().tableCount(), m.ledger().totalRows() + 1, m.ledger().largeObjects(), tables),
                    m.timings(), m.excluded());
            Files.write(dir.resolve("off-by-one/manifest.json"), Json.bytes(lying));
            DrillReport report = new Driller(Fixtures.TOOLS, Progress.SILENT).drill(store, "off-by-one", null, 2);
            assertFalse(report.proven());
            assertEquals(1, report.mismatches().size());
            assertEquals("public.orders: expected 1001 rows, found 1000", report.mismatches().get(0).describe());
        }
    }

    /**
     * big has no index, so the drill counts it while pg_restore still builds orders' primary key:
     * a count taken that early is compared like any other.
     */
    @Test
    void ledgerOffInATableCountedDuringTheRestoreIsNamed(@TempDir Path dir) throws Exception {
        try (Store store = new FileStore(dir)) {
            Manifest m = sealer().seal(Fixtures.request(app, store, "off-early"));
            List<Ledger.Entry> tables = new ArrayList<>();
            for (Ledger.Entry e : m.ledger().tables()) {
                tables.add(e.name().equals("big") ? new Ledger.Entry(e.schema(), e.name(), e.kind(), e.rows() - 1) : e);
            }
            Manifest lying = new Manifest(m.formatVersion(), m.tag(), m.commit(), m.reason(), m.database(), m.createdAt(),
                    m.snapshotTime(), m.serverVersion(), m.serverMajor(), m.pgDumpVersion(), m.archive(),
                    new Manifest.LedgerSummary(m.ledger().tableCount(), m.ledger().totalRows() - 1, m.ledger().largeObjects(), tables),
                    m.timings(), m.excluded());
            Files.write(dir.resolve("off-early/manifest.json"), Json.bytes(lying));
            List<String> said = new java.util.concurrent.CopyOnWriteArrayList<>();
            DrillReport report = new Driller(Fixtures.TOOLS, said::add).drill(store, "off-early", null, 2);
            assertTrue(said.stream().anyMatch(s -> s.contains("counted as soon as their data was in")), () -> "said: " + said);
            assertFalse(report.proven());
            assertEquals(1, report.mismatches().size());
            assertEquals("public.big: expected 1499999 rows, found 1500000", report.mismatches().get(0).describe());
        }
    }

    /** The dumping pg_dump, not the short-lived "pg_dump --version" the sealer runs first. */
    private static boolean isTheDump(ProcessHandle p) {
        return p.info().command().orElse("").endsWith("pg_dump")
                && java.util.Arrays.stream(p.info().arguments().orElse(new String[0])).anyMatch(a -> a.startsWith("--snapshot="));
    }

    @Test
    void pgDumpKilledMidDumpLeavesNothingAndEarlierCheckpointsUntouched(@TempDir Path dir) throws Exception {
        try (Store store = new FileStore(dir)) {
            sealer().seal(Fixtures.request(app, store, "good"));
            byte[] goodArchive = Files.readAllBytes(dir.resolve("good/archive.dump"));
            CompletableFuture<Manifest> seal = CompletableFuture.supplyAsync(() -> sealer().seal(Fixtures.request(app, store, "killed")));
            ProcessHandle dump = null;
            long deadline = System.currentTimeMillis() + 20_000;
            while (dump == null && System.currentTimeMillis() < deadline) {
                dump = ProcessHandle.current().descendants().filter(FaultsTest::isTheDump).findFirst().orElse(null);
                Thread.sleep(20);
            }
            assertTrue(dump != null, "pg_dump never started");
            Thread.sleep(300); // let it write part of the archive
            dump.destroyForcibly();
            Exception e = assertThrows(Exception.class, () -> seal.get(60, TimeUnit.SECONDS));
            CheckpointException ce = (CheckpointException) e.getCause();
            assertEquals("dump.failed", ce.code());
            assertTrue(ce.getMessage().contains("pg_dump was killed"), ce.getMessage());
            assertFalse(store.exists("killed/manifest.json"));
            assertFalse(store.exists("killed/archive.dump"));
            assertFalse(Files.exists(dir.resolve("killed")), "no partial file, nor an empty tag directory, may remain");
            assertArrayEquals(goodArchive, Files.readAllBytes(dir.resolve("good/archive.dump")));
            assertTrue(new Driller(Fixtures.TOOLS, Progress.SILENT).drill(store, "good", null, 2).proven());
        }
    }

    @Test
    void unreachableStoreFailsBeforeAnythingIsDumped() throws Exception {
        S3Store.Settings nowhere = new S3Store.Settings("us-east-1", "http://127.0.0.1:" + TestS3.freePort(), true);
        try (Store store = Stores.open("s3://bkt/p", nowhere)) {
            CheckpointException e = sealFails(app, store, "t");
            assertEquals("store.unreachable", e.code());
            assertTrue(e.getMessage().contains("cannot reach the store"), e.getMessage());
        }
    }

    @Test
    void storeFailingMidUploadLeavesNoCheckpoint(@TempDir Path dir) throws Exception {
        TestS3 s3 = new TestS3(dir);
        try {
            s3.createBucket("bkt");
            try (Store store = Stores.open("s3://bkt/p", s3.settings())) {
                CompletableFuture<Manifest> seal = CompletableFuture.supplyAsync(() -> sealer().seal(Fixtures.request(app, store, "cut")));
                long deadline = System.currentTimeMillis() + 20_000;
                while (ProcessHandle.current().descendants().noneMatch(FaultsTest::isTheDump)
                        && System.currentTimeMillis() < deadline) {
                    Thread.sleep(20);
                }
                Thread.sleep(500);
                s3.stop();
                // A part upload cut mid-request may wait out the client's 120 s socket timeout, once per
                // attempt, before the seal hears of it: seen in a loaded CI run.
                Exception e = assertThrows(java.util.concurrent.ExecutionException.class, () -> seal.get(480, TimeUnit.SECONDS));
                CheckpointException ce = (CheckpointException) e.getCause();
                assertTrue(ce.code().startsWith("store."), ce.code() + ": " + ce.getMessage());
                assertTrue(ce.getMessage().contains("nothing was sealed") || ce.getMessage().contains("cannot reach the store"),
                        ce.getMessage());
                s3.start();
                assertFalse(store.exists("cut/manifest.json"));
                assertFalse(store.exists("cut/archive.dump"));
            }
        } finally {
            s3.stop();
        }
    }

    @Test
    void drillRefusesANonEmptyTarget(@TempDir Path dir) {
        try (Store store = new FileStore(dir)) {
            sealer().seal(Fixtures.request(app, store, "x"));
            CheckpointException e = assertThrows(CheckpointException.class,
                    () -> new Driller(Fixtures.TOOLS, Progress.SILENT).drill(store, "x", app, 2));
            assertEquals("drill.target-not-empty", e.code());
            assertEquals(1000L, Fixtures.count(app, "SELECT count(*) FROM orders"), "the target was not touched");
        }
    }

    @Test
    void roleThatCannotSeeEveryRowIsRefused(@TempDir Path dir) {
        Fixtures.sql(app, """
                CREATE TABLE tenant_notes (id int, tenant text);
                INSERT INTO tenant_notes VALUES (1, 'a'), (2, 'b');
                ALTER TABLE tenant_notes ENABLE ROW LEVEL SECURITY;
                CREATE POLICY tenant_only ON tenant_notes USING (tenant = current_user);
                CREATE ROLE reader LOGIN PASSWORD 'reader-pw';
                GRANT SELECT ON ALL TABLES IN SCHEMA public TO reader;
                GRANT SELECT ON ALL SEQUENCES IN SCHEMA public TO reader;
                """);
        try (Store store = new FileStore(dir)) {
            DbTarget reader = new DbTarget(app.host(), app.port(), "reader", "reader-pw", "app", "disable", Map.of());
            CheckpointException e = sealFails(reader, store, "rls");
            assertEquals("database.row-security", e.code());
            assertTrue(e.getMessage().contains("public.tenant_notes") && e.getMessage().contains("BYPASSRLS"), e.getMessage());
            assertTrue(store.listTags().isEmpty());
        } finally {
            Fixtures.sql(app, "DROP TABLE tenant_notes; DROP OWNED BY reader; DROP ROLE reader;");
        }
    }
}
