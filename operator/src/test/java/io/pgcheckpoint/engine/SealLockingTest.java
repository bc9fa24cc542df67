package io.pgcheckpoint.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.nio.file.Path;
import java.sql.Connection;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The ledger and the archive are taken in one snapshot whose tables are locked before it
 * exists: DDL that is not MVCC-safe waits for the seal instead of racing it, no lock cycle can
 * hang it, and every wait is bounded and named.
 */
class SealLockingTest {
    static final String PASSWORD = "locking-Pa55";
    static LocalPostgres pg;
    static DbTarget app;

    @BeforeAll
    static void start() {
        pg = Fixtures.source(PASSWORD);
        app = pg.target("app");
        Fixtures.sql(app, """
                DO $$ BEGIN
                  FOR i IN 1..400 LOOP
                    EXECUTE format('CREATE TABLE small_%s (id int)', i);
                  END LOOP;
                END $$;
                CREATE TABLE big (id bigint, a text, b text);
                INSERT INTO big SELECT g, md5(g::text), md5((g * 7)::text) FROM generate_series(1, 1000000) g;
                CREATE TABLE moving_a (id int);
                CREATE TABLE moving_b (id int);
                INSERT INTO moving_a SELECT generate_series(1, 1000);
                CREATE TABLE rewritten (v int);
                INSERT INTO rewritten SELECT generate_series(1, 500);
                CREATE TABLE refilled (v int);
                INSERT INTO refilled SELECT generate_series(1, 300);
                """);
    }

    @AfterAll
    static void stop() {
        pg.close();
    }

    /** A fresh table with 1,000 rows and an index, so CLUSTER and VACUUM FULL have something to rewrite. */
    private static void freshVictim(String name) {
        Fixtures.sql(app, "DROP TABLE IF EXISTS " + name + "; CREATE TABLE " + name + " (id int, v text);"
                + "INSERT INTO " + name + " SELECT g, 'v' || g FROM generate_series(1, 1000) g;"
                + "CREATE INDEX " + name + "_id ON " + name + " (id);");
    }

    /**
     * Runs {@code ddl} once the seal says its snapshot is exported, and gives it two seconds to
     * commit before the seal goes on: without locks taken before the snapshot it commits at once,
     * and the rewritten table looks empty to the snapshot.
     */
    private static class DdlAtSnapshot implements Progress {
        final String ddl;
        final AtomicReference<CompletableFuture<Void>> running = new AtomicReference<>();
        final List<String> lines = new ArrayList<>();

        DdlAtSnapshot(String ddl) {
            this.ddl = ddl;
        }

        @Override
        public synchronized void step(String message) {
            lines.add(message);
            if (message.contains("exported") && running.get() == null) {
                CompletableFuture<Void> f = CompletableFuture.runAsync(() -> Fixtures.sql(app, ddl));
                running.set(f);
                try {
                    f.get(2, TimeUnit.SECONDS);
                } catch (TimeoutException e) {
                    // blocked by the seal's locks: what must happen
                } catch (InterruptedException | ExecutionException e) {
                    throw new IllegalStateException(e);
                }
            }
        }

        void awaitDdl() throws Exception {
            running.get().get(60, TimeUnit.SECONDS);
        }
    }

    /** Statements that are not MVCC-safe: each makes the table look empty to an older snapshot. */
    @ParameterizedTest
    @ValueSource(strings = {
            "ALTER TABLE %s ALTER COLUMN id TYPE bigint",
            "ALTER TABLE %s ADD COLUMN r float8 DEFAULT random()",
            "TRUNCATE %s"})
    void tableRewrittenRightAfterTheSnapshotIsNeitherLedgeredNorDumpedEmpty(String ddlTemplate, @TempDir Path dir) throws Exception {
        freshVictim("zzz");
        DdlAtSnapshot ddl = new DdlAtSnapshot(ddlTemplate.formatted("zzz"));
        try (Store store = new FileStore(dir)) {
            Manifest m = assertTimeoutPreemptively(Duration.ofSeconds(90),
                    () -> new Sealer(Fixtures.TOOLS, ddl).seal(Fixtures.request(app, store, "rewrite")));
            ddl.awaitDdl();
            // Either the DDL waited for the seal (the snapshot saw the table before it: 1,000 rows), or the
            // seal let go to avoid a lock cycle and retried after it (the snapshot saw the table after it).
            long expected = ddl.lines.stream().anyMatch(l -> l.contains("retry")) ? Fixtures.count(app, "SELECT count(*) FROM zzz") : 1000L;
            assertEquals(expected, Fixtures.ledger(m).get("public.zzz"), "the ledger counted a table rewritten after the snapshot: " + ddl.lines);
            DrillReport report = new Driller(Fixtures.TOOLS, Progress.SILENT).drill(store, "rewrite", null, 2);
            assertTrue(report.proven(), () -> "mismatches: " + report.mismatches());
        }
    }

