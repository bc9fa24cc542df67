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
