package io.pgcheckpoint.engine;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * A running {@code pg_dump --format=directory --jobs=N --verbose}. pg_dump's workers each write
 * one table's data to a file of their own; as soon as pg_dump reports an item finished (its
 * worker has closed the file) the file is uploaded, its sha256 taken on the way, and removed from
 * the local disk. What pg_dump writes last (toc.dat, large objects) follows once it has ended.
 * That line is trusted only if no name in the database could have printed it (a name with a line
 * break turns early uploads off) and, where /proc shows it, no pg_dump process still has the
 * file open; a file not uploaded early goes up with the last ones.
 * Every upload stays staged, invisible in the store, until {@link #commit()}: a dump that fails
 * leaves nothing behind, as the single-stream one does.
 */
final class DirectoryDump implements ArchiveDump {
    /** pg_dump's parallel leader logs this, untranslated (LC_MESSAGES=C), when a worker is done with an item. */
    private static final Pattern FINISHED = Pattern.compile("^pg_dump: finished item (\\d+) ");
    /** Whether /proc lists processes' open files (Linux). */
    private static final boolean PROC_FDS = Files.isDirectory(Path.of("/proc/self/fd"));
    /** Uploads and commits in flight at once; the store, not the CPU, is what they wait on. */
    static final int MAX_UPLOADERS = 4;

    private record Staged(Manifest.ArchiveFile file, Store.Upload upload) {
    }

    private final Process process;
    private final Store store;
    private final String tag;
    private final Path work;
    private final Path dir;
    private final Progress progress;
    private final PgTools.StderrTail stderr;
    private final ExecutorService uploaders;
    private final Set<String> claimed = ConcurrentHashMap.newKeySet();
    private final Map<String, Staged> staged = new ConcurrentHashMap<>();
    private final AtomicReference<Throwable> uploadFailure = new AtomicReference<>();
    private final AtomicLong uploadedBytes = new AtomicLong();
    private final Thread shutdownHook;
    private final long started = System.nanoTime();
    private volatile long lastReport = System.nanoTime();
    private final boolean uploadEarly;
    private volatile boolean cancelled;

    /**
     * @param command pg_dump's arguments but the output directory, which comes last
     * @param work        a fresh local directory this dump owns and removes
     * @param uploadEarly whether pg_dump's "finished item" lines can be trusted to start uploads
     *                    (see {@link #namesWithLineBreaks})
     */
    static DirectoryDump start(List<String> command, Map<String, String> env, Store store, String tag, int jobs, Path work,
                               boolean uploadEarly, Progress progress) {
        List<String> full = new ArrayList<>(command);
        Path dir = work.resolve(Manifest.ARCHIVE_DIRECTORY);
        full.addAll(List.of("--format=directory", "--jobs=" + jobs, "--verbose", "--file=" + dir));
        ProcessBuilder pb = new ProcessBuilder(full);
        pb.environment().putAll(env);
        Driller.messagesUntranslated(pb.environment());
        try {
            Process process = pb.start();
            process.getOutputStream().close();
            return new DirectoryDump(process, store, tag, work, dir, Math.min(jobs, MAX_UPLOADERS), uploadEarly, progress);
        } catch (IOException e) {
            Driller.deleteTree(work);
            throw new CheckpointException("tools.missing", "cannot start pg_dump: " + e.getMessage(), e);
        }
    }

    private DirectoryDump(Process process, Store store, String tag, Path work, Path dir, int uploaders, boolean uploadEarly,
                          Progress progress) {
        this.process = process;
        this.uploadEarly = uploadEarly;
        this.store = store;
        this.tag = tag;
        this.work = work;
        this.dir = dir;
        this.progress = progress;
        this.uploaders = Executors.newFixedThreadPool(uploaders, DaemonThreads.named("pg_dump-upload"));
        // SIGTERM (a Job's deadline, Ctrl-C) must not leave staged uploads or local files behind.
        this.shutdownHook = new Thread(() -> {
            cancelled = true;
            killAll();
            abortStaged();
            Driller.deleteTree(work);
        }, "seal-abort");
        Runtime.getRuntime().addShutdownHook(shutdownHook);
        this.stderr = PgTools.StderrTail.drain(process.getErrorStream(), this::onLine);
    }

    /** A table's data file: {@code <dumpId>.dat}, with the compression's suffix. */
    private static final List<String> DATA_SUFFIXES = List.of(".dat", ".dat.gz", ".dat.zst", ".dat.lz4");

    private void onLine(String line) {
        Matcher m = uploadEarly ? FINISHED.matcher(line) : null;
        if (m != null && m.find()) {
            // looked up by name, not by listing: thousands of tables make thousands of lines
            for (String suffix : DATA_SUFFIXES) {
                String name = m.group(1) + suffix;
                Path file = dir.resolve(name);
                if (Files.exists(file) && !openByPgDump(file)) {
                    upload(name);
                }
            }
        }
    }

    /**
     * Whether a pg_dump process has the file open, as far as /proc tells (on Linux; elsewhere
     * false, and only the name check guards the "finished item" lines). A worker closes its file
     * before the leader prints that line, so an open file means the line was not pg_dump's.
     */
    private boolean openByPgDump(Path file) {
        if (!PROC_FDS) {
            return false;
        }
        Path real;
        try {
            real = file.toRealPath(); // what /proc's links name: no symbolic link, no relative part
        } catch (IOException e) {
            return false; // gone: nobody writes it
        }
        return Stream.concat(Stream.of(process.toHandle()), process.descendants()).anyMatch(p -> {
            try (Stream<Path> fds = Files.list(Path.of("/proc", String.valueOf(p.pid()), "fd"))) {
                return fds.anyMatch(fd -> {
                    try {
                        return Files.readSymbolicLink(fd).equals(real);
                    } catch (IOException e) {
                        return false; // closed meanwhile
                    }
                });
            } catch (IOException e) {
                return false; // the process ended
            }
        });
    }

    /**
     * Whether any name pg_dump may print (schemas, relations, columns, types, functions,
     * constraints, roles and the other named objects) contains a line break: such a name can
     * print a line that looks like pg_dump's own "finished item N" for a file still being written.
     */
    static boolean namesWithLineBreaks(java.sql.Connection c) throws java.sql.SQLException {
        String breaks = "~ ('[' || chr(10) || chr(13) || ']')";
        List<String> names = List.of("pg_namespace.nspname", "pg_class.relname", "pg_attribute.attname", "pg_type.typname",
                "pg_proc.proname", "pg_constraint.conname", "pg_trigger.tgname", "pg_policy.polname", "pg_rewrite.rulename",
                "pg_roles.rolname", "pg_extension.extname", "pg_collation.collname", "pg_operator.oprname",
                "pg_statistic_ext.stxname", "pg_publication.pubname", "pg_event_trigger.evtname", "pg_language.lanname",
                "pg_foreign_server.srvname", "pg_foreign_data_wrapper.fdwname", "pg_ts_config.cfgname", "pg_ts_dict.dictname");
        String sql = "SELECT " + String.join(" OR ", names.stream().map(n -> {
            String table = n.substring(0, n.indexOf('.'));
            return "EXISTS (SELECT FROM pg_catalog." + table + " WHERE " + n + "::text " + breaks + ")";
        }).toList());
        try (java.sql.Statement st = c.createStatement(); java.sql.ResultSet rs = st.executeQuery(sql)) {
            rs.next();
            return rs.getBoolean(1);
        }
    }

    /** What pg_dump's directory holds on local disk: written and not uploaded yet. */
    private List<String> files() {
        if (!Files.isDirectory(dir)) {
            return List.of();
        }
        try (Stream<Path> list = Files.list(dir)) {
            return list.map(p -> p.getFileName().toString()).sorted().toList();
        } catch (IOException e) {
            fail(e);
            return List.of();
        }
    }

    private void upload(String name) {
        if (!claimed.add(name) || cancelled) {
            return;
        }
        try {
            uploaders.submit(() -> {
                try {
                    if (uploadFailure.get() == null && !cancelled) {
                        stage(name);
                    }
                } catch (Exception | Error e) {
                    // an executor's future would keep it to itself: the seal must hear of it
                    fail(e);
                }
            });
        } catch (java.util.concurrent.RejectedExecutionException e) {
            if (!cancelled) {
                fail(new IllegalStateException("the upload of " + name + " was refused after the last one had started", e));
            }
        }
    }

    private void stage(String name) throws IOException {
        Path file = dir.resolve(name);
        long bytes = Files.size(file);
        String sha256 = sha256(file);
        Store.Upload upload = store.stage(Manifest.key(tag, Manifest.ARCHIVE_DIRECTORY + "/" + name), file);
        staged.put(name, new Staged(new Manifest.ArchiveFile(name, bytes, sha256), upload));
        if (cancelled) {
            upload.abort();
        }
        // uploaded: the local copy is no longer needed, so the disk holds only what is in flight
        Files.delete(file);
        long total = uploadedBytes.addAndGet(bytes);
        if (System.nanoTime() - lastReport > 5_000_000_000L) {
            lastReport = System.nanoTime();
            progress.step("uploaded " + Sizes.human(total) + " in " + staged.size() + " files");
        }
    }

    private static String sha256(Path file) throws IOException {
        MessageDigest digest;
        try {
            digest = MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
        byte[] buffer = new byte[1 << 16];
        try (InputStream in = Files.newInputStream(file)) {
            int n;
            while ((n = in.read(buffer)) > 0) {
                digest.update(buffer, 0, n);
            }
        }
        return HexFormat.of().formatHex(digest.digest());
    }

    private void fail(Throwable e) {
        if (uploadFailure.compareAndSet(null, e)) {
            killAll();
        }
    }

    /** pg_dump's workers are its children: killing the leader alone would leave them dumping, locks held. */
    private void killAll() {
        process.descendants().forEach(ProcessHandle::destroyForcibly);
        process.destroyForcibly();
    }

    /** The deadline or a lock cycle: pg_dump stops, and so do the uploads, which {@link #finish} no longer waits for. */
    @Override
    public void kill() {
        cancelled = true;
        killAll();
    }

    @Override
    public Result finish() {
        try {
            int exit = process.waitFor();
            // every finished line handed on, so that every file it names is queued before the rest
            if (!stderr.awaitEnd(60_000)) {
                failIfUploadFailed();
                throw new CheckpointException("dump.failed", "pg_dump's output was still being read a minute after it "
                        + "ended; nothing was sealed: seal again");
            }
            String errors = stderr.errorSummary();
            failIfUploadFailed();
            if (exit != 0) {
                String why = exit > 128 ? "pg_dump was killed (signal " + (exit - 128) + ")" : "pg_dump failed (exit " + exit + ")";
                throw new CheckpointException("dump.failed", why + (errors.isEmpty() ? "" : ": " + errors)
                        + "; nothing was sealed and earlier checkpoints are untouched");
            }
            // what pg_dump writes last, or without a finished line: toc.dat, large objects
            for (String name : files()) {
                upload(name);
            }
            uploaders.shutdown();
            long lastSaid = System.nanoTime();
            while (!uploaders.awaitTermination(200, TimeUnit.MILLISECONDS)) {
                if (cancelled) {
                    throw new CheckpointException("dump.failed", "the seal was stopped while the last files of the archive "
                            + "were uploading; nothing was sealed");
                }
                if (System.nanoTime() - lastSaid > 5_000_000_000L) {
                    lastSaid = System.nanoTime();
                    progress.step("uploading the last files of the archive (" + Sizes.human(uploadedBytes.get()) + " so far)");
                }
            }
            failIfUploadFailed();
            // every file pg_dump wrote went up once: none left on disk, none claimed and not staged
            List<String> left = files();
            Set<String> missing = new java.util.TreeSet<>(claimed);
            missing.removeAll(staged.keySet());
            if (!left.isEmpty() || !missing.isEmpty()) {
                throw new CheckpointException("dump.failed", "pg_dump's files " + (left.isEmpty() ? missing : left)
                        + " were not uploaded with the rest of the archive; nothing was sealed: seal again");
            }
            List<Manifest.ArchiveFile> files = staged.values().stream().map(Staged::file)
                    .sorted(Comparator.comparing(Manifest.ArchiveFile::name)).toList();
            if (files.stream().noneMatch(f -> f.name().equals(Manifest.TOC))) {
                throw new CheckpointException("dump.failed", "pg_dump ended without writing " + Manifest.TOC
                        + " to its directory; nothing was sealed");
            }
            long bytes = files.stream().mapToLong(Manifest.ArchiveFile::bytes).sum();
            return new Result(bytes, Manifest.listingSha256(files), Sealer.millisSince(started), files);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new CheckpointException("interrupted", "interrupted while dumping; nothing was sealed");
        }
    }

    private void failIfUploadFailed() {
        Throwable failure = uploadFailure.get();
        if (failure != null) {
            String message = failure.getMessage() == null ? failure.toString() : failure.getMessage();
            throw new CheckpointException("store.write", "uploading the archive's files to the store failed after "
                    + Sizes.human(uploadedBytes.get()) + ": " + message + "; nothing was sealed", failure);
        }
    }

    /**
     * toc.dat first: without it the other files are no archive, and a seal that fails midway
     * leaves it as the mark of an orphan (what {@code Sealer} looks for before reusing a tag).
     */
    @Override
    public void commit() {
        Staged toc = staged.get(Manifest.TOC);
        toc.upload().commit();
        ExecutorService committers = Executors.newFixedThreadPool(MAX_UPLOADERS, DaemonThreads.named("pg_dump-commit"));
        try {
            List<Future<?>> commits = new ArrayList<>();
            for (Staged s : staged.values()) {
                if (s != toc) {
                    commits.add(committers.submit(() -> s.upload().commit()));
                }
            }
            for (Future<?> commit : commits) {
                try {
                    commit.get();
                } catch (java.util.concurrent.ExecutionException e) {
                    cancelled = true;
                    committers.shutdownNow();
                    abortStaged();
                    throw e.getCause() instanceof CheckpointException ce ? ce
                            : new CheckpointException("store.write", "committing the archive's files failed: " + e.getCause(), e);
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            abortStaged();
            throw new CheckpointException("interrupted", "interrupted while committing the archive");
        } finally {
            committers.shutdownNow();
            cleanUp();
        }
    }

    @Override
    public void cancel() {
        cancelled = true;
        killAll();
        uploaders.shutdownNow();
        try {
            uploaders.awaitTermination(2, TimeUnit.MINUTES);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        abortStaged();
        cleanUp();
    }

    /** Aborts every staged upload not committed yet (abort after commit does nothing). */
    private void abortStaged() {
        for (Staged s : staged.values()) {
            s.upload().abort();
        }
    }

    private void cleanUp() {
        Driller.deleteTree(work);
        try {
            Runtime.getRuntime().removeShutdownHook(shutdownHook);
        } catch (IllegalStateException ignored) {
            // already shutting down: the hook does the cleanup
        }
    }
}
