package io.pgcheckpoint.engine;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;

/**
 * Seals a checkpoint: one REPEATABLE READ transaction exports a snapshot, {@code pg_dump -Fc
 * --snapshot} streams the archive into the store with a sha256 computed on the way, and the
 * ledger is counted in the same snapshot while the dump runs. {@code manifest.json} is
 * written last; any failure before it leaves nothing that looks like a checkpoint.
 */
public final class Sealer {
    private final PgTools tools;
    private final Progress progress;

    public Sealer(PgTools tools, Progress progress) {
        this.tools = tools;
        this.progress = progress;
    }

    public record Request(DbTarget db, Store store, String tag, String commit, String reason, int compression,
                          Exclusions exclusions) {
        public Request(DbTarget db, Store store, String tag, String commit, String reason, int compression) {
            this(db, store, tag, commit, reason, compression, Exclusions.NONE);
        }
    }

    public Manifest seal(Request request) {
        String tag = Tags.check(request.tag());
        Store store = request.store();
        long started = System.nanoTime();
        Instant createdAt = Instant.now();
        if (request.compression() < 0 || request.compression() > 9) {
            throw new CheckpointException("usage.compression", "compression must be 0-9, got " + request.compression());
        }
        if (store.exists(Manifest.key(tag, Manifest.MANIFEST)) || store.exists(Manifest.key(tag, Manifest.ARCHIVE))) {
            throw new CheckpointException("store.exists", "checkpoint '" + tag + "' already exists in " + store.uri()
                    + ": checkpoints are never overwritten; choose a new tag");
        }
        String pgDumpVersion = tools.version("pg_dump");
        progress.step("connecting to " + request.db().describe());
        try (Connection c = Db.connect(request.db())) {
            String serverVersion = Db.queryString(c, "SHOW server_version");
            int serverMajor = Db.serverMajor(c);
            if (PgTools.major(pgDumpVersion) < serverMajor) {
                throw new CheckpointException("tools.version-mismatch", "pg_dump " + PgTools.major(pgDumpVersion)
                        + " cannot dump PostgreSQL " + serverVersion + ": use pg_dump " + serverMajor
                        + " or newer (install postgresql-client-" + serverMajor + " or use a newer pgcheckpoint image)");
            }
            c.setAutoCommit(false);
            c.setTransactionIsolation(Connection.TRANSACTION_REPEATABLE_READ);
            c.setReadOnly(true);
            // Like pg_dump: an error instead of silently filtered rows.
            Db.execute(c, "SET LOCAL row_security = off");
            String snapshot;
            Instant snapshotTime;
            try (Statement st = c.createStatement();
                 ResultSet rs = st.executeQuery("SELECT pg_export_snapshot(), clock_timestamp()")) {
                rs.next();
                snapshot = rs.getString(1);
                snapshotTime = rs.getTimestamp(2).toInstant();
            }
            List<Ledger.Relation> relations = Ledger.relations(c, request.exclusions());
            refuseHiddenRows(c, relations);
            progress.step("snapshot " + snapshot + " exported; dumping " + relations.size() + " tables to "
                    + store.uri(Manifest.key(tag, Manifest.ARCHIVE)));

            Dump dump = startDump(request, snapshot);
            List<Ledger.Entry> entries;
            long largeObjects;
            long countStart = System.nanoTime();
            try {
                entries = Ledger.countAll(c, relations, progress);
                largeObjects = Ledger.largeObjects(c);
            } catch (SQLException e) {
                dump.cancel();
                throw new CheckpointException("ledger.count", "counting rows failed: " + e.getMessage()
                        + ": the role must be able to SELECT every table it dumps", e);
            }
            long countMillis = millisSince(countStart);
            progress.step("ledger counted in the dump's snapshot: " + entries.size() + " tables, "
                    + entries.stream().mapToLong(Ledger.Entry::rows).sum() + " rows, " + largeObjects + " large objects");
            Dump.Result result = dump.finish();
            c.rollback();

            long totalRows = entries.stream().mapToLong(Ledger.Entry::rows).sum();
            Manifest manifest = new Manifest(Manifest.FORMAT_VERSION, tag, request.commit(), request.reason(),
                    request.db().describe(), createdAt, snapshotTime, serverVersion, pgDumpVersion,
                    new Manifest.Archive(Manifest.ARCHIVE, result.bytes(), result.sha256(), "custom",
                            "gzip:" + request.compression()),
                    new Manifest.LedgerSummary(entries.size(), totalRows, largeObjects, entries),
                    new Manifest.Timings(countMillis, result.millis(), millisSince(started)),
                    request.exclusions().schemas().isEmpty() && request.exclusions().tables().isEmpty() ? null : request.exclusions());
            writeManifest(store, tag, manifest);
            progress.step("sealed " + store.uri(Manifest.key(tag, Manifest.MANIFEST)) + " (" + Sizes.human(result.bytes())
                    + ", sha256 " + result.sha256().substring(0, 12) + "…)");
            return manifest;
        } catch (SQLException e) {
            throw new CheckpointException("database.error", "database error while sealing '" + tag + "': " + e.getMessage(), e);
        }
    }

