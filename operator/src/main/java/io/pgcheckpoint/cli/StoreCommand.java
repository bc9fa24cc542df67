package io.pgcheckpoint.cli;

import io.pgcheckpoint.engine.DbTarget;
import io.pgcheckpoint.engine.S3Store;
import io.pgcheckpoint.engine.Store;
import io.pgcheckpoint.engine.Stores;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** Options every command that reads or writes a store shares. */
abstract class StoreCommand {
    @Mixin
    Output output = new Output();

    @Option(names = "--store", paramLabel = "URI", defaultValue = "${env:PGCHECKPOINT_STORE}",
            description = "Where checkpoints live: s3://bucket/prefix or file:DIR (env PGCHECKPOINT_STORE).")
    String store;

    @Option(names = "--s3-region", paramLabel = "REGION", defaultValue = "${env:AWS_REGION}",
            description = "S3 region (env AWS_REGION; default us-east-1).")
    String s3Region;

    @Option(names = "--s3-endpoint", paramLabel = "URL", defaultValue = "${env:AWS_ENDPOINT_URL_S3}",
            description = "S3-compatible endpoint, e.g. http://minio:9000 (env AWS_ENDPOINT_URL_S3 or AWS_ENDPOINT_URL).")
    String s3Endpoint;

    @Option(names = "--s3-path-style", defaultValue = "${env:PGCHECKPOINT_S3_PATH_STYLE:-false}",
            description = "Address the bucket in the path, as most S3-compatible servers need (env PGCHECKPOINT_S3_PATH_STYLE).")
    boolean s3PathStyle;

    Store openStore() {
        String endpoint = s3Endpoint != null ? s3Endpoint : System.getenv("AWS_ENDPOINT_URL");
        return Stores.open(store, new S3Store.Settings(s3Region, endpoint, s3PathStyle));
    }

    static DbTarget db(String uri) {
        return DbTarget.parse(uri, System.getenv());
    }
}
