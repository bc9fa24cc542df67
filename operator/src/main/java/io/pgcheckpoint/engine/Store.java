package io.pgcheckpoint.engine;

import java.io.InputStream;
import java.io.OutputStream;
import java.util.List;
import java.util.Optional;

/**
 * Where checkpoints live: a bucket prefix or a local directory. Keys are relative to the
 * store's root, e.g. {@code pre-deploy-4f3a9c1/archive.dump}. Writes of checkpoint files
 * never replace an existing object.
 */
public interface Store extends AutoCloseable {

    /** The store's own address, e.g. {@code s3://bucket/prefix} or {@code file:/var/checkpoints}. */
    String uri();

    default String uri(String key) {
        return uri() + "/" + key;
    }

    boolean exists(String key);

    /** When the object was written, or empty when there is none. */
    Optional<java.time.Instant> modified(String key);

    /** Starts a streaming write of a new object; nothing is visible under {@code key} until {@link Upload#commit()}. */
    Upload create(String key);

    /**
     * Uploads a whole local file as a new object that stays invisible under {@code key} until
     * {@link Upload#commit()}, without holding it in memory (one per file of a directory archive).
     */
    default Upload stage(String key, java.nio.file.Path file) {
        Upload upload = create(key);
        try {
            java.nio.file.Files.copy(file, upload.stream());
            return upload;
        } catch (java.io.IOException | RuntimeException e) {
            upload.abort();
            throw e instanceof CheckpointException ce ? ce : new CheckpointException("store.write", "uploading " + file
                    + " to " + uri(key) + " failed: " + e.getMessage(), e);
        }
    }

    /** Keys of the objects under {@code prefix} (e.g. {@code <tag>/archive/}), current versions only. */
    List<String> keys(String prefix);

    /** Writes a small object that must not exist yet; fails with code {@code store.exists} if it does. */
    void putNew(String key, byte[] data);

    /** Writes a small object, replacing any previous version (drill reports only). */
    void put(String key, byte[] data);

    InputStream open(String key);

    Optional<byte[]> read(String key);

    /** Names of the immediate "directories" under the root (the checkpoint tags). */
    List<String> listTags();

    /** Removes an object this run created itself (a sealed archive whose manifest could not be written). */
    void delete(String key);

    /**
     * What this store applies to every object it writes (Object Lock, server-side encryption) and
     * checks on every manifest it reads (the Ed25519 key manifests must be signed with). Set once,
     * before the first write: a lock asked of a store that cannot keep it is refused here, with
     * code {@code store.lock-unsupported}, before anything is written.
     */
    void protect(Protection protection);

    Protection protection();

    /** Writes a small object, replacing any previous version, with this lock (null: none) rather than the store's. */
    void put(String key, byte[] data, Manifest.ObjectLock lock);

    /** Every stored version of every object of one checkpoint (S3: also delete markers), each with its lock. */
    List<Version> versions(String tag);

    /** Removes one stored version for good; refused by the store itself while it is locked. */
    void deleteVersion(Version version);

    /** The lock of the current version of an object, or empty when it has none (or does not exist). */
    Optional<Manifest.ObjectLock> lock(String key);

    /**
     * @param lock       applied to every object written (null: none); its retain-until is fixed once per seal
     * @param encryption applied to every object written (null: the bucket's default)
     * @param verifyKey  manifests read must carry a valid signature by it (null: signatures are not checked)
     */
    record Protection(Manifest.ObjectLock lock, Manifest.Encryption encryption, java.security.PublicKey verifyKey) {
        public static final Protection NONE = new Protection(null, null, null);

        public Protection withLock(Manifest.ObjectLock newLock) {
            return new Protection(newLock, encryption, verifyKey);
        }

        public Protection withEncryption(Manifest.Encryption newEncryption) {
            return new Protection(lock, newEncryption, verifyKey);
        }
    }

    /**
     * One stored version of an object: {@code versionId} null on stores without versions,
     * {@code deleteMarker} true for an S3 delete marker, {@code lock} null when unlocked.
     */
    record Version(String key, String versionId, boolean deleteMarker, java.time.Instant modified, Manifest.ObjectLock lock) {
    }

    @Override
    void close();

    interface Upload extends AutoCloseable {
        OutputStream stream();

        /** Makes the object visible; fails rather than replace an existing one. */
        void commit();

        /** Discards everything written; safe to call after a failure or twice. */
        void abort();

        @Override
        default void close() {
            abort();
        }
    }
}