    private static void writeManifest(Store store, String tag, Manifest manifest) {
        try {
            store.putNew(Manifest.key(tag, Manifest.MANIFEST), Json.bytes(manifest));
        } catch (CheckpointException e) {
            // An archive without a manifest is not a checkpoint; remove the one this run wrote.
            try {
                store.delete(Manifest.key(tag, Manifest.ARCHIVE));
            } catch (CheckpointException ignored) {
                // still no manifest, so it is never taken for a checkpoint
            }
            throw new CheckpointException(e.code(), "writing the manifest failed, so '" + tag
                    + "' was not sealed: " + e.getMessage(), e);
        }
    }

    /**
     * Row-level security would make a non-bypassing role's counts short; refuse before dumping.
     * Superusers, BYPASSRLS roles and table owners (without FORCE) see every row.
     */
    private static void refuseHiddenRows(Connection c, List<Ledger.Relation> relations) throws SQLException {
        boolean bypass;
        try (Statement st = c.createStatement();
             ResultSet rs = st.executeQuery("SELECT rolsuper OR rolbypassrls FROM pg_roles WHERE rolname = current_user")) {
            bypass = rs.next() && rs.getBoolean(1);
        }
        if (bypass) {
            return;
        }
        List<String> hidden = new ArrayList<>();
        for (Ledger.Relation r : relations) {
            if (r.rowSecurity() && (!r.ownedByCurrentRole() || r.forceRowSecurity())) {
                hidden.add(r.schema() + "." + r.name());
            }
        }
        if (!hidden.isEmpty()) {
            String user = Db.queryString(c, "SELECT current_user");
            throw new CheckpointException("database.row-security", "role '" + user + "' cannot see every row of "
                    + hidden.size() + " table(s) with row-level security (" + String.join(", ", hidden.subList(0, Math.min(5, hidden.size())))
                    + (hidden.size() > 5 ? ", …" : "") + "), so the ledger would lie: run as the tables' owner or grant BYPASSRLS "
                    + "(ALTER ROLE " + user + " BYPASSRLS)");
        }
    }

    private Dump startDump(Request request, String snapshot) {
        List<String> command = new ArrayList<>(List.of(tools.path("pg_dump"), "--format=custom",
                "--compress=" + request.compression(), "--snapshot=" + snapshot, "--no-password"));
        command.addAll(request.exclusions().pgDumpArguments());
        // The upload first: a store that refuses it must not leave a pg_dump running.
        Store.Upload upload = request.store().create(Manifest.key(request.tag(), Manifest.ARCHIVE));
        try {
            ProcessBuilder pb = new ProcessBuilder(command);
            pb.environment().putAll(request.db().libpqEnv());
            Process process = pb.start();
            process.getOutputStream().close();
            return new Dump(process, upload, progress);
        } catch (IOException e) {
            upload.abort();
            throw new CheckpointException("tools.missing", "cannot start pg_dump: " + e.getMessage(), e);
        }
    }

