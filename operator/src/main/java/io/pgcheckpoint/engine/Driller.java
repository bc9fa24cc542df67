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
import java.util.Set;
import java.util.stream.Stream;

/**
 * Proves a checkpoint: download and verify the archive, restore it with pg_restore into an
 * empty PostgreSQL, count every ledger table and compare. {@code proven} is true only when
 * every count matches; the report is written to {@code drill.json} beside the archive either way.
 */
public final class Driller {
    public static final String DRILL_DATABASE = "pgcheckpoint_drill";
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
                    + Sizes.human(manifest.archive().bytes()) + ") and verifying its sha256");
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
        LocalPostgres pg = LocalPostgres.start(tools, progress);
        try (Connection c = Db.connect(pg.target("postgres"))) {
            Db.execute(c, "CREATE DATABASE " + DRILL_DATABASE + " TEMPLATE template0 ENCODING 'UTF8'");
            return pg;
        } catch (SQLException e) {
            pg.close();
            throw new CheckpointException("drill.server", "cannot create the drill database: " + e.getMessage(), e);
        }
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
            restore = PgTools.run(List.of(restoreTools.path("pg_restore"), "--jobs=" + jobs, "--exit-on-error",
                    "--no-owner", "--no-privileges", "--no-tablespaces", "--no-subscriptions", "--no-publications",
                    "--no-password", "--dbname=" + target.database(), archive.toString()), target.libpqEnv());
        }
        long restoreMillis = Sealer.millisSince(restoreStart);
        if (restore.exitCode() != 0) {
            CheckpointException e = new CheckpointException("drill.restore", "pg_restore of '" + manifest.tag()
                    + "' failed (exit " + restore.exitCode() + "): " + PgTools.errorSummary(restore.stderr())
                    + ": the archive cannot be restored as is; check that the drill server has the extensions and version the source uses");
            recordFailure(store, manifest, e);
            throw e;
        }
        progress.step("restored in " + restoreMillis / 1000.0 + " s; counting " + manifest.ledger().tableCount() + " tables");

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
                Long found = countIfExists(c, entry);
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
