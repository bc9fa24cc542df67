package io.pgcheckpoint.engine;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;
import java.util.Set;
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

    private java.security.PrivateKey signingKey;

    public Sealer(PgTools tools, Progress progress) {
        this.tools = tools;
        this.progress = progress;
    }

    /** Signs each manifest with this Ed25519 key: {@code <tag>/manifest.sig}, written just before manifest.json. */
    public Sealer signingWith(java.security.PrivateKey key) {
        this.signingKey = key;
        return this;
    }

    /** The most parallel pg_dump workers a seal starts. */
    public static final int MAX_JOBS = 64;

    /**
     * @param compression how pg_dump compresses; {@link Compression#AUTO} picks the measured default for its version
     * @param jobs        1: one {@code pg_dump -Fc} stream; more: {@code pg_dump -Fd -j jobs}, one object per file
     */
    public record Request(DbTarget db, Store store, String tag, String commit, String reason, Compression compression,
                          Exclusions exclusions, Limits limits, int jobs) {
        public Request {
            compression = compression == null ? Compression.AUTO : compression;
            if (jobs < 1 || jobs > MAX_JOBS) {
                throw new CheckpointException("usage.jobs", "--jobs must be between 1 and " + MAX_JOBS + ", not " + jobs
                        + ": 1 dumps one stream (pg_dump -Fc), more dump that many tables at once (pg_dump -Fd -j)");
            }
        }

        public Request(DbTarget db, Store store, String tag, String commit, String reason, Compression compression,
                       Exclusions exclusions, Limits limits) {
            this(db, store, tag, commit, reason, compression, exclusions, limits, 1);
        }

        /** @param gzipLevel 0-9, as pg_dump -Z takes it */
        public Request(DbTarget db, Store store, String tag, String commit, String reason, int gzipLevel) {
            this(db, store, tag, commit, reason, Compression.parse(String.valueOf(gzipLevel)), Exclusions.NONE, Limits.DEFAULT);
        }

        public Request(DbTarget db, Store store, String tag, String commit, String reason, int gzipLevel,
                       Exclusions exclusions) {
            this(db, store, tag, commit, reason, Compression.parse(String.valueOf(gzipLevel)), exclusions, Limits.DEFAULT);
        }

        public Request(DbTarget db, Store store, String tag, String commit, String reason, Compression compression,
                       Exclusions exclusions) {
            this(db, store, tag, commit, reason, compression, exclusions, Limits.DEFAULT);
        }

        public Request withCompression(Compression newCompression) {
            return new Request(db, store, tag, commit, reason, newCompression, exclusions, limits, jobs);
        }

        public Request withLimits(Limits newLimits) {
            return new Request(db, store, tag, commit, reason, compression, exclusions, newLimits, jobs);
        }

        public Request withJobs(int newJobs) {
            return new Request(db, store, tag, commit, reason, compression, exclusions, limits, newJobs);
        }
    }

    /**
     * How long the seal may wait for one lock, and how long it may take in all.
     */
    public record Limits(java.time.Duration lockWait, java.time.Duration timeout) {
        public static final Limits DEFAULT = new Limits(java.time.Duration.ofSeconds(30), java.time.Duration.ofHours(6));
    }

    public Manifest seal(Request request) {
        String tag = Tags.check(request.tag());
        Store store = request.store();
        long started = System.nanoTime();
        Instant createdAt = Instant.now();
        clearIncomplete(store, tag);
        progress.step("connecting to " + request.db().describe());
        try (Connection c = Db.connect(request.db()); Connection meta = Db.connect(request.db());
             Run run = new Run(request.limits(), c, meta)) {
            Db.clearTimeouts(c);
            Db.clearTimeouts(meta);
            int sealerPid = (int) Db.queryLong(c, "SELECT pg_backend_pid()");
            String serverVersion = Db.queryString(c, "SHOW server_version");
            int serverMajor = Db.serverMajor(c);
            // pg_dump of the server's major (else the lowest newer one), and what it can compress with
            PgTools dumpTools = tools.forDump(serverMajor, serverVersion);
            String pgDumpVersion = dumpTools.version("pg_dump");
            if (PgTools.major(pgDumpVersion) < serverMajor) {
                throw new CheckpointException("tools.version-mismatch", "pg_dump must be of the server's major version or newer"
                        + " to dump PostgreSQL " + serverVersion + " (major " + serverMajor + "): found "
                        + PgTools.shortVersion(pgDumpVersion) + " (" + dumpTools.where() + "); install postgresql-client-"
                        + serverMajor + " or newer, or use the pgcheckpoint image (pg_dump " + PgTools.IMAGE_PG_MAJOR + ")");
            }
            String compressArgument = request.compression().pgDumpArgument(pgDumpVersion, dumpTools.where(), serverMajor);
            if (PgTools.major(pgDumpVersion) > serverMajor) {
                progress.step("no pg_dump " + serverMajor + " here: dumping PostgreSQL " + serverMajor + " with "
                        + PgTools.shortVersion(pgDumpVersion) + ", whose archive only pg_restore " + PgTools.major(pgDumpVersion)
                        + "+ reads; install postgresql-client-" + serverMajor + " to dump it with its own major (docs/versions.md)");
            }
            Compression compression = request.compression().resolve(PgTools.major(pgDumpVersion));
            if (serverMajor < OLDEST_TESTED_MAJOR) {
                progress.step("PostgreSQL " + serverVersion + " is older than the versions pgcheckpoint is tested with ("
                        + OLDEST_TESTED_MAJOR + "-" + NEWEST_TESTED_MAJOR + "); " + PgTools.shortVersion(pgDumpVersion)
                        + " supports it");
            }
            progress.step("PostgreSQL " + serverVersion + ": dumping with " + PgTools.shortVersion(pgDumpVersion) + " ("
                    + dumpTools.where() + "), compression " + compression);
            Dumping dumping = new Dumping(dumpTools, compressArgument);
            for (int attempt = 1; ; attempt++) {
                try {
                    Sealed sealed = attempt(request, dumping, c, meta, run, sealerPid);
                    long totalRows = sealed.entries().stream().mapToLong(Ledger.Entry::rows).sum();
                    ArchiveDump.Result dumped = sealed.dump();
                    boolean directory = dumped.files() != null;
                    Manifest manifest = new Manifest(directory ? Manifest.DIRECTORY_FORMAT_VERSION : Manifest.FORMAT_VERSION,
                            tag, request.commit(), request.reason(),
                            request.db().describe(), createdAt, sealed.snapshotTime(), serverVersion, serverMajor, pgDumpVersion,
                            new Manifest.Archive(directory ? Manifest.ARCHIVE_DIRECTORY : Manifest.ARCHIVE, dumped.bytes(),
                                    dumped.sha256(), directory ? "directory" : "custom", compression.toString(), dumped.files()),
                            new Manifest.LedgerSummary(sealed.entries().size(), totalRows, sealed.largeObjects(), sealed.entries(),
                                    sealed.views()),
                            new Manifest.Timings(sealed.countMillis(), sealed.dump().millis(), millisSince(started)),
                            request.exclusions().schemas().isEmpty() && request.exclusions().tables().isEmpty() ? null : request.exclusions(),
                            store.protection().lock(), store.protection().encryption());
                    writeManifest(store, tag, manifest, signingKey);
                    progress.step("sealed " + store.uri(Manifest.key(tag, Manifest.MANIFEST)) + " ("
                            + Sizes.human(dumped.bytes()) + (directory ? " in " + dumped.files().size() + " files" : "")
                            + ", sha256 " + dumped.sha256().substring(0, 12) + "…)");
                    return manifest;
                } catch (SealLocks.Retry retry) {
                    if (attempt >= MAX_ATTEMPTS) {
                        throw new CheckpointException(retry.getMessage().contains("pid ") ? "lock.conflict" : "schema.changing",
                                "the seal could not get a stable set of locked tables in " + attempt + " attempts (last: "
                                        + retry.getMessage() + "); nothing was sealed: seal again once the schema changes "
                                        + "or conflicting statements have finished");
                    }
                    progress.step(retry.getMessage() + "; released every lock, retry " + (attempt + 1) + " of " + MAX_ATTEMPTS);
                    sleepBeforeRetry(attempt, run);
                }
            }
        } catch (SQLException e) {
            throw new CheckpointException("database.error", "database error while sealing '" + tag + "': " + e.getMessage(), e);
        }
    }

    static final int MAX_ATTEMPTS = 6;
    /** Above this many large objects a --jobs seal is one stream: the directory format has a file for each. */
    static final long MAX_DIRECTORY_LARGE_OBJECTS = 10_000;
    /** The source majors the tests cover (docs/versions.md); older ones are dumped, with a note. */
    public static final int OLDEST_TESTED_MAJOR = 13;
    public static final int NEWEST_TESTED_MAJOR = 18;

    /** The pg_dump chosen for this server, and its --compress argument. */
    private record Dumping(PgTools tools, String compressArgument) {
    }

    private record Sealed(Instant snapshotTime, ArchiveDump.Result dump, List<Ledger.Entry> entries, List<Ledger.View> views,
                          long largeObjects, long countMillis) {
    }

    /**
     * One attempt: list, check, lock, snapshot, dump and count. Throws {@link SealLocks.Retry}
     * when the schema moved or a lock queue would cycle, having released everything. Every
     * failure goes through {@link Run#explain}, so a deadline or a cycle that interrupted a
     * statement is reported as such, not as the statement's cancellation.
     */
    private Sealed attempt(Request request, Dumping dumping, Connection c, Connection meta, Run run, int sealerPid)
            throws SQLException {
        ArchiveDump dump = null;
        String dumpApplication = null;
        try {
            run.check();
            if (!c.getAutoCommit()) {
                // The snapshot must come after the locks: never start inside a transaction left open.
                throw new CheckpointException("database.error", "the sealing session did not end its last attempt "
                        + "cleanly, so nothing was sealed: seal again");
            }
            List<Ledger.Relation> listed = Ledger.relations(meta, request.exclusions(), true);
            ReadAccess.refuseUnreadable(meta, listed);
            ReadAccess.refuseHiddenRows(meta, listed);
            long lockable = listed.stream().filter(Ledger.Relation::lockable).count();
            progress.step("locking " + lockable + " tables in ACCESS SHARE mode (waiting at most "
                    + seconds(request.limits().lockWait()) + " for any one)");
            c.setAutoCommit(false);
            c.setTransactionIsolation(Connection.TRANSACTION_REPEATABLE_READ);
            c.setReadOnly(true);
            Set<Long> locked;
            try {
                locked = SealLocks.lockAll(c, listed, request.limits().lockWait());
            } catch (SQLException e) {
                throw run.explain(e, () -> lockFailure(e, meta, listed, sealerPid, request.limits()));
            }
            run.check();
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
            // In the snapshot, dropped-while-read relations stay listed, so an unlocked one means a retry.
            List<Ledger.Relation> relations = Ledger.relations(c, request.exclusions(), false);
            SealLocks.verifyCovered(relations, SealLocks.held(c));
            List<Ledger.Relation> counted = Ledger.counted(relations);
            int jobs = request.jobs();
            long objects = jobs > 1 ? Ledger.largeObjects(c) : 0;
            // pg_dump's directory format writes one file per large object: one upload each. One
            // stream instead, unless the database is too large for what one stream can upload.
            if (objects > MAX_DIRECTORY_LARGE_OBJECTS
                    && Db.queryLong(c, "SELECT pg_database_size(current_database())") < S3Store.STREAM_CAPACITY) {
                progress.step(objects + " large objects would be as many files and uploads in pg_dump's directory "
                        + "format (at most " + MAX_DIRECTORY_LARGE_OBJECTS + "), so this seal is one stream, not "
                        + jobs + " workers");
                jobs = 1;
            }
            progress.step("snapshot " + snapshot + " exported with " + locked.size() + " tables locked; dumping "
                    + counted.size() + " tables to " + request.store().uri(Manifest.key(request.tag(), jobs > 1
                    ? Manifest.ARCHIVE_DIRECTORY + "/" : Manifest.ARCHIVE)) + (jobs > 1 ? " with " + jobs
                    + " parallel pg_dump workers" : ""));

            dumpApplication = "pgcheckpoint-dump-" + snapshot.replaceAll("[^0-9A-Za-z]", "").toLowerCase();
            boolean uploadEarly = jobs > 1 && !DirectoryDump.namesWithLineBreaks(c);
            if (jobs > 1 && !uploadEarly) {
                progress.step("a name in the database contains a line break, which pg_dump's progress lines cannot carry "
                        + "unambiguously: the archive's files are uploaded once pg_dump has ended");
            }
            dump = startDump(request, jobs, dumping, snapshot, dumpApplication, uploadEarly);
            run.watching(dump);
            List<Ledger.Entry> entries;
            long largeObjects;
            long countMillis;
            ArchiveDump.Result result;
            // The watch runs until pg_dump is done: it may reach its last lock after the counts.
            try (LockWatch watch = new LockWatch(request.db(), dumpApplication, sealerPid, locked, run::cycle)) {
                long countStart = System.nanoTime();
                try {
                    // One backend: parallel workers would take the cores pg_dump and its server
                    // process need, and the dump, not the count, sets how long the seal takes.
                    Db.execute(c, "SET LOCAL max_parallel_workers_per_gather = 0");
                    entries = Ledger.countAll(c, counted, progress, run::check);
                    largeObjects = Ledger.largeObjects(c);
                } catch (SQLException e) {
                    throw run.explain(e, () -> new CheckpointException("ledger.count", "counting rows failed: "
                            + e.getMessage() + ": the role must be able to SELECT every table it dumps", e));
                }
                countMillis = millisSince(countStart);
                progress.step("ledger counted in the dump's snapshot: " + entries.size() + " tables, "
                        + entries.stream().mapToLong(Ledger.Entry::rows).sum() + " rows, " + largeObjects + " large objects");
                try {
                    result = dump.finish();
                } catch (CheckpointException e) {
                    throw run.explain(e, () -> dumpFailure(e, meta, locked, sealerPid));
                }
            }
            // End the transaction before the archive becomes visible: a session the server ended
            // (a timeout, a restart) fails the seal while nothing is in the store yet.
            c.rollback();
            run.check();
            dump.commit();
            dump = null;
            return new Sealed(snapshotTime, result, entries, Ledger.views(relations), largeObjects, countMillis);
        } catch (SQLException e) {
            throw run.explain(e, () -> new CheckpointException("database.error", "database error while sealing '"
                    + request.tag() + "': " + e.getMessage(), e));
        } finally {
            run.watching(null);
            if (dump != null) {
                dump.cancel();
                endSession(meta, dumpApplication);
            }
            endTransaction(c);
        }
    }

    /** Rolls back and returns to autocommit; a session that cannot is closed, and the next attempt refuses it. */
    private static void endTransaction(Connection c) {
        try {
            c.rollback();
        } catch (SQLException ignored) {
            // gone: the check at the next attempt's start reports it
        }
        try {
            c.setAutoCommit(true);
        } catch (SQLException ignored) {
            // likewise
        }
    }

    /**
     * A manifest makes a checkpoint, and is never replaced. An archive without one is what a
     * seal killed between the two leaves behind: not a checkpoint, so it must not burn the tag.
     */
    private void clearIncomplete(Store store, String tag) {
        if (store.exists(Manifest.key(tag, Manifest.MANIFEST))) {
            throw new CheckpointException("store.exists", "checkpoint '" + tag + "' already exists in " + store.uri()
                    + ": checkpoints are never overwritten; choose a new tag");
        }
        // what a seal that did not finish can leave: the single archive, a directory archive's
        // toc.dat (committed before its other files) or a signature
        String found = null;
        Optional<Instant> written = Optional.empty();
        for (String key : List.of(Manifest.key(tag, Manifest.ARCHIVE), Manifest.key(tag, Manifest.ARCHIVE_DIRECTORY + "/"
                + Manifest.TOC), Manifest.key(tag, Manifest.SIGNATURE))) {
            written = store.modified(key);
            if (written.isPresent()) {
                found = key;
                break;
            }
        }
        List<String> directory = store.keys(Manifest.key(tag, Manifest.ARCHIVE_DIRECTORY + "/"));
        if (written.isEmpty() && !directory.isEmpty()) {
            // files of a directory archive whose toc.dat is gone: what a seal whose commit failed, or
            // which lost its files to another seal of the tag, can leave; judged by the newest of them
            for (String key : directory) {
                Optional<Instant> modified = store.modified(key);
                if (modified.isPresent() && (written.isEmpty() || modified.get().isAfter(written.get()))) {
                    written = modified;
                    found = key;
                }
            }
        }
        if (written.isEmpty()) {
            return;
        }
        String orphan = found;
        // A seal writes its manifest right after its archive: a younger orphan may be another
        // seal of this tag finishing, whose archive must not be taken away from it.
        Duration age = Duration.between(written.get(), Instant.now());
        if (age.compareTo(ORPHAN_AGE) < 0) {
            throw new CheckpointException("store.incomplete", store.uri(orphan) + " has no manifest and was written "
                    + Math.max(0, age.toSeconds()) + " s ago: another seal of '" + tag + "' may be finishing. Seal again in "
                    + ORPHAN_AGE.toSeconds() + " s (an archive without a manifest is then replaced), or choose another tag");
        }
        progress.step("removing " + store.uri(orphan) + (directory.isEmpty() ? "" : " and the files beside it")
                + ": left without a manifest by a seal that did not finish");
        List<String> leftovers = new ArrayList<>(List.of(Manifest.key(tag, Manifest.ARCHIVE), Manifest.key(tag, Manifest.SIGNATURE)));
        // toc.dat last: should a delete fail, what is left is still recognised as an orphan
        String toc = Manifest.key(tag, Manifest.ARCHIVE_DIRECTORY + "/" + Manifest.TOC);
        directory.stream().filter(k -> !k.equals(toc)).forEach(leftovers::add);
        if (directory.contains(toc)) {
            leftovers.add(toc);
        }
        for (String key : leftovers) {
            try {
                store.delete(key);
            } catch (CheckpointException e) {
                if (!e.code().equals("store.denied")) {
                    throw e;
                }
                // dump Jobs have no s3:DeleteObject under least privilege (docs/permissions.md)
                throw new CheckpointException("store.incomplete", store.uri(key) + " was left without a manifest by a seal "
                        + "that did not finish, and these credentials may not remove it (" + e.getMessage() + "): remove "
                        + "the tag with the cleanup identity ('pgcheckpoint delete --tag " + tag + "'), or seal under another tag", e);
            }
        }
    }

    /**
     * Every object the manifest lists is in the store, just before the manifest is written. A
     * second seal of the same tag that took this one's committed files for an orphan (its commit
     * phase outlasted {@link #ORPHAN_AGE}) must not leave a manifest that lists files now gone.
     */
    private static void requireArchiveInStore(Store store, String tag, Manifest manifest) {
        List<String> wanted = Archives.keys(manifest);
        Set<String> present = manifest.archive().files() == null
                ? (store.exists(wanted.get(0)) ? Set.of(wanted.get(0)) : Set.of())
                : Set.copyOf(store.keys(Manifest.key(tag, Manifest.ARCHIVE_DIRECTORY + "/")));
        List<String> gone = wanted.stream().filter(k -> !present.contains(k)).toList();
        if (!gone.isEmpty()) {
            throw new CheckpointException("store.incomplete", gone.size() + " of the " + wanted.size() + " archive objects of '"
                    + tag + "' (" + store.uri(gone.get(0)) + (gone.size() > 1 ? ", …" : "") + ") were removed from the store "
                    + "before the manifest could be written (another seal of the same tag may have taken them for an orphan), "
                    + "so '" + tag + "' was not sealed and no manifest lists them: seal again under a new tag");
        }
    }

    /** How old an archive without a manifest must be before a new seal of its tag replaces it. */
    static final Duration ORPHAN_AGE = Duration.ofSeconds(60);

    private CheckpointException lockFailure(SQLException e, Connection meta, List<Ledger.Relation> listed, int sealerPid,
                                            Limits limits) {
        if ("55P03".equals(e.getSQLState())) {
            List<Long> oids = listed.stream().filter(Ledger.Relation::lockable).map(Ledger.Relation::oid).toList();
            return lockTimeout("the seal could not lock every table within " + seconds(limits.lockWait()),
                    conflicts(meta, oids, List.of(sealerPid)), e);
        }
        if ("53200".equals(e.getSQLState())) {
            return new CheckpointException("lock.table-full", "the server ran out of lock slots while the seal locked "
                    + listed.size() + " relations (" + e.getMessage() + "): the seal and pg_dump each hold one lock per "
                    + "table; raise max_locks_per_transaction on the server, or exclude schemas you do not need", e);
        }
        return new CheckpointException("database.error", "locking the tables to seal failed: " + e.getMessage(), e);
    }

    /** pg_dump waits for its own locks at most --lock-wait-timeout: name what held it up. */
    private RuntimeException dumpFailure(CheckpointException e, Connection meta, Set<Long> locked, int sealerPid) {
        String text = e.getMessage();
        // Only a parallel worker says this: it locks its table NOWAIT, behind any lock queued since
        // the leader's, so a statement that asked for an exclusive lock meanwhile fails the dump.
        // Let it through and seal again after it.
        if (text.contains("could not obtain lock on relation")) {
            return new SealLocks.Retry("a statement queued for an exclusive lock on a table while pg_dump's parallel "
                    + "workers were dumping (" + conflicts(meta, locked, List.of(sealerPid)) + ")");
        }
        // pg_dump applies --lock-wait-timeout as a statement timeout while it locks, and only then
        if (text.contains("could not obtain lock") || text.contains("lock timeout") || text.contains("statement timeout")) {
            return lockTimeout("pg_dump could not take its locks in time", conflicts(meta, locked, List.of(sealerPid)), e);
        }
        return e;
    }

    private static CheckpointException lockTimeout(String what, String conflicts, Exception cause) {
        return new CheckpointException("lock.timeout", what + ": " + conflicts + ". Nothing was dumped. Let that "
                + "statement finish or end it (SELECT pg_terminate_backend(pid)), then seal again; --lock-wait-timeout "
                + "(spec.dump.lockWaitSeconds) sets how long the seal waits for a lock", cause);
    }

    private static String conflicts(Connection meta, java.util.Collection<Long> oids, List<Integer> ours) {
        try {
            return SealLocks.describeConflicts(meta, oids, ours);
        } catch (SQLException e) {
            return "the sessions in the way could not be listed (" + e.getMessage() + ")";
        }
    }

    /** Ends pg_dump's session on the server: a killed client's backend may still be queued for a lock. */
    private static void endSession(Connection meta, String application) {
        if (application == null) {
            return;
        }
        try (var st = meta.prepareStatement(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = ? AND pid <> pg_backend_pid()")) {
            st.setString(1, application);
            st.executeQuery().close();
        } catch (SQLException ignored) {
            // its lock wait is bounded by --lock-wait-timeout all the same
        }
    }

    /** Backs off exponentially with jitter, so the statement that was let through can finish. */
    private static void sleepBeforeRetry(int attempt, Run run) {
        try {
            Thread.sleep(Math.min(3000L, 200L << (attempt - 1)) + java.util.concurrent.ThreadLocalRandom.current().nextLong(200));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new CheckpointException("interrupted", "interrupted while sealing; nothing was sealed");
        }
        run.check();
    }

    static String seconds(java.time.Duration d) {
        return d.toMillis() % 1000 == 0 ? d.toSeconds() + " s" : d.toMillis() / 1000.0 + " s";
    }

    /**
     * One seal's deadline and the signals that interrupt its work: the timeout, or a lock cycle
     * seen by {@link LockWatch}. Either kills pg_dump and cancels the sealing session's query;
     * the sealing thread then finds out why through {@link #explain} and cleans up.
     */
    private static final class Run implements AutoCloseable {
        private final java.util.concurrent.ScheduledExecutorService timer;
        private final Limits limits;
        private final Connection sealing;
        private final Connection meta;
        private volatile ArchiveDump dump;
        private volatile CheckpointException timedOut;
        private volatile String cycle;

        Run(Limits limits, Connection sealing, Connection meta) {
            this.limits = limits;
            this.sealing = sealing;
            this.meta = meta;
            this.timer = java.util.concurrent.Executors.newSingleThreadScheduledExecutor(DaemonThreads.named("seal-deadline"));
            timer.schedule(this::timeout, limits.timeout().toMillis(), java.util.concurrent.TimeUnit.MILLISECONDS);
        }

        /** The pg_dump to stop if the work is interrupted; one that starts after the signal is stopped at once. */
        void watching(ArchiveDump running) {
            dump = running;
            if (running != null && (timedOut != null || cycle != null)) {
                running.kill();
            }
        }

        private void timeout() {
            timedOut = new CheckpointException("seal.timeout", "the seal did not finish within " + seconds(limits.timeout())
                    + " (--timeout, spec.dump.timeoutSeconds), so it was stopped and nothing was sealed: raise the "
                    + "timeout, or seal when the database is less busy");
            interruptWork();
        }

        void cycle(String conflicts) {
            cycle = conflicts;
            interruptWork();
        }

        private void interruptWork() {
            ArchiveDump running = dump;
            if (running != null) {
                running.kill();
            }
            for (Connection c : List.of(sealing, meta)) {
                try {
                    c.unwrap(org.postgresql.core.BaseConnection.class).cancelQuery();
                } catch (SQLException ignored) {
                    // nothing running, or the connection is gone: check() stops the work between statements
                }
            }
        }

        /** Between two steps: stop for the deadline, or start again for a lock cycle. */
        void check() {
            if (timedOut != null) {
                throw timedOut;
            }
            String seen = cycle;
            if (seen != null) {
                cycle = null;
                throw new SealLocks.Retry(seen + " queued between the seal's locks and pg_dump's");
            }
        }

        /** Why the work failed: the deadline or a lock cycle if one interrupted it, else {@code otherwise}. */
        RuntimeException explain(Exception failure, java.util.function.Supplier<RuntimeException> otherwise) {
            if (timedOut != null) {
                return timedOut;
            }
            String seen = cycle;
            if (seen != null) {
                cycle = null;
                return new SealLocks.Retry(seen + " queued between the seal's locks and pg_dump's");
            }
            return otherwise.get();
        }

        @Override
        public void close() {
            timer.shutdownNow();
        }
    }

    private static void writeManifest(Store store, String tag, Manifest manifest, java.security.PrivateKey signingKey) {
        byte[] bytes = Json.bytes(manifest);
        requireArchiveInStore(store, tag, manifest);
        try {
            if (signingKey != null) {
                // the signature first: the manifest stays the last object, what makes a checkpoint complete
                store.putNew(Manifest.key(tag, Manifest.SIGNATURE), Signatures.encode(Signatures.sign(signingKey, bytes)));
            }
            store.putNew(Manifest.key(tag, Manifest.MANIFEST), bytes);
        } catch (CheckpointException e) {
            if (e.code().equals("store.exists")) {
                // Another seal of this tag finished first: the archive under the key may be its own now.
                throw new CheckpointException("store.exists", "another seal of '" + tag + "' finished first, so this one "
                        + "was not sealed and left the checkpoint as it is: " + e.getMessage(), e);
            }
            // An archive without a manifest is not a checkpoint; remove the one this run wrote.
            List<String> written = new ArrayList<>(Archives.keys(manifest));
            written.add(Manifest.key(tag, Manifest.SIGNATURE));
            for (String key : written) {
                try {
                    store.delete(key);
                } catch (CheckpointException ignored) {
                    // still no manifest, so it is never taken for a checkpoint
                }
            }
            throw new CheckpointException(e.code(), "writing the manifest failed, so '" + tag
                    + "' was not sealed: " + e.getMessage(), e);
        }
    }

    private ArchiveDump startDump(Request request, int jobs, Dumping dumping, String snapshot, String application,
                                  boolean uploadEarly) {
        List<String> command = new ArrayList<>(List.of(dumping.tools().path("pg_dump"),
                dumping.compressArgument(), "--snapshot=" + snapshot, "--no-password",
                "--lock-wait-timeout=" + Math.max(1, request.limits().lockWait().toMillis())));
        command.addAll(request.exclusions().pgDumpArguments());
        if (jobs > 1) {
            java.util.Map<String, String> env = new java.util.HashMap<>(request.db().libpqEnv());
            env.put("PGAPPNAME", application);
            return DirectoryDump.start(command, env, request.store(), request.tag(), jobs, localDirectory(), uploadEarly,
                    progress);
        }
        command.add(1, "--format=custom");
        // The upload first: a store that refuses it must not leave a pg_dump running.
        Store.Upload upload = request.store().create(Manifest.key(request.tag(), Manifest.ARCHIVE));
        try {
            ProcessBuilder pb = new ProcessBuilder(command);
            pb.environment().putAll(request.db().libpqEnv());
            pb.environment().put("PGAPPNAME", application);
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

    /** Where pg_dump's directory is written before its files are uploaded: under TMPDIR, removed afterwards. */
    private static Path localDirectory() {
        try {
            return Files.createTempDirectory("pgcheckpoint-seal-");
        } catch (IOException e) {
            throw new CheckpointException("seal.local-disk", "cannot create a directory for pg_dump's files under "
                    + System.getProperty("java.io.tmpdir") + " (" + e.getMessage() + "): --jobs needs local disk for the "
                    + "files not uploaded yet; set TMPDIR to a writable directory", e);
        }
    }

    /** A running pg_dump whose stdout is pumped into an upload on its own thread. */
    private static final class Dump implements ArchiveDump {

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

        /** Stops pg_dump at once; the upload is aborted by {@link #cancel} on the sealing thread. */
        @Override
        public void kill() {
            process.destroyForcibly();
        }

        /** Makes the archive visible in the store, once the seal knows it is whole. */
        @Override
        public void commit() {
            try {
                upload.commit();
            } catch (RuntimeException e) {
                upload.abort();
                throw e;
            }
        }

        @Override
        public void cancel() {
            process.destroyForcibly();
            try {
                pump.join();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            upload.abort();
            removeHook();
        }

        @Override
        public Result finish() {
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
                    String detail = stderr.errorSummary();
                    throw new CheckpointException("dump.failed", why + (detail.isEmpty() ? "" : ": " + detail)
                            + "; nothing was sealed and earlier checkpoints are untouched");
                }
                return new Result(bytes.get(), HexFormat.of().formatHex(sha256.digest()), millisSince(started), null);
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
