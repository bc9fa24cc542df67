package io.pgcheckpoint.engine;

import java.time.Instant;
import java.util.List;

/**
 * {@code manifest.json}: written last, so its presence is what makes a checkpoint complete.
 * Holds no secret: the database is described without its password.
 */
public record Manifest(
        int formatVersion,
        String tag,
        String commit,
        String reason,
        String database,
        Instant createdAt,
        Instant snapshotTime,
        String serverVersion,
        /** The source server's major version (server_version_num / 10000); null in manifests from before it was recorded. */
        Integer serverMajor,
        String pgDumpVersion,
        Archive archive,
        LedgerSummary ledger,
        Timings timings,
        /** What the dump left out on purpose; null when nothing was. */
        Exclusions excluded,
        /** The S3 Object Lock every object of this checkpoint was written with; null when none (and in older manifests). */
        ObjectLock objectLock,
        /** The server-side encryption every object of this checkpoint was written with; null when none. */
        Encryption encryption) {

    /** A manifest without Object Lock or server-side encryption, as every manifest before them. */
    public Manifest(int formatVersion, String tag, String commit, String reason, String database, Instant createdAt,
                    Instant snapshotTime, String serverVersion, Integer serverMajor, String pgDumpVersion, Archive archive,
                    LedgerSummary ledger, Timings timings, Exclusions excluded) {
        this(formatVersion, tag, commit, reason, database, createdAt, snapshotTime, serverVersion, serverMajor,
                pgDumpVersion, archive, ledger, timings, excluded, null, null);
    }

    /** 2: materialized views listed apart from the counted tables; extension configuration tables counted with their filter. */
    public static final int FORMAT_VERSION = 2;
    /** 3: the archive is pg_dump's directory format, one object per file ({@link Archive#files}); older readers must refuse it. */
    public static final int DIRECTORY_FORMAT_VERSION = 3;
    /** The newest format this build reads. */
    public static final int NEWEST_READABLE = DIRECTORY_FORMAT_VERSION;
    public static final String ARCHIVE = "archive.dump";
    /** The prefix under the tag of a directory-format archive's files: {@code <tag>/archive/toc.dat}, ... */
    public static final String ARCHIVE_DIRECTORY = "archive";
    /** pg_dump's table of contents in a directory-format archive: committed first, so it marks an orphan. */
    public static final String TOC = "toc.dat";
    public static final String MANIFEST = "manifest.json";
    public static final String DRILL = "drill.json";
    /** The Ed25519 signature of manifest.json's exact bytes, written just before it (docs/immutability.md). */
    public static final String SIGNATURE = "manifest.sig";

    /**
     * S3 Object Lock of a checkpoint's objects: {@code mode} GOVERNANCE or COMPLIANCE, no version of
     * them can be deleted or overwritten before {@code retainUntil}.
     */
    public record ObjectLock(String mode, Instant retainUntil) {
        public static final java.util.List<String> MODES = java.util.List.of("GOVERNANCE", "COMPLIANCE");

        /** Whether the lock still holds at {@code now}. */
        public boolean holdsAt(Instant now) {
            return retainUntil != null && retainUntil.isAfter(now);
        }
    }

    /** S3 server-side encryption: {@code algorithm} AES256 or aws:kms, {@code kmsKeyId} only with aws:kms (null: the account's default key). */
    public record Encryption(String algorithm, String kmsKeyId) {
        public static final java.util.List<String> ALGORITHMS = java.util.List.of("AES256", "aws:kms");
    }

    /**
     * The archive: one file ({@code format} "custom"), or pg_dump's directory format ("directory"),
     * whose {@code files} are stored under {@code <tag>/<file>/}, each with its own size and sha256.
     * For a directory, {@code sha256} is that of the file list as {@code sha256sum} prints it
     * ("&lt;sha256&gt;  &lt;name&gt;" lines, sorted by name), {@code bytes} the sum of the files.
     */
    public record Archive(String file, long bytes, String sha256, String format, String compression, List<ArchiveFile> files) {
        public Archive(String file, long bytes, String sha256, String format, String compression) {
            this(file, bytes, sha256, format, compression, null);
        }

        @com.fasterxml.jackson.annotation.JsonIgnore
        public boolean isDirectory() {
            return "directory".equals(format);
        }

        /** The store key of one file of a directory archive. */
        public String key(String tag, String name) {
            return Manifest.key(tag, file + "/" + name);
        }
    }

    /** One file of a directory-format archive. */
    public record ArchiveFile(String name, long bytes, String sha256) {
    }

    /** The sha256 of a directory archive's file list, as {@code sha256sum} prints it, sorted by name. */
    public static String listingSha256(List<ArchiveFile> files) {
        StringBuilder listing = new StringBuilder();
        files.stream().sorted(java.util.Comparator.comparing(ArchiveFile::name))
                .forEach(f -> listing.append(f.sha256()).append("  ").append(f.name()).append('\n'));
        try {
            return java.util.HexFormat.of().formatHex(java.security.MessageDigest.getInstance("SHA-256")
                    .digest(listing.toString().getBytes(java.nio.charset.StandardCharsets.UTF_8)));
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    public record LedgerSummary(int tableCount, long totalRows, long largeObjects, List<Ledger.Entry> tables,
                                /** Populated materialized views the restore must refresh; null in format 1. */
                                List<Ledger.View> materializedViews) {
        public LedgerSummary(int tableCount, long totalRows, long largeObjects, List<Ledger.Entry> tables) {
            this(tableCount, totalRows, largeObjects, tables, List.of());
        }

        public List<Ledger.View> views() {
            return materializedViews == null ? List.of() : materializedViews;
        }
    }

    public record Timings(long countMillis, long dumpMillis, long totalMillis) {
    }

    /** The source's major version: recorded, or read from serverVersion in older manifests. */
    public int sourceMajor() {
        return serverMajor != null ? serverMajor : PgTools.serverMajor(serverVersion);
    }

    /** The major version of the pg_dump that wrote the archive: pg_restore must be at least as new. */
    public int pgDumpMajor() {
        return PgTools.major(pgDumpVersion);
    }

    public static String key(String tag, String file) {
        return tag + "/" + file;
    }
}
