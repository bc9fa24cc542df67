package io.pgcheckpoint.engine;

import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.channels.FileChannel;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.Optional;
import java.util.UUID;
import java.util.stream.Stream;

/** A store in a local directory: {@code file:/var/lib/checkpoints}. Files are written aside and linked into place. */
public final class FileStore implements Store {
    private final Path root;

    public FileStore(Path root) {
        this.root = root.toAbsolutePath().normalize();
        try {
            Files.createDirectories(this.root);
        } catch (IOException e) {
            throw new CheckpointException("store.unreachable", "cannot create store directory " + this.root + ": " + e.getMessage());
        }
    }

    @Override
    public String uri() {
        return "file:" + root;
    }

    private Path resolve(String key) {
        Path p = root.resolve(key).normalize();
        if (!p.startsWith(root)) {
            throw new CheckpointException("usage.key", "key escapes the store: " + key);
        }
        return p;
    }

    @Override
    public boolean exists(String key) {
        return modified(key).isPresent();
    }

    /** Empty only when the file is known not to exist: a file that cannot be checked is an error, never "missing". */
    @Override
    public Optional<java.time.Instant> modified(String key) {
        Path p = resolve(key);
        try {
            return Optional.of(Files.getLastModifiedTime(p).toInstant());
        } catch (java.nio.file.NoSuchFileException e) {
            return Optional.empty();
        } catch (IOException e) {
            throw new CheckpointException("store.read", "cannot check " + p + ": " + e.getMessage()
                    + ": check the directory's permissions", e);
        }
    }

    @Override
    public Upload create(String key) {
        Path target = resolve(key);
        try {
            Files.createDirectories(target.getParent());
            Path partial = partialBeside(target);
            FileChannel channel = FileChannel.open(partial, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE);
            OutputStream out = new BufferedOutputStream(java.nio.channels.Channels.newOutputStream(channel), 1 << 20);
            return new PartialUpload(partial, target, channel, out);
        } catch (IOException e) {
            throw new CheckpointException("store.write", "cannot write to " + target.getParent() + ": " + e.getMessage(), e);
        }
    }

    /**
     * A copy of the file beside its key, synced and closed: many staged files hold neither a
     * descriptor nor a buffer while they wait for their commit, which links each into place.
     */
    @Override
    public Upload stage(String key, Path file) {
        Path target = resolve(key);
        Path partial = partialBeside(target);
        try {
            Files.createDirectories(target.getParent());
            Files.copy(file, partial);
            try (FileChannel channel = FileChannel.open(partial, StandardOpenOption.WRITE)) {
                channel.force(true);
            }
        } catch (IOException e) {
            removeWithEmptyParents(partial);
            throw new CheckpointException("store.write", "cannot write " + target + ": " + e.getMessage(), e);
        }
        return new PartialUpload(partial, target, null, null);
    }

    private static Path partialBeside(Path target) {
        return target.resolveSibling("." + target.getFileName() + "." + UUID.randomUUID() + ".partial");
    }

    /**
     * A write in a .partial file beside its key (never listed as an object): linked into place on
     * commit, removed with the directories it leaves empty on abort.
     */
    private final class PartialUpload implements Upload {
        private final Path partial;
        private final Path target;
        /** Null for a staged file, written and synced already. */
        private final FileChannel channel;
        private final OutputStream out;
        private boolean done;

        PartialUpload(Path partial, Path target, FileChannel channel, OutputStream out) {
            this.partial = partial;
            this.target = target;
            this.channel = channel;
            this.out = out;
        }

        @Override
        public OutputStream stream() {
            if (out == null) {
                throw new IllegalStateException("a staged file is written already");
            }
            return out;
        }

        @Override
        public void commit() {
            try {
                if (out != null) {
                    out.flush();
                    channel.force(true);
                    out.close();
                }
                linkIntoPlace(partial, target);
                done = true;
            } catch (IOException e) {
                abort();
                throw new CheckpointException("store.write", "cannot write " + target + ": " + e.getMessage(), e);
            }
        }

