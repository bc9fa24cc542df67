package io.pgcheckpoint.engine;

import java.io.InputStream;
import java.time.Instant;
import java.util.List;
import java.util.Optional;

/** A real store with a test's hook in front of some of its calls. */
class ForwardingStore implements Store {
    private final Store delegate;

    ForwardingStore(Store delegate) {
        this.delegate = delegate;
    }

    @Override
    public String uri() {
        return delegate.uri();
    }

    @Override
    public boolean exists(String key) {
        return delegate.exists(key);
    }

    @Override
    public Optional<Instant> modified(String key) {
        return delegate.modified(key);
    }

    @Override
    public Upload create(String key) {
        return delegate.create(key);
    }

    @Override
    public void putNew(String key, byte[] data) {
        delegate.putNew(key, data);
    }

    @Override
    public void put(String key, byte[] data) {
        delegate.put(key, data);
    }

    @Override
    public InputStream open(String key) {
        return delegate.open(key);
    }

    @Override
    public Optional<byte[]> read(String key) {
        return delegate.read(key);
    }

    @Override
    public List<String> keys(String prefix) {
        return delegate.keys(prefix);
    }

    @Override
    public Upload stage(String key, java.nio.file.Path file) {
        return delegate.stage(key, file);
    }

    @Override
    public List<String> listTags() {
        return delegate.listTags();
    }

    @Override
    public void delete(String key) {
        delegate.delete(key);
    }

    @Override
    public void close() {
        delegate.close();
    }

    @Override
    public void protect(Protection protection) {
        delegate.protect(protection);
    }

    @Override
    public Protection protection() {
        return delegate.protection();
    }

    @Override
    public void put(String key, byte[] data, Manifest.ObjectLock lock) {
        delegate.put(key, data, lock);
    }

    @Override
    public List<Version> versions(String tag) {
        return delegate.versions(tag);
    }

    @Override
    public void deleteVersion(Version version) {
        delegate.deleteVersion(version);
    }

    @Override
    public Optional<Manifest.ObjectLock> lock(String key) {
        return delegate.lock(key);
    }
}
