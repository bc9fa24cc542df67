package io.pgcheckpoint.engine;

import java.nio.file.Path;

/** Opens a store from its URI: {@code s3://bucket/prefix} or {@code file:DIR}. */
public final class Stores {
    private Stores() {
    }

    public static Store open(String uri, S3Store.Settings s3) {
        if (uri == null || uri.isBlank()) {
            throw new CheckpointException("usage.store", "no store given: use --store s3://bucket/prefix or --store file:DIR");
        }
        if (uri.startsWith("s3://")) {
            String rest = uri.substring("s3://".length());
            int slash = rest.indexOf('/');
            String bucket = slash < 0 ? rest : rest.substring(0, slash);
            String prefix = slash < 0 ? "" : rest.substring(slash + 1);
            while (prefix.endsWith("/")) {
                prefix = prefix.substring(0, prefix.length() - 1);
            }
            if (bucket.isEmpty()) {
                throw new CheckpointException("usage.store", "store URI '" + uri + "' names no bucket: use s3://bucket/prefix");
            }
            return new S3Store(bucket, prefix, s3);
        }
        if (uri.startsWith("file://")) {
            return new FileStore(Path.of(uri.substring("file://".length())));
        }
        if (uri.startsWith("file:")) {
            return new FileStore(Path.of(uri.substring("file:".length())));
        }
        throw new CheckpointException("usage.store", "unknown store '" + uri + "': use s3://bucket/prefix or file:DIR");
    }
}
