package io.pgcheckpoint.engine;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.SQLException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.concurrent.CompletableFuture;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Stream;

/**
 * Proves a checkpoint: download and verify the archive, restore it with pg_restore into an
 * empty PostgreSQL, count every ledger table and compare. {@code proven} is true only when
 * every count matches; the report is written to {@code drill.json} beside the archive either way.
 */
public final class Driller {
    /**
     * A throwaway server's own database, initdb's "postgres" (UTF8, C.UTF-8, as empty as template0
     * and checked to be empty): the restore goes there rather than into a database created for it.
     */
    public static final String DRILL_DATABASE = "postgres";
    /** How long a drill waits for a --target server that is still booting. */
    static final java.time.Duration SERVER_PATIENCE = java.time.Duration.ofMinutes(3);
    private final PgTools tools;
    private final Progress progress;

    public Driller(PgTools tools, Progress progress) {
        this.tools = tools;
        this.progress = progress;
    }

    /**
     * @param target an empty database to restore into, or null for a throwaway local server of
     *               the source's major (else the lowest newer one installed)
     */
    public DrillReport drill(Store store, String tag, DbTarget target, int jobs) {
        long started = System.nanoTime();
        Manifest manifest = Archives.manifest(store, tag);
        // Every version check comes before the download: pg_restore that reads the archive, and a
        // drill server of at least the source's major.
        PgTools restoreTools = tools.forArchive(manifest.pgDumpMajor(), manifest.pgDumpVersion());
        PgTools serverTools = target != null ? null
                : tools.forDrillServer(manifest.sourceMajor(), manifest.serverVersion(), progress);
        if (target != null) {
            checkTarget(manifest, target);
        }
        Path work = tempDir();
        // The throwaway server boots (initdb, start) while the archive downloads.
        CompletableFuture<LocalPostgres> server = target != null ? null
                : CompletableFuture.supplyAsync(() -> startThrowaway(serverTools, progress));
        try {
            progress.step("downloading " + store.uri(Manifest.key(tag, manifest.archive().file())) + " ("
                    + Sizes.human(manifest.archive().bytes()) + (manifest.archive().isDirectory()
                    ? " in " + manifest.archive().files().size() + " files) and verifying each one's sha256"
                    : ") and verifying its sha256"));
            long downloadStart = System.nanoTime();
            Path archive;
            try {
                archive = Archives.download(store, manifest, work, progress);
            } catch (CheckpointException e) {
                if (e.code().equals("archive.checksum")) {
                    recordFailure(store, manifest, e);
                }
                throw e;
            }
            long downloadMillis = Sealer.millisSince(downloadStart);
            if (server == null) {
                return drillInto(store, manifest, archive, target, restoreTools, jobs, started, downloadMillis);
            }
            try (LocalPostgres pg = join(server)) {
                return drillInto(store, manifest, archive, pg.target(DRILL_DATABASE), restoreTools, jobs, started, downloadMillis);
            }
        } finally {
            if (server != null) {
                // Also on failure paths: wait for the server to finish booting, then remove it.
                try {
                    join(server).close();
                } catch (RuntimeException ignored) {
                    // it never started; LocalPostgres.start cleaned up after itself
                }
            }
            deleteTree(work);
        }
    }

    private static LocalPostgres startThrowaway(PgTools tools, Progress progress) {
        return LocalPostgres.start(tools, progress);
    }

    private static LocalPostgres join(CompletableFuture<LocalPostgres> server) {
        try {
            return server.join();
        } catch (java.util.concurrent.CompletionException e) {
            if (e.getCause() instanceof CheckpointException ce) {
                throw ce;
            }
            throw e;
        }
    }

    /**
     * A given drill server: waits until it accepts connections, then refuses it, before anything is
     * downloaded, when it is older than the source or not empty.
     */
    private void checkTarget(Manifest manifest, DbTarget target) {
        try (Connection c = Db.connectWaiting(target, SERVER_PATIENCE, progress)) {
            String serverVersion = Db.queryString(c, "SHOW server_version");
            int sourceMajor = manifest.sourceMajor();
            int major = Db.serverMajor(c);
            if (major < sourceMajor) {
                String image = System.getenv("PGCHECKPOINT_DRILL_SERVER_IMAGE");
                throw new CheckpointException("drill.version", "the drill server " + (image == null || image.isBlank() ? ""
                        : "(image " + image + ") ") + "runs PostgreSQL " + serverVersion + " but the checkpoint comes from "
                        + "PostgreSQL " + manifest.serverVersion() + ": a drill server must be PostgreSQL " + sourceMajor
                        + " or newer, so nothing was downloaded; " + (image == null || image.isBlank()
                        ? "drill into a PostgreSQL " + sourceMajor + " server"
                        : "use a PostgreSQL " + sourceMajor + " image, e.g. the default postgres:{major} (spec.drill.image)"));
            }
            if (major > sourceMajor) {
                progress.step("the drill server runs PostgreSQL " + serverVersion + ", newer than the source's "
                        + manifest.serverVersion() + ": the archive is proven on " + major + ", not on " + sourceMajor);
            }
            refuseNonEmpty(c, target);
        } catch (SQLException e) {
            throw new CheckpointException("drill.server", "cannot inspect the drill target " + target.describe() + ": " + e.getMessage(), e);
        }
    }