    static long millisSince(long nanoStart) {
        return (System.nanoTime() - nanoStart) / 1_000_000;
    }

    /** A running pg_dump whose stdout is pumped into an upload on its own thread. */
    private static final class Dump {
        record Result(long bytes, String sha256, long millis) {
        }

        private final Process process;
        private final Store.Upload upload;
        private final PgTools.StderrTail stderr;
        private final Thread pump;
        private final Thread shutdownHook;
        private final AtomicLong bytes = new AtomicLong();
        private final AtomicReference<Exception> pumpFailure = new AtomicReference<>();
        private final MessageDigest sha256;
        private final long started = System.nanoTime();

        Dump(Process process, Store.Upload upload, Progress progress) {
            this.process = process;
            this.upload = upload;
            this.stderr = PgTools.StderrTail.drain(process.getErrorStream());
            try {
                this.sha256 = MessageDigest.getInstance("SHA-256");
            } catch (NoSuchAlgorithmException e) {
                throw new IllegalStateException(e);
            }
            // SIGTERM (a Job's deadline, Ctrl-C) must not leave a half upload behind.
            this.shutdownHook = new Thread(() -> {
                process.destroyForcibly();
                upload.abort();
            }, "seal-abort");
            Runtime.getRuntime().addShutdownHook(shutdownHook);
            this.pump = new Thread(() -> pump(progress), "pg_dump-pump");
            pump.start();
        }

        private void pump(Progress progress) {
            byte[] buffer = new byte[1 << 20];
            long lastReport = System.nanoTime();
            try (InputStream in = process.getInputStream()) {
                OutputStream out = upload.stream();
                int n;
                while ((n = in.read(buffer)) > 0) {
                    sha256.update(buffer, 0, n);
                    out.write(buffer, 0, n);
                    long total = bytes.addAndGet(n);
                    if (System.nanoTime() - lastReport > 5_000_000_000L) {
                        progress.step("dumped " + Sizes.human(total));
                        lastReport = System.nanoTime();
                    }
                }
            } catch (Exception e) {
                pumpFailure.set(e);
                process.destroyForcibly();
            }
        }

        void cancel() {
            process.destroyForcibly();
            try {
                pump.join();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            upload.abort();
            removeHook();
        }

        Result finish() {
            try {
                pump.join();
                int exit = process.waitFor();
                Exception failure = pumpFailure.get();
                if (failure != null) {
                    upload.abort();
                    String message = failure instanceof CheckpointException ? failure.getMessage()
                            : failure.getMessage() == null ? failure.toString() : failure.getMessage();
                    throw new CheckpointException("store.write", "streaming the archive to the store failed after "
                            + Sizes.human(bytes.get()) + ": " + message + "; nothing was sealed", failure);
                }
                if (exit != 0) {
                    upload.abort();
                    String why = exit > 128 ? "pg_dump was killed (signal " + (exit - 128) + ")"
                            : "pg_dump failed (exit " + exit + ")";
                    String detail = stderr.lastLines(3);
                    throw new CheckpointException("dump.failed", why + (detail.isEmpty() ? "" : ": " + detail)
                            + "; nothing was sealed and earlier checkpoints are untouched");
                }
                upload.commit();
                return new Result(bytes.get(), HexFormat.of().formatHex(sha256.digest()), millisSince(started));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                process.destroyForcibly();
                upload.abort();
                throw new CheckpointException("interrupted", "interrupted while dumping; nothing was sealed");
            } finally {
                removeHook();
            }
        }

        private void removeHook() {
            try {
                Runtime.getRuntime().removeShutdownHook(shutdownHook);
            } catch (IllegalStateException ignored) {
                // already shutting down: the hook does the cleanup
            }
        }
    }
}
