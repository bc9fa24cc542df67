package io.pgcheckpoint.engine;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicLong;

/** Reading checkpoints back: manifest first, then the archive verified against it. */
public final class Archives {
    private Archives() {
    }

    public static Manifest manifest(Store store, String tag) {
        Tags.check(tag);
        return store.read(Manifest.key(tag, Manifest.MANIFEST))
                .map(bytes -> trusted(store, tag, bytes))
                .orElseThrow(() -> store.exists(Manifest.key(tag, Manifest.ARCHIVE))
                        || store.exists(Manifest.key(tag, Manifest.ARCHIVE_DIRECTORY + "/" + Manifest.TOC))
                        ? new CheckpointException("checkpoint.incomplete", "checkpoint '" + tag + "' in " + store.uri()
                                + " has an archive but no manifest: it was never sealed completely and cannot be trusted")
                        : new CheckpointException("checkpoint.not-found", "no checkpoint '" + tag + "' in " + store.uri()
                                + ": check the tag, or list the store with 'pgcheckpoint list --store " + store.uri() + "'"));
    }

    /**
     * Parses manifest bytes read from {@code tag}, first checking their signature when the store
     * has a verify key: a signed manifest of another tag copied here is refused too.
     */
    public static Manifest trusted(Store store, String tag, byte[] bytes) {
        java.security.PublicKey key = store.protection().verifyKey();
        if (key != null) {
            Signatures.check(store, tag, bytes, key);
        }
        Manifest m = Json.read(bytes, Manifest.class);
        if (m.formatVersion() > Manifest.NEWEST_READABLE) {
            throw new CheckpointException("manifest.format", "checkpoint '" + tag + "' in " + store.uri() + " has manifest format "
                    + m.formatVersion() + ", newer than this pgcheckpoint reads (" + Manifest.NEWEST_READABLE
                    + "): use a newer pgcheckpoint to drill or restore it");
        }
        if (key != null && !tag.equals(m.tag())) {
            throw new CheckpointException("manifest.signature-invalid", "the signed manifest under '" + tag + "' in " + store.uri()
                    + " belongs to checkpoint '" + m.tag() + "': it was copied here and must not be restored");
        }
        return m;
    }

    /** The store keys of a checkpoint's archive: one file, or every file of a directory. */
    public static List<String> keys(Manifest manifest) {
        Manifest.Archive archive = manifest.archive();
        if (!archive.isDirectory()) {
            return List.of(Manifest.key(manifest.tag(), archive.file()));
        }
        return archive.files().stream().map(f -> archive.key(manifest.tag(), f.name())).toList();
    }