    private DrillReport drillInto(Store store, Manifest manifest, Path archive, DbTarget target, PgTools restoreTools, int jobs,
                                  long started, long downloadMillis) {
        String serverVersion;
        int serverMajor;
        Set<String> settings;
        try (Connection c = Db.connectWaiting(target, SERVER_PATIENCE, progress)) {
            serverVersion = Db.queryString(c, "SHOW server_version");
            serverMajor = Db.serverMajor(c);
            // checked before the download already; a throwaway server is checked here
            if (Db.serverMajor(c) < manifest.sourceMajor()) {
                throw new CheckpointException("drill.version", "the drill server runs PostgreSQL " + serverVersion
                        + " but the checkpoint comes from " + manifest.serverVersion() + ": use a drill server of major version "
                        + manifest.sourceMajor() + " or newer");
            }
            refuseNonEmpty(c, target);
            settings = UnknownSettings.settings(c);
        } catch (SQLException e) {
            throw new CheckpointException("drill.server", "cannot inspect the drill target " + target.describe() + ": " + e.getMessage(), e);
        }
        String pgRestoreVersion = restoreTools.version("pg_restore");
        List<String> notes = new ArrayList<>();
        // tables counted while pg_restore was still building indexes, each once its data was in
        Map<Ledger.Entry, Long> early = new java.util.concurrent.ConcurrentHashMap<>();
        long restoreStart = System.nanoTime();
        PgTools.Result restore;
        if (PgTools.major(pgRestoreVersion) > serverMajor) {
            // A newer pg_restore sets what an older server lacks (pg_restore 17+: transaction_timeout,
            // unknown before PostgreSQL 17) and a direct restore stops at it: its SQL goes through
            // psql instead, without those settings, as `pgcheckpoint restore` does.
            String note = "restored with " + PgTools.shortVersion(pgRestoreVersion) + " through psql, leaving out the settings"
                    + " PostgreSQL " + serverMajor + " does not have (pg_restore " + PgTools.major(pgRestoreVersion) + " -d into PostgreSQL "
                    + serverMajor + " stops at them): restore this archive with pgcheckpoint restore, or dump PostgreSQL "
                    + serverMajor + " sources with pg_dump " + serverMajor + " (postgresql-client-" + serverMajor + ")";
            notes.add(note);
            progress.step("restoring into PostgreSQL " + serverVersion + " (" + target.describe() + "): " + note);
            restore = restoreThroughPsql(restoreTools, archive, target, new UnknownSettings(settings));
        } else {
            progress.step("restoring into PostgreSQL " + serverVersion + " (" + target.describe() + ") with "
                    + PgTools.shortVersion(pgRestoreVersion) + " -j " + jobs);
            restore = restoreCountingLoaded(restoreTools, archive, target, jobs, manifest, early);
        }
        long restoreMillis = Sealer.millisSince(restoreStart);
        if (restore.exitCode() != 0) {
            CheckpointException e = new CheckpointException("drill.restore", "pg_restore of '" + manifest.tag()
                    + "' failed (exit " + restore.exitCode() + "): " + PgTools.errorSummary(restore.stderr())
                    + ": the archive cannot be restored as is; check that the drill server has the extensions and version the source uses");
            recordFailure(store, manifest, e);
            throw e;
        }
        progress.step("restored in " + restoreMillis / 1000.0 + " s; " + (early.isEmpty() ? ""
                : early.size() + " table(s) counted as soon as their data was in, ") + "counting "
                + (manifest.ledger().tableCount() - early.size()) + " table(s)");

        long countStart = System.nanoTime();
        List<DrillReport.Mismatch> mismatches = new ArrayList<>();
        long rows = 0;
        long largeObjects;
        int views = 0;
        try (Connection c = Db.connect(target)) {
            for (Ledger.Entry entry : manifest.ledger().tables()) {
                if (entry.isMaterializedView()) {
                    // format 1 manifests listed views with their stored rows: only their refresh is checked
                    views += checkRefreshed(c, entry.schema(), entry.name(), mismatches);
                    continue;
                }
                Long found = early.containsKey(entry) ? early.get(entry) : countIfExists(c, entry);
                if (found == null || found != entry.rows()) {
                    mismatches.add(new DrillReport.Mismatch(entry.display(), entry.rows(), found));
                }
                rows += found == null ? 0 : found;
            }
            // The archive holds no view rows: pg_restore refreshed each view from the restored
            // tables, and --exit-on-error failed the restore if a refresh failed.
            for (Ledger.View view : manifest.ledger().views()) {
                views += checkRefreshed(c, view.schema(), view.name(), mismatches);
            }
            largeObjects = Ledger.largeObjects(c);
        } catch (SQLException e) {
            throw new CheckpointException("drill.count", "counting the restored tables failed: " + e.getMessage(), e);
        }
        if (largeObjects != manifest.ledger().largeObjects()) {
            mismatches.add(new DrillReport.Mismatch("(large objects)", manifest.ledger().largeObjects(), largeObjects));
        }
        long countMillis = Sealer.millisSince(countStart);
        DrillReport report = new DrillReport(manifest.tag(), mismatches.isEmpty(), Instant.now(), serverVersion,
                pgRestoreVersion, manifest.ledger().tableCount(), rows, manifest.ledger().largeObjects(), largeObjects,
                mismatches, downloadMillis, restoreMillis, countMillis, Sealer.millisSince(started), null, views, notes);
        writeReport(store, manifest, report);
        progress.step(report.proven()
                ? "PROVEN: " + report.tablesChecked() + " tables, " + rows + " rows match the ledger"
                        + (views == 0 ? "" : "; " + views + " materialized view(s) refreshed")
                : "FAILED: " + mismatches.size() + " count(s) differ from the ledger, first: " + mismatches.get(0).describe());
        return report;
    }