        @Override
        public void abort() {
            if (done) {
                return;
            }
            done = true;
            if (out != null) {
                try {
                    out.close();
                } catch (IOException ignored) {
                    // the partial file is removed below either way
                }
            }
            // an aborted first file leaves no empty tag directory that list would show
            removeWithEmptyParents(partial);
        }
    }

    /** Removes the directories above a removed file that it left empty, up to the store's root. */
    private void removeEmptyParents(Path file) throws IOException {
        for (Path d = file.getParent(); d != null && !d.equals(root) && d.startsWith(root); d = d.getParent()) {
            try (Stream<Path> left = Files.list(d)) {
                if (left.findAny().isPresent()) {
                    break;
                }
            }
            Files.deleteIfExists(d);
        }
    }

    /** Removes a partial file, and the directories it leaves empty up to the root, so that list shows no tag for it. */
    private void removeWithEmptyParents(Path partial) {
        try {
            Files.deleteIfExists(partial);
            removeEmptyParents(partial);
        } catch (IOException ignored) {
            // best effort: a leftover .partial file or an empty directory is never taken for a checkpoint
        }
    }

    /** A hard link fails atomically when the target exists, so a checkpoint file is never replaced. */
    private static void linkIntoPlace(Path partial, Path target) throws IOException {
        try {
            Files.createLink(target, partial);
            Files.delete(partial);
        } catch (FileAlreadyExistsException e) {
            Files.deleteIfExists(partial);
            throw alreadyExists(target);
        } catch (UnsupportedOperationException | IOException e) {
            // file systems without hard links: a move that refuses to replace
            try {
                Files.move(partial, target);
            } catch (FileAlreadyExistsException exists) {
                Files.deleteIfExists(partial);
                throw alreadyExists(target);
            }
        }
    }

    private static CheckpointException alreadyExists(Path target) {
        return new CheckpointException("store.exists", target + " already exists; a checkpoint is never overwritten");
    }

    @Override
    public void putNew(String key, byte[] data) {
        try (Upload upload = create(key)) {
            upload.stream().write(data);
            upload.commit();
        } catch (IOException e) {
            throw new CheckpointException("store.write", "cannot write " + resolve(key) + ": " + e.getMessage(), e);
        }
    }