    /**
     * Downloads the archive to a local file, or a directory-format archive to a local directory,
     * verifying every file's size and sha256 on the way: pg_restore needs a seekable file for
     * parallel and selective restores of archives written to a pipe.
     *
     * @return what to give pg_restore: the file, or the directory
     */
    public static Path download(Store store, Manifest manifest, Path dir, Progress progress) {
        Manifest.Archive archive = manifest.archive();
        if (!archive.isDirectory()) {
            Path file = dir.resolve(Manifest.ARCHIVE);
            fetch(store, manifest, Manifest.key(manifest.tag(), archive.file()), archive.bytes(), archive.sha256(), file,
                    new AtomicLong(), progress);
            return file;
        }
        List<Manifest.ArchiveFile> files = archive.files();
        if (files == null || files.isEmpty() || !Manifest.listingSha256(files).equals(archive.sha256())
                || files.stream().mapToLong(Manifest.ArchiveFile::bytes).sum() != archive.bytes()) {
            throw new CheckpointException("archive.checksum", "the manifest of '" + manifest.tag() + "' in " + store.uri()
                    + " lists files that do not add up to its archive's size and sha256: it was altered after sealing and "
                    + "must not be restored; seal a new checkpoint");
        }
        // the manifest chooses local names: only pg_dump's own kind of name, each once, in one directory
        java.util.Set<String> seen = new java.util.HashSet<>();
        for (Manifest.ArchiveFile f : files) {
            if (!f.name().matches("[A-Za-z0-9_][A-Za-z0-9_.]*") || !seen.add(f.name())) {
                throw new CheckpointException("archive.checksum", "the manifest of '" + manifest.tag() + "' names the file '"
                        + f.name() + "', which pg_dump does not write (or names it twice): it was altered after sealing and "
                        + "must not be restored; seal a new checkpoint");
            }
        }
        if (!Manifest.ARCHIVE_DIRECTORY.equals(archive.file())) {
            throw new CheckpointException("archive.checksum", "the manifest of '" + manifest.tag() + "' puts its archive under '"
                    + archive.file() + "' instead of '" + Manifest.ARCHIVE_DIRECTORY + "': it was altered after sealing and "
                    + "must not be restored; seal a new checkpoint");
        }
        Path target = dir.resolve(archive.file());
        try {
            Files.createDirectories(target);
        } catch (IOException e) {
            throw new CheckpointException("store.read", "cannot create " + target + ": " + e.getMessage(), e);
        }
        AtomicLong total = new AtomicLong();
        ExecutorService downloads = Executors.newFixedThreadPool(DirectoryDump.MAX_UPLOADERS, DaemonThreads.named("archive-download"));
        try {
            List<Future<?>> running = new ArrayList<>();
            for (Manifest.ArchiveFile f : files) {
                Path local = target.resolve(f.name()).normalize();
                if (!local.getParent().equals(target)) {
                    throw new CheckpointException("archive.checksum", "the manifest of '" + manifest.tag() + "' names a file "
                            + "outside its archive (" + f.name() + "): it was altered after sealing and must not be restored");
                }
                running.add(downloads.submit(() -> fetch(store, manifest, archive.key(manifest.tag(), f.name()), f.bytes(),
                        f.sha256(), local, total, progress)));
            }
            for (Future<?> f : running) {
                f.get();
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new CheckpointException("interrupted", "interrupted while downloading the archive");
        } catch (java.util.concurrent.ExecutionException e) {
            throw e.getCause() instanceof CheckpointException ce ? ce
                    : new CheckpointException("store.read", "downloading the archive failed: " + e.getCause(), e.getCause());
        } finally {
            downloads.shutdownNow();
        }
        return target;
    }

    /** One object to a local file, checked against the size and sha256 the manifest gives it. */
    private static void fetch(Store store, Manifest manifest, String key, long bytes, String sha256, Path file, AtomicLong total,
                              Progress progress) {
        MessageDigest digest;
        try {
            digest = MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
        long read = 0;
        InputStream in;
        try {
            in = store.open(key);
        } catch (CheckpointException e) {
            if (e.code().equals("store.not-found")) {
                throw new CheckpointException("archive.checksum", store.uri(key) + ", part of the archive of '" + manifest.tag()
                        + "', is missing: the checkpoint was damaged after sealing and must not be restored; seal a new checkpoint", e);
            }
            throw e;
        }
        try (in; OutputStream out = Files.newOutputStream(file)) {
            byte[] buffer = new byte[1 << 20];
            int n;
            while ((n = in.read(buffer)) > 0) {
                digest.update(buffer, 0, n);
                out.write(buffer, 0, n);
                read += n;
                long sofar = total.addAndGet(n);
                if (sofar / REPORT_EVERY != (sofar - n) / REPORT_EVERY) {
                    progress.step("downloaded " + Sizes.human(sofar) + " of " + Sizes.human(manifest.archive().bytes()));
                }
            }
        } catch (IOException e) {
            throw new CheckpointException("store.read", "downloading " + store.uri(key) + " failed after "
                    + Sizes.human(read) + ": " + e.getMessage(), e);
        }
        String actual = HexFormat.of().formatHex(digest.digest());
        if (read != bytes || !actual.equals(sha256)) {
            throw new CheckpointException("archive.checksum", "archive " + store.uri(key) + " does not match its manifest (expected "
                    + bytes + " bytes, sha256 " + sha256 + "; found " + read
                    + " bytes, sha256 " + actual + "): it was altered or damaged after sealing and must not be restored; seal a new checkpoint");
        }
    }

    /** A progress line per this much downloaded. */
    private static final long REPORT_EVERY = 256L << 20;
}