    /**
     * {@code pg_restore --jobs=N} into the target; with N &gt; 1 also {@code --verbose}, and each ledger
     * table whose TABLE DATA item pg_restore reports finished ({@link DataLoads}) is counted at once,
     * in a session of its own, while pg_restore goes on with indexes and constraints. The counts go
     * into {@code counted} only when pg_restore succeeded; a table not counted there (no such line,
     * its lock held by pg_restore's ALTER TABLE, an error) is counted after the restore, as before.
     */
    private static PgTools.Result restoreCountingLoaded(PgTools tools, Path archive, DbTarget target, int jobs,
                                                        Manifest manifest, Map<Ledger.Entry, Long> counted) {
        Map<Integer, Ledger.Entry> countable = Map.of();
        if (jobs > 1) {
            try {
                countable = DataLoads.countable(new Toc(tools, archive).entries(), manifest.ledger().tables());
            } catch (CheckpointException e) {
                // the archive's list cannot be read: pg_restore itself says why below
            }
        }
        List<String> command = new ArrayList<>(List.of(tools.path("pg_restore"), "--jobs=" + jobs, "--exit-on-error",
                "--no-owner", "--no-privileges", "--no-tablespaces", "--no-subscriptions", "--no-publications",
                "--no-password", "--dbname=" + target.database()));
        if (!countable.isEmpty()) {
            command.add("--verbose");
        }
        command.add(archive.toString());
        ProcessBuilder pb = new ProcessBuilder(command);
        pb.environment().putAll(target.libpqEnv());
        messagesUntranslated(pb.environment());
        LoadedCounter counter = countable.isEmpty() ? null : new LoadedCounter(target);
        try {
            Process p = pb.start();
            p.getOutputStream().close();
            Map<Integer, Ledger.Entry> items = countable;
            PgTools.StderrTail err = counter == null ? PgTools.StderrTail.drain(p.getErrorStream())
                    : PgTools.StderrTail.drain(p.getErrorStream(), line -> {
                        DataLoads.loaded(line, items).ifPresent(counter::offer);
                        if (DataLoads.anyFinished(line)) {
                            counter.retryLocked();
                        }
                    });
            String out = new String(p.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
            int exit = p.waitFor();
            String stderr = err.text(); // every line has been seen once the drain has ended
            if (counter != null) {
                Map<Ledger.Entry, Long> counts = exit == 0 ? counter.finish() : counter.abandon();
                counted.putAll(counts);
            }
            return new PgTools.Result(exit, out, stderr);
        } catch (IOException e) {
            throw new CheckpointException("tools.missing", "cannot run pg_restore: " + e.getMessage(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new CheckpointException("interrupted", "interrupted while restoring");
        } finally {
            if (counter != null) {
                counter.abandon();
            }
        }
    }

    /** pg_restore's progress lines are matched in English: no translation, whatever the locale. */
    static void messagesUntranslated(Map<String, String> env) {
        String all = env.remove("LC_ALL");
        if (all != null && !env.containsKey("LC_CTYPE")) {
            env.put("LC_CTYPE", all);
        }
        env.remove("LANGUAGE");
        env.put("LC_MESSAGES", "C");
    }

    /**
     * Counts tables one after the other, on its own thread and session, as they are offered. A
     * table whose lock pg_restore holds (ALTER TABLE ... ADD PRIMARY KEY takes ACCESS EXCLUSIVE)
     * is not waited for: lock_timeout gives up on it, it is tried again when pg_restore next
     * finishes an item (at most {@value #TRIES} times), else counted after the restore.
     */
    private static final class LoadedCounter {
        private static final Ledger.Entry END = new Ledger.Entry("", "", "", -1);
        static final int TRIES = 20;
        private final java.util.concurrent.BlockingQueue<Ledger.Entry> queue = new java.util.concurrent.LinkedBlockingQueue<>();
        private final Map<Ledger.Entry, Long> counts = new java.util.concurrent.ConcurrentHashMap<>();
        private final Map<Ledger.Entry, Integer> locked = new java.util.concurrent.ConcurrentHashMap<>();
        private final Thread thread;
        private volatile boolean abandoned;

        LoadedCounter(DbTarget target) {
            thread = new Thread(() -> run(target), "drill-count-loaded");
            thread.setDaemon(true);
            thread.start();
        }

        void offer(Ledger.Entry table) {
            queue.add(table);
        }

        /** Offers again the tables whose lock was held the last time. */
        void retryLocked() {
            for (Ledger.Entry table : List.copyOf(locked.keySet())) {
                Integer tries = locked.remove(table);
                if (tries != null) {
                    queue.add(table);
                }
            }
        }

        private void run(DbTarget target) {
            Map<Ledger.Entry, Integer> tries = new java.util.HashMap<>();
            try (Connection c = Db.connect(target)) {
                Db.execute(c, "SET lock_timeout = '100ms'");
                while (true) {
                    Ledger.Entry table = queue.take();
                    if (table == END || abandoned) {
                        return;
                    }
                    try {
                        counts.put(table, Ledger.count(c, table.schema(), table.name(), table.filter()));
                        tries.remove(table);
                    } catch (SQLException e) {
                        if (c.isClosed() || !c.isValid(5)) {
                            return;
                        }
                        int tried = tries.merge(table, 1, Integer::sum);
                        if ("55P03".equals(e.getSQLState()) && tried < TRIES) {
                            locked.put(table, tried);
                        }
                        // else failed: counted after the restore
                    }
                }
            } catch (SQLException | RuntimeException e) {
                // every table not counted here is counted after the restore
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }

        /** Counts what is still offered, then returns every count taken. */
        Map<Ledger.Entry, Long> finish() throws InterruptedException {
            queue.add(END);
            thread.join();
            return abandoned ? Map.of() : Map.copyOf(counts);
        }

        /** Stops after the count under way; nothing it counted is used. */
        Map<Ledger.Entry, Long> abandon() {
            abandoned = true;
            queue.add(END);
            return Map.of();
        }
    }

    /**
     * {@code pg_restore --file=-} into psql (stopping at the first error, like --exit-on-error),
     * each line through {@code filter}; one session, no parallel jobs. The result carries the
     * first failure's exit code and both tools' error output.
     */
    private static PgTools.Result restoreThroughPsql(PgTools tools, Path archive, DbTarget target,
                                                     java.util.function.UnaryOperator<String> filter) {
        try {
            Process restore = new ProcessBuilder(tools.path("pg_restore"), "--file=-", "--no-owner", "--no-privileges",
                    "--no-tablespaces", "--no-subscriptions", "--no-publications", archive.toString()).start();
            restore.getOutputStream().close();
            PgTools.StderrTail restoreErr = PgTools.StderrTail.drain(restore.getErrorStream());
            ProcessBuilder pb = new ProcessBuilder(tools.path("psql"), "--no-psqlrc", "--quiet", "--set=ON_ERROR_STOP=1",
                    "--no-password", "--dbname=" + target.database(), "--file=-");
            pb.environment().putAll(target.libpqEnv());
            pb.redirectOutput(ProcessBuilder.Redirect.DISCARD);
            Process psql = pb.start();
            PgTools.StderrTail psqlErr = PgTools.StderrTail.drain(psql.getErrorStream());
            try (var in = new java.io.BufferedReader(new java.io.InputStreamReader(restore.getInputStream(),
                         java.nio.charset.StandardCharsets.UTF_8), 1 << 16);
                 var out = new java.io.BufferedWriter(new java.io.OutputStreamWriter(psql.getOutputStream(),
                         java.nio.charset.StandardCharsets.UTF_8), 1 << 16)) {
                String line;
                while ((line = in.readLine()) != null) {
                    out.write(filter.apply(line));
                    out.write('\n');
                }
            } catch (IOException e) {
                // psql stopped at an error; its exit code and stderr say which
                restore.destroy();
            }
            int psqlExit = psql.waitFor();
            int restoreExit = restore.waitFor();
            int exit = psqlExit != 0 ? psqlExit : restoreExit;
            return new PgTools.Result(exit, "", (restoreErr.text() + "\n" + psqlErr.text()).strip());
        } catch (IOException e) {
            throw new CheckpointException("tools.missing", "cannot run pg_restore and psql: " + e.getMessage(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new CheckpointException("interrupted", "interrupted while restoring");
        }
    }


    /** The restored table's rows (with an extension configuration table's filter); null when it is missing. */
    private static Long countIfExists(Connection c, Ledger.Entry entry) throws SQLException {
        try (var st = c.prepareStatement("SELECT to_regclass(?) IS NOT NULL")) {
            st.setString(1, entry.qualifiedName());
            try (var rs = st.executeQuery()) {
                rs.next();
                return rs.getBoolean(1) ? Ledger.count(c, entry.schema(), entry.name(), entry.filter()) : null;
            }
        }
    }

    /** A materialized view must come back populated: 1 when it did, else a mismatch naming it. */
    private static int checkRefreshed(Connection c, String schema, String name, List<DrillReport.Mismatch> mismatches)
            throws SQLException {
        try (var st = c.prepareStatement("SELECT relispopulated FROM pg_class WHERE oid = to_regclass(?)")) {
            st.setString(1, Db.qualified(schema, name));
            try (var rs = st.executeQuery()) {
                if (rs.next() && rs.getBoolean(1)) {
                    return 1;
                }
            }
        }
        mismatches.add(new DrillReport.Mismatch(schema + "." + name + " (materialized view, not refreshed)", 1, null));
        return 0;
    }

    /** A drill restores into the database it is given: it must hold nothing that could be mixed up with the restore. */
    private static void refuseNonEmpty(Connection c, DbTarget target) throws SQLException {
        long relations = Db.queryLong(c, """
                SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                 WHERE c.relkind IN ('r','p','v','m','S','f')
                   AND n.nspname NOT IN ('pg_catalog','information_schema') AND n.nspname NOT LIKE 'pg\\_%'
                """);
        if (relations > 0) {
            throw new CheckpointException("drill.target-not-empty", "drill target " + target.describe() + " is not empty ("
                    + relations + " relations): a drill needs an empty database it may fill; create one (CREATE DATABASE) or omit --target to use a throwaway server");
        }
    }

    private void recordFailure(Store store, Manifest manifest, CheckpointException e) {
        DrillReport report = new DrillReport(manifest.tag(), false, Instant.now(), null, null, 0, 0,
                manifest.ledger().largeObjects(), 0, List.of(), 0, 0, 0, 0, e.getMessage(), 0, List.of());
        try {
            writeReport(store, manifest, report);
        } catch (CheckpointException ignored) {
            // the drill's own failure is what the caller must see
        }
    }

    static Path tempDir() {
        try {
            return Files.createTempDirectory("pgcheckpoint-");
        } catch (IOException e) {
            throw new CheckpointException("local.io", "cannot create a temporary directory: " + e.getMessage(), e);
        }
    }

    static void deleteTree(Path dir) {
        try (Stream<Path> walk = Files.walk(dir)) {
            walk.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (IOException ignored) {
            // temporary files only
        }
    }

    /**
     * drill.json gets the checkpoint's own Object Lock (while it still holds: a retain-until
     * in the past cannot be set) and, unless the command gives its own, its encryption.
     */
    static void writeReport(Store store, Manifest manifest, DrillReport report) {
        if (store.protection().encryption() == null && manifest.encryption() != null) {
            store.protect(store.protection().withEncryption(manifest.encryption()));
        }
        Manifest.ObjectLock lock = manifest.objectLock() != null && manifest.objectLock().holdsAt(Instant.now().plusSeconds(5))
                ? manifest.objectLock() : null;
        store.put(Manifest.key(manifest.tag(), Manifest.DRILL), Json.bytes(report), lock);
    }
}
