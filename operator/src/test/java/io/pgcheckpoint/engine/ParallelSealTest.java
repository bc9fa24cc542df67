package io.pgcheckpoint.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.List;
import java.util.Set;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code seal --jobs N}: pg_dump's directory format with parallel workers, one object per file,
 * each with its own sha256, holds every guarantee of the single-file checkpoint: the same
 * snapshot for every worker, nothing visible before the archive is whole, the manifest last,
 * never an overwrite, and a drill or restore that refuses a damaged file.
 */
class ParallelSealTest {
    static LocalPostgres pg;
    static DbTarget app;

    @BeforeAll
    static void start() {
        pg = Fixtures.source(null);
        app = pg.target("app");
        Fixtures.sql(app, SealDrillTest.SCHEMA);
    }

    @AfterAll
    static void stop() {
        pg.close();
    }

    static Sealer.Request parallel(Store store, String tag, int jobs) {
        return Fixtures.request(app, store, tag).withJobs(jobs);
    }

    static String sha256(InputStream in) throws IOException {
        try (in) {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(in.readAllBytes()));
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Directories a seal left under TMPDIR. */
    static Set<String> sealDirectories() throws IOException {
        try (Stream<Path> list = Files.list(Path.of(System.getProperty("java.io.tmpdir")))) {
            return list.map(p -> p.getFileName().toString()).filter(n -> n.startsWith("pgcheckpoint-seal-"))
                    .collect(Collectors.toSet());
        }
    }

    @Test
    void directoryArchiveOnS3HasEveryFileWithItsSha256AndTheSameLedgerAndIsProven(@TempDir Path s3dir) throws Exception {
        Set<String> before = sealDirectories();
        try (TestS3 s3 = new TestS3(s3dir)) {
            s3.createBucket("checkpoints");
            try (Store store = Stores.open("s3://checkpoints/prod/app", s3.settings())) {
                Manifest single = new Sealer(Fixtures.TOOLS, Progress.SILENT).seal(parallel(store, "single", 1));
                List<String> said = new java.util.concurrent.CopyOnWriteArrayList<>();
                Manifest m = new Sealer(Fixtures.TOOLS, said::add).seal(parallel(store, "parallel", 3));

                assertEquals(Manifest.DIRECTORY_FORMAT_VERSION, m.formatVersion());
                assertEquals("directory", m.archive().format());
                assertEquals(Manifest.ARCHIVE_DIRECTORY, m.archive().file());
                assertEquals(single.ledger(), m.ledger(), "the same database gives the same ledger in either format");
                assertEquals(m.archive().sha256(), Manifest.listingSha256(m.archive().files()));
                List<String> names = m.archive().files().stream().map(Manifest.ArchiveFile::name).toList();
                assertTrue(names.contains(Manifest.TOC), names::toString);
                // one data file per table with rows at least (36 tables, 3 large objects)
                assertTrue(names.stream().filter(n -> n.matches("\\d+\\.dat\\..*")).count() >= 30, names::toString);
                long sum = 0;
                for (Manifest.ArchiveFile f : m.archive().files()) {
                    String key = m.archive().key("parallel", f.name());
                    assertEquals(f.sha256(), sha256(store.open(key)), key);
                    sum += f.bytes();
                }
                assertEquals(sum, m.archive().bytes());
                // exactly the archive's files and the manifest: nothing else was written, nothing was left out
                Set<String> expected = new java.util.TreeSet<>(Archives.keys(m));
                expected.add("parallel/" + Manifest.MANIFEST);
                assertEquals(expected, new java.util.TreeSet<>(store.keys("parallel/")));
                assertTrue(said.stream().anyMatch(s -> s.contains("with 3 parallel pg_dump workers")), said::toString);
                assertEquals(before, sealDirectories(), "the local copy of pg_dump's directory is removed");

                CheckpointException again = assertThrows(CheckpointException.class,
                        () -> new Sealer(Fixtures.TOOLS, Progress.SILENT).seal(parallel(store, "parallel", 2)));
                assertEquals("store.exists", again.code());

                DrillReport report = new Driller(Fixtures.TOOLS, Progress.SILENT).drill(store, "parallel", null, 2);
                assertTrue(report.proven(), () -> "mismatches: " + report.mismatches());
                assertEquals(m.ledger().totalRows(), report.rowsChecked());
                assertEquals(3L, report.largeObjectsFound());
                assertEquals(1, report.viewsRefreshed());

                // delete removes every file of the directory with the manifest and the report
                DeleteResult deleted = new Pruner(store, Progress.SILENT).delete("parallel");
                assertTrue(deleted.deleted(), deleted::toString);
                assertEquals(List.of(), store.keys("parallel/"));
                assertEquals(List.of("single"), store.listTags());
            }
        }
    }

    @Test
    void everyWorkerDumpsTheSealsSnapshotWhileTheDatabaseIsWritten(@TempDir Path dir) throws Exception {
        Fixtures.sql(app, "CREATE TABLE busy_a (id bigserial, v int); CREATE TABLE busy_b (id bigserial, v int);"
                + "INSERT INTO busy_a (v) SELECT g FROM generate_series(1, 200000) g;"
                + "INSERT INTO busy_b (v) SELECT g FROM generate_series(1, 200000) g");
        AtomicBoolean writing = new AtomicBoolean(true);
        AtomicInteger batches = new AtomicInteger();
        Thread writer = new Thread(() -> {
            try (var c = Db.connect(app)) {
                while (writing.get()) {
                    Db.execute(c, "INSERT INTO busy_a (v) SELECT g FROM generate_series(1, 500) g;"
                            + "INSERT INTO busy_b (v) SELECT g FROM generate_series(1, 500) g;"
                            + "DELETE FROM busy_a WHERE id IN (SELECT id FROM busy_a ORDER BY id LIMIT 300)");
                    batches.incrementAndGet();
                }
            } catch (java.sql.SQLException e) {
                throw new IllegalStateException(e);
            }
        });
        writer.start();
        try (Store store = Stores.open("file:" + dir, null)) {
            while (batches.get() < 3) {
                Thread.sleep(20);
            }
            int at = batches.get();
            Manifest m = new Sealer(Fixtures.TOOLS, Progress.SILENT).seal(parallel(store, "busy", 4));
            assertTrue(batches.get() > at, "the writer went on during the seal");
            writing.set(false);
            writer.join();
            DrillReport report = new Driller(Fixtures.TOOLS, Progress.SILENT).drill(store, "busy", null, 2);
            assertTrue(report.proven(), () -> "workers saw different snapshots: " + report.mismatches());
            assertEquals(m.ledger().totalRows(), report.rowsChecked());
        } finally {
            writing.set(false);
            writer.join();
            Fixtures.sql(app, "DROP TABLE busy_a, busy_b");
        }
    }

    @Test
    void aDamagedOrMissingFileIsRefusedByTheDrillAndByRestore(@TempDir Path dir) throws Exception {
        try (Store store = Stores.open("file:" + dir, null)) {
            Manifest m = new Sealer(Fixtures.TOOLS, Progress.SILENT).seal(parallel(store, "damaged", 2));
            Manifest.ArchiveFile victim = m.archive().files().stream().filter(f -> f.name().matches("\\d+\\.dat\\..*"))
                    .max(java.util.Comparator.comparingLong(Manifest.ArchiveFile::bytes)).orElseThrow();
            Path file = dir.resolve("damaged").resolve(Manifest.ARCHIVE_DIRECTORY).resolve(victim.name());
            byte[] bytes = Files.readAllBytes(file);
            bytes[bytes.length / 2] ^= 1;
            Files.write(file, bytes);

            CheckpointException drill = assertThrows(CheckpointException.class,
                    () -> new Driller(Fixtures.TOOLS, Progress.SILENT).drill(store, "damaged", null, 2));
            assertEquals("archive.checksum", drill.code());
            assertTrue(drill.getMessage().contains(victim.name()) && drill.getMessage().contains("must not be restored"),
                    drill.getMessage());
            DrillReport recorded = Json.read(store.read("damaged/" + Manifest.DRILL).orElseThrow(), DrillReport.class);
            assertFalse(recorded.proven());

            // a manifest that names a file outside the archive's directory is refused before anything is written
            Manifest escaping = new Manifest(m.formatVersion(), m.tag(), m.commit(), m.reason(), m.database(), m.createdAt(),
                    m.snapshotTime(), m.serverVersion(), m.serverMajor(), m.pgDumpVersion(),
                    new Manifest.Archive(m.archive().file(), 1, Manifest.listingSha256(List.of(new Manifest.ArchiveFile(
                            "../escaped", 1, "00"))), "directory", m.archive().compression(),
                            List.of(new Manifest.ArchiveFile("../escaped", 1, "00"))),
                    m.ledger(), m.timings(), m.excluded());
            Path local = Files.createTempDirectory(dir, "local");
            CheckpointException outside = assertThrows(CheckpointException.class,
                    () -> Archives.download(store, escaping, local, Progress.SILENT));
            assertEquals("archive.checksum", outside.code(), outside.getMessage());
            assertTrue(outside.getMessage().contains("'../escaped'"), outside.getMessage());
            assertFalse(Files.exists(local.resolve("escaped")));

            Files.delete(file);
            CheckpointException restore = assertThrows(CheckpointException.class, () -> new Restorer(Fixtures.TOOLS,
                    Progress.SILENT).restore(new Restorer.Request(store, "damaged", List.of("public.big"), app,
                    Restorer.Mode.SIDE_BY_SIDE, null, null)));
            assertEquals("archive.checksum", restore.code());
            assertTrue(restore.getMessage().contains(victim.name()) && restore.getMessage().contains("missing"),
                    restore.getMessage());
        }
    }

    @Test
    void aTableComesBackAloneFromADirectoryArchive(@TempDir Path dir) {
        try (Store store = Stores.open("file:" + dir, null)) {
            new Sealer(Fixtures.TOOLS, Progress.SILENT).seal(parallel(store, "surgical", 2));
            Fixtures.sql(app, "CREATE TABLE restore_me (id int primary key, note text);"
                    + "INSERT INTO restore_me SELECT g, 'n' || g FROM generate_series(1, 300) g");
            new Sealer(Fixtures.TOOLS, Progress.SILENT).seal(parallel(store, "with-restore-me", 2));
            Fixtures.sql(app, "DELETE FROM restore_me WHERE id > 100");
            try {
                Restorer.Report r = new Restorer(Fixtures.TOOLS, Progress.SILENT).restore(new Restorer.Request(store,
                        "with-restore-me", List.of("public.restore_me"), app, Restorer.Mode.REPLACE, "with-restore-me", null));
                assertEquals(300L, Fixtures.count(app, "SELECT count(*) FROM restore_me"), r::toString);
                assertEquals(1_000_001L, Fixtures.count(app, "SELECT count(*) FROM big"), "other tables are untouched");
            } finally {
                Fixtures.sql(app, "DROP TABLE restore_me");
            }
        }
    }

    @Test
    void aMigrationThatQueuesBehindTheParallelDumpMakesTheSealStartAgainAfterIt(@TempDir Path dir) throws Exception {
        // two tables that keep both workers busy, and one that waits for a worker until after the ALTER queued
        Fixtures.sql(app, "CREATE TABLE big2 AS SELECT * FROM big; CREATE TABLE late (id int); INSERT INTO late VALUES (1), (2)");
        List<String> said = new java.util.concurrent.CopyOnWriteArrayList<>();
        java.util.concurrent.atomic.AtomicReference<Exception> migrationFailure = new java.util.concurrent.atomic.AtomicReference<>();
        AtomicBoolean migrated = new AtomicBoolean();
        Thread migration = new Thread(() -> {
            try (var c = Db.connect(app)) {
                long deadline = System.nanoTime() + 60_000_000_000L;
                while (Db.queryLong(c, "SELECT count(*) FROM pg_stat_activity WHERE application_name LIKE 'pgcheckpoint-dump-%'"
                        + " AND query LIKE 'COPY %big%'") < 2) {
                    if (System.nanoTime() > deadline) {
                        throw new IllegalStateException("pg_dump's workers never dumped both big tables at once");
                    }
                    Thread.sleep(10);
                }
                Db.execute(c, "ALTER TABLE late ADD COLUMN note text DEFAULT 'migrated'");
                migrated.set(true);
            } catch (Exception e) {
                migrationFailure.set(e);
            }
        });
        try (Store store = Stores.open("file:" + dir, null)) {
            migration.start();
            Manifest m = new Sealer(Fixtures.TOOLS, said::add).seal(parallel(store, "during-migration", 2));
            migration.join();
            assertEquals(null, migrationFailure.get());
            assertTrue(migrated.get());
            assertTrue(said.stream().anyMatch(s -> s.contains("retry 2 of")), () -> "said: " + said);
            assertEquals(2L, Fixtures.ledger(m).get("public.late"));
            // the retry's snapshot came after the migration: the checkpoint has its column, consistently
            DrillReport report = new Driller(Fixtures.TOOLS, Progress.SILENT).drill(store, "during-migration", null, 2);
            assertTrue(report.proven(), () -> "mismatches: " + report.mismatches());
            Restorer.Report r = new Restorer(Fixtures.TOOLS, Progress.SILENT).restore(new Restorer.Request(store,
                    "during-migration", List.of("public.late"), app, Restorer.Mode.SIDE_BY_SIDE, null, null));
            assertTrue(r.toString().contains("late"), r::toString);
        } finally {
            migration.join();
            Fixtures.sql(app, "DROP TABLE big2, late");
        }
    }

    @Test
    void manyTablesWaitingForTheirCommitHoldNeitherDescriptorsNorBuffers(@TempDir Path dir) throws Exception {
        Fixtures.sql(app, "CREATE SCHEMA many; DO $$ BEGIN FOR i IN 1..600 LOOP EXECUTE format("
                + "'CREATE TABLE many.t%s AS SELECT generate_series(1, 50) AS id', i); END LOOP; END $$");
        Path fds = Path.of("/proc/self/fd");
        long before;
        try (Stream<Path> open = Files.list(fds)) {
            before = open.count();
        }
        java.util.concurrent.atomic.AtomicLong most = new java.util.concurrent.atomic.AtomicLong();
        AtomicBoolean sealing = new AtomicBoolean(true);
        Thread sampler = new Thread(() -> {
            while (sealing.get()) {
                try (Stream<Path> open = Files.list(fds)) {
                    most.accumulateAndGet(open.count(), Math::max);
                    Thread.sleep(5);
                } catch (Exception e) {
                    return;
                }
            }
        });
        sampler.start();
        try (Store store = Stores.open("file:" + dir, null)) {
            Manifest m = new Sealer(Fixtures.TOOLS, Progress.SILENT).seal(parallel(store, "many", 2));
            sealing.set(false);
            sampler.join();
            assertTrue(m.archive().files().size() > 600, () -> m.archive().files().size() + " files");
            // 600 files staged at once through open writes would be 600 descriptors and 600 MiB of buffers
            assertTrue(most.get() - before < 200, "open descriptors grew from " + before + " to " + most.get());
            assertTrue(new Driller(Fixtures.TOOLS, Progress.SILENT).drill(store, "many", null, 2).proven());
        } finally {
            sealing.set(false);
            sampler.join();
            Fixtures.sql(app, "DROP SCHEMA many CASCADE");
        }
    }

    /** A store whose staged uploads (or their commits) fail after the first few; it completes one upload at a time. */
    static final class FailingStore extends ForwardingStore {
        final AtomicInteger staged = new AtomicInteger();
        final AtomicInteger committed = new AtomicInteger();
        final int failStageAt;
        final int failCommitAt;
        /** Called with the number of the commit that just succeeded. */
        final java.util.function.IntConsumer afterCommit;

        FailingStore(Store delegate, int failStageAt, int failCommitAt) {
            this(delegate, failStageAt, failCommitAt, n -> { });
        }

        FailingStore(Store delegate, int failStageAt, int failCommitAt, java.util.function.IntConsumer afterCommit) {
            super(delegate);
            this.failStageAt = failStageAt;
            this.failCommitAt = failCommitAt;
            this.afterCommit = afterCommit;
        }

        @Override
        public Upload stage(String key, Path file) {
            if (staged.incrementAndGet() == failStageAt) {
                throw new CheckpointException("store.write", "injected: the store refused " + key);
            }
            Upload upload = super.stage(key, file);
            return new Upload() {
                @Override
                public java.io.OutputStream stream() {
                    return upload.stream();
                }

                @Override
                public void commit() {
                    // one completion at a time, so that what afterCommit sees is what came before it
                    synchronized (FailingStore.this) {
                        int number = committed.incrementAndGet();
                        if (number == failCommitAt) {
                            upload.abort();
                            throw new CheckpointException("store.write", "injected: the store refused to complete " + key);
                        }
                        upload.commit();
                        afterCommit.accept(number);
                    }
                }

                @Override
                public void abort() {
                    upload.abort();
                }
            };
        }
    }

    @Test
    void aFailedUploadLeavesNothingAndAFailedCommitLeavesAMarkedOrphanThatNoOneTrusts(@TempDir Path dir) throws Exception {
        Set<String> before = sealDirectories();
        try (Store files = Stores.open("file:" + dir, null)) {
            FailingStore failUpload = new FailingStore(files, 5, -1);
            CheckpointException upload = assertThrows(CheckpointException.class,
                    () -> new Sealer(Fixtures.TOOLS, Progress.SILENT).seal(parallel(failUpload, "fails", 2)));
            assertEquals("store.write", upload.code(), upload.getMessage());
            assertTrue(upload.getMessage().contains("nothing was sealed"), upload.getMessage());
            assertEquals(List.of(), files.keys("fails/"), "a failed upload leaves no object");
            assertFalse(Files.exists(dir.resolve("fails")), "nor a directory that list would show as a tag");
            assertEquals(before, sealDirectories(), "nor local files");

            // the third commit fails: toc.dat and one file are visible, without a manifest
            FailingStore failCommit = new FailingStore(files, -1, 3);
            CheckpointException commit = assertThrows(CheckpointException.class,
                    () -> new Sealer(Fixtures.TOOLS, Progress.SILENT).seal(parallel(failCommit, "half", 2)));
            assertEquals("store.write", commit.code(), commit.getMessage());
            assertTrue(files.exists("half/archive/toc.dat"));
            assertFalse(files.exists("half/" + Manifest.MANIFEST));
            CheckpointException read = assertThrows(CheckpointException.class, () -> Archives.manifest(files, "half"));
            assertEquals("checkpoint.incomplete", read.code(), read.getMessage());
            // a new seal of the tag does not take the files of one that may still be finishing
            CheckpointException young = assertThrows(CheckpointException.class,
                    () -> new Sealer(Fixtures.TOOLS, Progress.SILENT).seal(parallel(files, "half", 2)));
            assertEquals("store.incomplete", young.code(), young.getMessage());
            assertTrue(young.getMessage().contains("half/archive/toc.dat"), young.getMessage());
            // once old enough, the orphan is removed and the tag sealed afresh
            sealAgainOnceOrphaned(dir, files, "half", List.of("half/archive/toc.dat"));
        }
    }

    /** Ages the orphan's objects past {@link Sealer#ORPHAN_AGE}, seals the tag again: only the new archive is left, and proven. */
    private static void sealAgainOnceOrphaned(Path dir, Store files, String tag, List<String> orphan) throws IOException {
        for (String key : orphan) {
            Files.setLastModifiedTime(dir.resolve(key), java.nio.file.attribute.FileTime.from(Instant.now().minusSeconds(120)));
        }
        Manifest m = new Sealer(Fixtures.TOOLS, Progress.SILENT).seal(parallel(files, tag, 2));
        Set<String> expected = new java.util.TreeSet<>(Archives.keys(m));
        expected.add(tag + "/" + Manifest.MANIFEST);
        assertEquals(expected, new java.util.TreeSet<>(files.keys(tag + "/")), "no file of the orphan is left");
        assertTrue(new Driller(Fixtures.TOOLS, Progress.SILENT).drill(files, tag, null, 2).proven());
    }

    /**
     * A seal whose commit phase outlasts the orphan age can have its committed files taken by a
     * second seal of the same tag. It must then write no manifest (one listing files that are
     * gone would burn the tag with a checkpoint that can never be proven), and what it leaves,
     * files without toc.dat, must still be recognised and replaced by a later seal.
     */
    @Test
    void aSealThatLosesCommittedFilesWritesNoManifestAndItsLeftoversAreReplacedLater(@TempDir Path dir) throws Exception {
        try (Store files = Stores.open("file:" + dir, null)) {
            FailingStore takenMidCommit = new FailingStore(files, -1, -1, number -> {
                if (number == 2) {
                    // what the second seal's clean-up does: every committed file, toc.dat last
                    List<String> keys = new ArrayList<>(files.keys("taken/archive/"));
                    keys.sort(Comparator.comparing((String k) -> k.endsWith(Manifest.TOC)));
                    keys.forEach(files::delete);
                }
            });
            CheckpointException lost = assertThrows(CheckpointException.class,
                    () -> new Sealer(Fixtures.TOOLS, Progress.SILENT).seal(parallel(takenMidCommit, "taken", 2)));
            assertEquals("store.incomplete", lost.code(), lost.getMessage());
            assertTrue(lost.getMessage().contains("were removed from the store before the manifest"), lost.getMessage());
            assertFalse(files.exists("taken/" + Manifest.MANIFEST), "no manifest lists files that are gone");
            List<String> left = files.keys("taken/archive/");
            assertFalse(left.isEmpty(), "the files committed after the clean-up stay");
            assertFalse(left.contains("taken/archive/" + Manifest.TOC));

            // the leftovers, without toc.dat: young, they may be a seal finishing; old, they are replaced
            CheckpointException young = assertThrows(CheckpointException.class,
                    () -> new Sealer(Fixtures.TOOLS, Progress.SILENT).seal(parallel(files, "taken", 2)));
            assertEquals("store.incomplete", young.code(), young.getMessage());
            sealAgainOnceOrphaned(dir, files, "taken", left);
        }
    }

    /**
     * pg_dump prints table names in its verbose output, where the seal reads which files are
     * finished. A name with a line break can print a line that looks like pg_dump's "finished
     * item N" for a file a worker is still writing; here one names the big table's data file,
     * and its table is dumped while the big one still is.
     */
    @Test
    void aTableNameThatPrintsAFinishedLineDoesNotMakeTheSealUploadAFileStillBeingWritten(@TempDir Path dir) throws Exception {
        Fixtures.sql(app, "CREATE TABLE decoy (id int); INSERT INTO decoy VALUES (1)");
        String bigItem = dataItem("public", "big", dir.resolve("listing"));
        String name = "decoy\npg_dump: finished item " + bigItem + " TABLE DATA";
        try (var c = Db.connect(app)) {
            Db.execute(c, "ALTER TABLE decoy RENAME TO " + Db.quoteIdent(name));
        }
        assertEquals(bigItem, dataItem("public", "big", dir.resolve("listing-renamed")), "renaming keeps the dump IDs");
        try (Store store = Stores.open("file:" + dir.resolve("store"), null)) {
            List<String> said = new java.util.concurrent.CopyOnWriteArrayList<>();
            Manifest m = new Sealer(Fixtures.TOOLS, said::add).seal(parallel(store, "line-break", 2));
            assertTrue(said.stream().anyMatch(s -> s.contains("contains a line break")), () -> "said: " + said);
            assertEquals(1_000_001L, Fixtures.ledger(m).get("public.big"));
            DrillReport report = new Driller(Fixtures.TOOLS, Progress.SILENT).drill(store, "line-break", null, 2);
            assertTrue(report.proven(), report::toString);
        } finally {
            try (var c = Db.connect(app)) {
                Db.execute(c, "DROP TABLE " + Db.quoteIdent(name));
            }
        }
    }

    /** The dump ID of a table's TABLE DATA item (its data file's name), from pg_dump's own listing. */
    private static String dataItem(String schema, String table, Path listing) throws Exception {
        Path out = Files.createDirectories(listing).resolve("dump");
        run(List.of(Fixtures.TOOLS.path("pg_dump"), "--format=directory", "--file=" + out));
        ProcessBuilder pb = new ProcessBuilder(Fixtures.TOOLS.path("pg_restore"), "--list", out.toString());
        pb.redirectErrorStream(true);
        Process p = pb.start();
        String text = new String(p.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
        assertEquals(0, p.waitFor(), text);
        String wanted = " TABLE DATA " + schema + " " + table + " ";
        return text.lines().filter(l -> l.contains(wanted)).map(l -> l.substring(0, l.indexOf(';'))).findFirst()
                .orElseThrow(() -> new AssertionError("no TABLE DATA item for " + schema + "." + table + " in " + text));
    }

    private static void run(List<String> command) throws Exception {
        ProcessBuilder pb = new ProcessBuilder(command);
        pb.environment().putAll(app.libpqEnv());
        pb.redirectErrorStream(true);
        Process p = pb.start();
        String text = new String(p.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
        assertEquals(0, p.waitFor(), text);
    }

    /** --timeout bounds the whole seal: uploads still running when it expires are stopped, not waited for. */
    @Test
    void theTimeoutStopsTheLastUploadsInsteadOfWaitingForThem(@TempDir Path dir) throws Exception {
        Set<String> before = sealDirectories();
        try (Store files = Stores.open("file:" + dir, null)) {
            ForwardingStore slow = new ForwardingStore(files) {
                @Override
                public Upload stage(String key, Path file) {
                    try {
                        Thread.sleep(3_000); // a store far slower than pg_dump
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                        throw new CheckpointException("interrupted", "interrupted while uploading " + key);
                    }
                    return super.stage(key, file);
                }
            };
            Duration timeout = Duration.ofSeconds(5);
            long start = System.nanoTime();
            CheckpointException e = assertThrows(CheckpointException.class, () -> new Sealer(Fixtures.TOOLS, Progress.SILENT)
                    .seal(parallel(slow, "slow", 2).withLimits(new Sealer.Limits(Duration.ofSeconds(30), timeout))));
            Duration took = Duration.ofNanos(System.nanoTime() - start);
            assertEquals("seal.timeout", e.code(), e.getMessage());
            assertTrue(took.compareTo(timeout.plusSeconds(6)) < 0, "stopped " + took.toMillis() + " ms after the start, "
                    + "with a timeout of " + timeout.toMillis() + " ms");
            assertEquals(List.of(), files.keys("slow/"), "nothing of the stopped seal is visible");
            assertEquals(before, sealDirectories(), "nor left on local disk");
        }
    }

    /** pg_dump's directory format has a file per large object: past a limit, one stream uploads them instead. */
    @Test
    void manyLargeObjectsAreSealedAsOneStreamAndSaidSo(@TempDir Path dir) {
        long extra = Sealer.MAX_DIRECTORY_LARGE_OBJECTS;
        long before = Fixtures.count(app, "SELECT count(*) FROM pg_largeobject_metadata");
        long newest = Fixtures.count(app, "SELECT coalesce(max(oid::text::bigint), 0) FROM pg_largeobject_metadata");
        Fixtures.sql(app, "SELECT lo_from_bytea(0, convert_to('object ' || g, 'UTF8')) FROM generate_series(1, " + extra + ") g");
        try (Store store = Stores.open("file:" + dir, null)) {
            List<String> said = new java.util.concurrent.CopyOnWriteArrayList<>();
            Manifest m = new Sealer(Fixtures.TOOLS, said::add).seal(parallel(store, "objects", 2));
            assertTrue(said.stream().anyMatch(s -> s.contains("large objects would be as many files")
                    && s.contains("one stream, not 2 workers")), () -> "said: " + said);
            assertEquals("custom", m.archive().format());
            assertEquals(Manifest.ARCHIVE, m.archive().file());
            assertEquals(before + extra, m.ledger().largeObjects());
            DrillReport report = new Driller(Fixtures.TOOLS, Progress.SILENT).drill(store, "objects", null, 2);
            assertTrue(report.proven(), report::toString);
        } finally {
            Fixtures.sql(app, "SELECT lo_unlink(oid) FROM pg_largeobject_metadata WHERE oid::text::bigint > " + newest);
        }
    }

    @Test
    void jobsOutOfRangeAreRefusedBeforeAnythingRuns(@TempDir Path dir) {
        try (Store store = Stores.open("file:" + dir, null)) {
            for (int jobs : new int[] {0, -1, Sealer.MAX_JOBS + 1}) {
                CheckpointException e = assertThrows(CheckpointException.class, () -> parallel(store, "bad", jobs));
                assertEquals("usage.jobs", e.code());
                assertTrue(e.getMessage().contains("between 1 and " + Sealer.MAX_JOBS), e.getMessage());
            }
            assertEquals(List.of(), store.listTags());
        }
    }
}