    @Override
    public void put(String key, byte[] data) {
        Path target = resolve(key);
        try {
            Files.createDirectories(target.getParent());
            Path tmp = target.resolveSibling("." + target.getFileName() + "." + UUID.randomUUID() + ".partial");
            Files.write(tmp, data, StandardOpenOption.CREATE_NEW);
            Files.move(tmp, target, java.nio.file.StandardCopyOption.REPLACE_EXISTING,
                    java.nio.file.StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException e) {
            throw new CheckpointException("store.write", "cannot write " + target + ": " + e.getMessage(), e);
        }
    }

    @Override
    public InputStream open(String key) {
        try {
            return Files.newInputStream(resolve(key));
        } catch (NoSuchFileException e) {
            throw new CheckpointException("store.not-found", uri(key) + " does not exist");
        } catch (IOException e) {
            throw new CheckpointException("store.read", "cannot read " + uri(key) + ": " + e.getMessage(), e);
        }
    }

    @Override
    public Optional<byte[]> read(String key) {
        Path p = resolve(key);
        try {
            return Files.exists(p) ? Optional.of(Files.readAllBytes(p)) : Optional.empty();
        } catch (IOException e) {
            throw new CheckpointException("store.read", "cannot read " + uri(key) + ": " + e.getMessage(), e);
        }
    }

    @Override
    public List<String> listTags() {
        try (Stream<Path> dirs = Files.list(root)) {
            return dirs.filter(Files::isDirectory).map(d -> d.getFileName().toString()).sorted().toList();
        } catch (IOException e) {
            throw new CheckpointException("store.read", "cannot list " + root + ": " + e.getMessage(), e);
        }
    }

    @Override
    public List<String> keys(String prefix) {
        Path dir = resolve(prefix.endsWith("/") ? prefix.substring(0, prefix.length() - 1) : prefix);
        if (!Files.isDirectory(dir)) {
            return List.of();
        }
        List<String> keys = new java.util.ArrayList<>();
        try {
            Files.walkFileTree(dir, new java.nio.file.SimpleFileVisitor<>() {
                @Override
                public java.nio.file.FileVisitResult visitFile(Path file, java.nio.file.attribute.BasicFileAttributes attributes) {
                    // a .partial file is a write in progress, not an object
                    if (attributes.isRegularFile() && !file.getFileName().toString().endsWith(".partial")) {
                        keys.add(root.relativize(file).toString());
                    }
                    return java.nio.file.FileVisitResult.CONTINUE;
                }

                @Override
                public java.nio.file.FileVisitResult visitFileFailed(Path file, IOException e) throws IOException {
                    if (e instanceof java.nio.file.NoSuchFileException) {
                        return java.nio.file.FileVisitResult.CONTINUE; // removed or linked into place while listed
                    }
                    throw e;
                }
            });
            return keys.stream().sorted().toList();
        } catch (IOException e) {
            throw new CheckpointException("store.read", "cannot list " + dir + ": " + e.getMessage(), e);
        }
    }

    @Override
    public void delete(String key) {
        try {
            Files.deleteIfExists(resolve(key));
        } catch (IOException e) {
            throw new CheckpointException("store.write", "cannot delete " + uri(key) + ": " + e.getMessage(), e);
        }
    }

    private Protection protection = Protection.NONE;

    /**
     * A directory cannot keep a lock against its own owner, so a lock asked of a file: store is
     * refused rather than pretended; encryption at rest is the file system's (or the disk's).
     */
    @Override
    public void protect(Protection p) {
        if (p.lock() != null) {
            throw lockUnsupported();
        }
        if (p.encryption() != null) {
            throw new CheckpointException("store.sse-unsupported", "server-side encryption (--sse " + p.encryption().algorithm()
                    + ") is an S3 setting and " + uri() + " is a directory: encrypt its file system instead, or use an S3 store");
        }
        this.protection = p;
    }

    private CheckpointException lockUnsupported() {
        return new CheckpointException("store.lock-unsupported", uri() + " is a directory, which cannot lock a checkpoint "
                + "against deletion (anyone who can write it can delete it); nothing was written: use an S3 bucket with "
                + "Object Lock enabled for --object-lock-mode, or leave the lock options out");
    }

    @Override
    public Protection protection() {
        return protection;
    }

    @Override
    public void put(String key, byte[] data, Manifest.ObjectLock lock) {
        if (lock != null) {
            throw lockUnsupported();
        }
        put(key, data);
    }

    @Override
    public List<Version> versions(String tag) {
        Path dir = resolve(tag);
        if (!Files.isDirectory(dir)) {
            return List.of();
        }
        try (Stream<Path> files = Files.walk(dir)) {
            return files.filter(Files::isRegularFile).sorted().map(f -> {
                try {
                    return new Version(root.relativize(f).toString(), null, false,
                            Files.getLastModifiedTime(f).toInstant(), null);
                } catch (IOException e) {
                    throw new CheckpointException("store.read", "cannot read " + f + ": " + e.getMessage(), e);
                }
            }).toList();
        } catch (IOException e) {
            throw new CheckpointException("store.read", "cannot list " + dir + ": " + e.getMessage(), e);
        }
    }

    @Override
    public void deleteVersion(Version version) {
        Path file = resolve(version.key());
        delete(version.key());
        try {
            // the tag's directory goes with its last file, so that list no longer shows the tag
            removeEmptyParents(file);
        } catch (IOException e) {
            throw new CheckpointException("store.write", "cannot remove the directory of " + uri(version.key()) + ": " + e.getMessage(), e);
        }
    }

    @Override
    public Optional<Manifest.ObjectLock> lock(String key) {
        return Optional.empty();
    }

    @Override
    public void close() {
    }
}