    @Test
    void ddlQueuedBetweenTheSealAndPgDumpNeitherHangsTheSealNorTheApplication(@TempDir Path dir) throws Exception {
        freshVictim("aaa");
        // The ALTER queues behind the seal's lock; pg_dump's own lock request then queues behind the ALTER,
        // and an application SELECT behind both: a cycle PostgreSQL cannot see.
        AtomicReference<CompletableFuture<Long>> select = new AtomicReference<>();
        DdlAtSnapshot ddl = new DdlAtSnapshot("ALTER TABLE aaa ALTER COLUMN id TYPE bigint") {
            @Override
            public synchronized void step(String message) {
                super.step(message);
                if (message.contains("exported") && select.get() == null) {
                    select.set(CompletableFuture.supplyAsync(() -> {
                        long start = System.nanoTime();
                        Fixtures.count(app, "SELECT count(*) FROM aaa");
                        return (System.nanoTime() - start) / 1_000_000;
                    }));
                }
            }
        };
        try (Store store = new FileStore(dir)) {
            Manifest m;
            try {
                m = assertTimeoutPreemptively(Duration.ofSeconds(90),
                        () -> new Sealer(Fixtures.TOOLS, ddl).seal(Fixtures.request(app, store, "cycle")));
            } finally {
                Fixtures.sql(pg.target("postgres"), "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                        + "WHERE datname = 'app' AND pid <> pg_backend_pid() AND application_name LIKE 'pgcheckpoint%'");
            }
            ddl.awaitDdl();
            long selectMillis = select.get().get(60, TimeUnit.SECONDS);
            System.out.println("lock cycle: the application's SELECT waited " + selectMillis + " ms; seal: " + ddl.lines);
            assertTrue(selectMillis < 10_000, "the application's SELECT waited " + selectMillis + " ms");
            assertEquals(1000L, Fixtures.ledger(m).get("public.aaa"));
            assertTrue(new Driller(Fixtures.TOOLS, Progress.SILENT).drill(store, "cycle", null, 2).proven());
            assertTrue(ddl.lines.stream().anyMatch(l -> l.contains("retry")), "the seal says it retried: " + ddl.lines);
        }
    }

    @Test
    void aLockHeldTooLongFailsNamingTheBlocker(@TempDir Path dir) throws Exception {
        freshVictim("held");
        try (Connection holder = Db.connect(app); Store store = new FileStore(dir)) {
            Db.execute(holder, "SET application_name = 'migration-tool'");
            holder.setAutoCommit(false);
            Db.execute(holder, "LOCK TABLE held IN ACCESS EXCLUSIVE MODE");
            long holderPid = Db.queryLong(holder, "SELECT pg_backend_pid()");
            Sealer.Request request = Fixtures.request(app, store, "blocked")
                    .withLimits(new Sealer.Limits(Duration.ofSeconds(2), Duration.ofMinutes(5)));
            CheckpointException e = assertTimeoutPreemptively(Duration.ofSeconds(60), () ->
                    assertThrows(CheckpointException.class, () -> new Sealer(Fixtures.TOOLS, Progress.SILENT).seal(request)));
            assertEquals("lock.timeout", e.code(), e.getMessage());
            System.out.println("lock.timeout: " + e.getMessage());
            assertTrue(e.getMessage().contains("pid " + holderPid), e.getMessage());
            assertTrue(e.getMessage().contains("migration-tool"), e.getMessage());
            assertTrue(e.getMessage().contains("idle in transaction"), e.getMessage());
            assertTrue(e.getMessage().contains("public.held"), e.getMessage());
            assertTrue(store.listTags().isEmpty());
            assertFalse(dir.resolve("blocked").toFile().exists() && dir.resolve("blocked/archive.dump").toFile().exists());
            holder.rollback();
        }
    }

    @Test
    void theWholeSealIsBoundedByItsTimeout(@TempDir Path dir) throws Exception {
        try (Store store = new FileStore(dir)) {
            Sealer.Request request = Fixtures.request(app, store, "slow")
                    .withLimits(new Sealer.Limits(Duration.ofSeconds(30), Duration.ofMillis(700)));
            long start = System.nanoTime();
            CheckpointException e = assertTimeoutPreemptively(Duration.ofSeconds(30), () ->
                    assertThrows(CheckpointException.class, () -> new Sealer(Fixtures.TOOLS, Progress.SILENT).seal(request)));
            long millis = (System.nanoTime() - start) / 1_000_000;
            assertEquals("seal.timeout", e.code(), e.getMessage());
            assertTrue(millis < 4000, "a 0.7 s timeout stopped the seal after " + millis + " ms");
            assertTrue(e.getMessage().contains("--timeout"), e.getMessage());
            assertTrue(store.listTags().isEmpty());
            assertFalse(dir.resolve("slow/archive.dump").toFile().exists());
            // and nothing of the seal is left running in the database (a terminated backend takes a moment to go)
            long deadline = System.nanoTime() + 10_000_000_000L;
            long left;
            do {
                left = Fixtures.count(app, "SELECT count(*) FROM pg_stat_activity WHERE datname = 'app' "
                        + "AND application_name LIKE 'pgcheckpoint%' AND pid <> pg_backend_pid() AND state <> 'idle'");
                if (left > 0) {
                    Thread.sleep(100);
                }
            } while (left > 0 && System.nanoTime() < deadline);
            assertEquals(0L, left, "sessions of the seal still running after its timeout");
        }
    }

    @Test
    void theSessionIgnoresTheRolesTimeouts(@TempDir Path dir) throws Exception {
        Fixtures.sql(pg.target("postgres"), "CREATE ROLE strict LOGIN SUPERUSER PASSWORD 'strict-pw';"
                + "ALTER ROLE strict SET statement_timeout = '50ms';"
                + "ALTER ROLE strict SET idle_in_transaction_session_timeout = '1s';"
                + "ALTER ROLE strict SET lock_timeout = '10ms'");
        try (Store store = new FileStore(dir)) {
            DbTarget strict = new DbTarget(app.host(), app.port(), "strict", "strict-pw", "app", "disable", java.util.Map.of());
            Manifest m = new Sealer(Fixtures.TOOLS, Progress.SILENT).seal(Fixtures.request(strict, store, "strict"));
            assertEquals(1_000_000L, Fixtures.ledger(m).get("public.big"));
            assertTrue(new Driller(Fixtures.TOOLS, Progress.SILENT).drill(store, "strict", null, 2).proven());
        } finally {
            Fixtures.sql(pg.target("postgres"), "DROP ROLE strict");
        }
    }

    @Test
    void anArchiveWithoutManifestDoesNotBurnTheTag(@TempDir Path dir) throws Exception {
        try (Store store = new FileStore(dir)) {
            // what a seal killed between the archive and the manifest leaves behind
            try (Store.Upload upload = store.create("burnt/archive.dump")) {
                upload.stream().write("half an archive".getBytes());
                upload.commit();
            }
            java.nio.file.Files.setLastModifiedTime(dir.resolve("burnt/archive.dump"),
                    java.nio.file.attribute.FileTime.from(java.time.Instant.now().minus(Duration.ofMinutes(2))));
            Manifest m = new Sealer(Fixtures.TOOLS, Progress.SILENT).seal(Fixtures.request(app, store, "burnt"));
            assertTrue(new Driller(Fixtures.TOOLS, Progress.SILENT).drill(store, "burnt", null, 2).proven());
            assertEquals(m.archive().bytes(), java.nio.file.Files.size(dir.resolve("burnt/archive.dump")));
            // a complete checkpoint is still never replaced
            assertEquals("store.exists", assertThrows(CheckpointException.class,
                    () -> new Sealer(Fixtures.TOOLS, Progress.SILENT).seal(Fixtures.request(app, store, "burnt"))).code());
        }
    }

    /** The deadline also ends a seal that is waiting for a lock, not only one that is dumping. */
    @Test
    void theTimeoutEndsALockWait(@TempDir Path dir) throws Exception {
        freshVictim("gate");
        try (Connection holder = Db.connect(app); Store store = new FileStore(dir)) {
            holder.setAutoCommit(false);
            Db.execute(holder, "LOCK TABLE gate IN ACCESS EXCLUSIVE MODE");
            Sealer.Request request = Fixtures.request(app, store, "waits")
                    .withLimits(new Sealer.Limits(Duration.ofSeconds(60), Duration.ofSeconds(1)));
            long start = System.nanoTime();
            CheckpointException e = assertThrows(CheckpointException.class, () -> new Sealer(Fixtures.TOOLS, Progress.SILENT).seal(request));
            long millis = (System.nanoTime() - start) / 1_000_000;
            assertEquals("seal.timeout", e.code(), e.getMessage());
            assertTrue(millis < 5000, "a 1 s timeout ended a lock wait after " + millis + " ms");
            holder.rollback();
        }
    }

    /**
     * The snapshot is taken after the locks, not before: a row committed while the seal waits
     * for its last lock is in the ledger. (Were the snapshot taken first, the row would be missing
     * while pg_dump, which starts later, could still see a table rewritten in between.)
     */
    @Test
    void theSnapshotIsTakenOnlyOnceEveryTableIsLocked(@TempDir Path dir) throws Exception {
        freshVictim("gate2");
        Fixtures.sql(app, "DROP TABLE IF EXISTS late; CREATE TABLE late (id int)");
        try (Connection holder = Db.connect(app); Store store = new FileStore(dir)) {
            holder.setAutoCommit(false);
            Db.execute(holder, "LOCK TABLE gate2 IN ACCESS EXCLUSIVE MODE");
            CompletableFuture<Manifest> seal = CompletableFuture.supplyAsync(
                    () -> new Sealer(Fixtures.TOOLS, Progress.SILENT).seal(Fixtures.request(app, store, "after-locks")));
            long deadline = System.nanoTime() + 30_000_000_000L;
            while (Fixtures.count(app, "SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation "
                    + "WHERE c.relname = 'gate2' AND NOT l.granted") == 0) {
                assertTrue(System.nanoTime() < deadline, "the seal never waited for the gate");
                Thread.sleep(50);
            }
            Fixtures.sql(app, "INSERT INTO late VALUES (1)");
            holder.rollback();
            Manifest m = seal.get(60, TimeUnit.SECONDS);
            assertEquals(1L, Fixtures.ledger(m).get("public.late"), "the snapshot was taken before the seal had its locks");
        }
    }

    /** A manifest that another seal of the same tag wrote first: this seal fails and takes nothing away. */
    @Test
    void aSealThatLosesTheRaceForItsTagDeletesNothing(@TempDir Path dir) throws Exception {
        try (FileStore files = new FileStore(dir)) {
            Store racing = new ForwardingStore(files) {
                @Override
                public void putNew(String key, byte[] data) {
                    if (key.endsWith("manifest.json")) {
                        files.putNew(key, "{\"from\":\"the other seal\"}".getBytes());
                    }
                    files.putNew(key, data);
                }
            };
            CheckpointException e = assertThrows(CheckpointException.class,
                    () -> new Sealer(Fixtures.TOOLS, Progress.SILENT).seal(Fixtures.request(app, racing, "raced")));
            assertEquals("store.exists", e.code(), e.getMessage());
            assertTrue(e.getMessage().contains("another seal of 'raced' finished first"), e.getMessage());
            assertTrue(java.nio.file.Files.exists(dir.resolve("raced/archive.dump")), "the archive under the winner's manifest was deleted");
        }
    }

    /** An archive without a manifest younger than a minute may be another seal finishing: not touched. */
    @Test
    void aFreshArchiveWithoutManifestIsLeftToTheSealThatIsWritingIt(@TempDir Path dir) throws Exception {
        try (Store store = new FileStore(dir)) {
            try (Store.Upload upload = store.create("young/archive.dump")) {
                upload.stream().write("being finished by another seal".getBytes());
                upload.commit();
            }
            CheckpointException e = assertThrows(CheckpointException.class,
                    () -> new Sealer(Fixtures.TOOLS, Progress.SILENT).seal(Fixtures.request(app, store, "young")));
            assertEquals("store.incomplete", e.code(), e.getMessage());
            assertEquals("being finished by another seal", java.nio.file.Files.readString(dir.resolve("young/archive.dump")));
        }
    }

    /**
     * Writers move rows between two tables in one transaction (so a consistent snapshot always
     * sees 1,000 in all) while another session adds a column, creates a table and drops one about
     * once a second: every seal ends Proven with a consistent ledger, or fails with a named lock error,
     * and never hangs.
     */
    @Test
    void sealsUnderWritesAndDdlAreExactOrFailClearly(@TempDir Path dir) throws Exception {
        AtomicBoolean stop = new AtomicBoolean();
        AtomicInteger moves = new AtomicInteger();
        AtomicInteger ddls = new AtomicInteger();
        List<CompletableFuture<Void>> load = new ArrayList<>();
        for (int w = 0; w < 2; w++) {
            load.add(CompletableFuture.runAsync(() -> {
                try (Connection c = Db.connect(app)) {
                    c.setAutoCommit(false);
                    while (!stop.get()) {
                        Db.execute(c, "WITH m AS (DELETE FROM moving_a WHERE ctid = (SELECT ctid FROM moving_a LIMIT 1) RETURNING id) "
                                + "INSERT INTO moving_b SELECT id FROM m");
                        Db.execute(c, "WITH m AS (DELETE FROM moving_b WHERE ctid = (SELECT ctid FROM moving_b LIMIT 1) RETURNING id) "
                                + "INSERT INTO moving_a SELECT id FROM m");
                        Db.execute(c, "UPDATE small_1 SET id = id + 1");
                        c.commit();
                        moves.incrementAndGet();
                    }
                } catch (SQLException e) {
                    throw new IllegalStateException(e);
                }
            }));
        }
        load.add(CompletableFuture.runAsync(() -> {
            try (Connection c = Db.connect(app)) {
                Db.execute(c, "SET lock_timeout = '20s'");
                for (int i = 0; !stop.get(); i++) {
                    Db.execute(c, "CREATE TABLE churn_" + i + " AS SELECT generate_series(1, " + (i % 7) + ") AS x");
                    if (i > 0) {
                        Db.execute(c, "DROP TABLE churn_" + (i - 1));
                    }
                    try {
                        Db.execute(c, "ALTER TABLE small_2 ADD COLUMN c" + i + " int");
                        // rewrites and a truncate-and-refill: an older snapshot would see these tables empty
                        Db.execute(c, "ALTER TABLE rewritten ALTER COLUMN v TYPE " + (i % 2 == 0 ? "bigint" : "int"));
                        Db.execute(c, "BEGIN; TRUNCATE refilled; INSERT INTO refilled SELECT generate_series(1, 300); COMMIT");
                    } catch (SQLException e) {
                        // the application's own lock_timeout may give up waiting for a seal: its choice
                        if (!"55P03".equals(e.getSQLState())) {
                            throw e;
                        }
                    }
                    ddls.incrementAndGet();
                    Thread.sleep(600 + (i * 397) % 800);
                }
            } catch (SQLException e) {
                throw new IllegalStateException(e);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }));
        Set<String> clearFailures = Set.of("lock.timeout", "lock.conflict", "schema.changing");
        int proven = 0;
        List<String> failures = new ArrayList<>();
        try (Store store = new FileStore(dir)) {
            for (int i = 0; i < 4; i++) {
                String tag = "busy-" + i;
                try {
                    Manifest m = assertTimeoutPreemptively(Duration.ofSeconds(120),
                            () -> new Sealer(Fixtures.TOOLS, Progress.SILENT).seal(Fixtures.request(app, store, tag)));
                    var ledger = Fixtures.ledger(m);
                    assertEquals(1000L, ledger.get("public.moving_a") + ledger.get("public.moving_b"),
                            "the ledger is not one consistent snapshot: " + ledger.get("public.moving_a") + " + " + ledger.get("public.moving_b"));
                    assertEquals(500L, ledger.get("public.rewritten"), "a table rewritten during the seal was ledgered short");
                    assertEquals(300L, ledger.get("public.refilled"), "a table truncated and refilled during the seal was ledgered short");
                    DrillReport report = new Driller(Fixtures.TOOLS, Progress.SILENT).drill(store, tag, null, 2);
                    assertTrue(report.proven(), () -> "mismatches: " + report.mismatches());
                    proven++;
                } catch (CheckpointException e) {
                    if (!clearFailures.contains(e.code())) {
                        fail("a seal under load failed without a clear reason: " + e.code() + ": " + e.getMessage(), e);
                    }
                    failures.add(e.code() + ": " + e.getMessage());
                }
            }
        } finally {
            stop.set(true);
            for (CompletableFuture<Void> f : load) {
                f.get(60, TimeUnit.SECONDS);
            }
        }
        assertTrue(moves.get() > 10 && ddls.get() > 3, "the load ran: " + moves + " moves, " + ddls + " DDL rounds");
        assertTrue(proven >= 2, "only " + proven + " of 4 seals under load ended Proven: " + failures);
    }
}
