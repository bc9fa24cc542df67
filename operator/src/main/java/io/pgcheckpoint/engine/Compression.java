package io.pgcheckpoint.engine;

import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * How pg_dump compresses the archive: {@code gzip[:1-9]}, {@code zstd[:1-22]}, {@code lz4[:1-12]},
 * {@code none}, a bare gzip level {@code 0-9} (what pg_dump before 16 takes), or {@code auto}: the
 * measured default for the pg_dump that runs ({@link #DEFAULT_MODERN} from pg_dump 16 on,
 * {@link #DEFAULT_LEGACY} before; see docs/benchmarks.md). zstd and lz4 need pg_dump 16 or newer.
 *
 * @param method gzip, zstd, lz4, none, or auto
 * @param level  the level, or null for the method's own default
 */
public record Compression(String method, Integer level) {
    /** The first pg_dump that compresses with zstd and lz4 ({@code --compress=METHOD[:LEVEL]}). */
    public static final int FIRST_MODERN_PG_DUMP = 16;
    public static final Compression AUTO = new Compression("auto", null);
    /** The default for pg_dump 16+, chosen from the measurements in docs/benchmarks.md. */
    public static final String MODERN_DEFAULT = "zstd:1";
    /** The default for pg_dump 13-15: gzip level 1, several times faster than level 6 for ~10 % more bytes. */
    public static final String LEGACY_DEFAULT = "gzip:1";
    public static final Compression DEFAULT_MODERN = new Compression("zstd", 1);
    public static final Compression DEFAULT_LEGACY = new Compression("gzip", 1);

    /** What a Database's spec.dump.compression and seal --compress accept (also for the CRD's validation). */
    public static final String SYNTAX = "^(auto|none|[0-9]|gzip(:[1-9])?|zstd(:([1-9]|1[0-9]|2[0-2]))?|lz4(:([1-9]|1[0-2]))?)$";
    private static final Pattern SPEC = Pattern.compile("(?i)(auto|none|gzip|zstd|lz4|[0-9])(?::(\\d{1,2}))?");

    /** Parses a spec such as {@code zstd:3}; null or blank is {@code auto}. Throws usage.compression. */
    public static Compression parse(String spec) {
        if (spec == null || spec.isBlank()) {
            return AUTO;
        }
        Matcher m = SPEC.matcher(spec.strip());
        if (!m.matches()) {
            throw invalid(spec);
        }
        String method = m.group(1).toLowerCase(Locale.ROOT);
        Integer level = m.group(2) == null ? null : Integer.valueOf(m.group(2));
        if (Character.isDigit(method.charAt(0))) {
            if (level != null) {
                throw invalid(spec);
            }
            int gzip = Integer.parseInt(method);
            return gzip == 0 ? new Compression("none", null) : new Compression("gzip", gzip);
        }
        int max = switch (method) {
            case "gzip" -> 9;
            case "zstd" -> 22;
            case "lz4" -> 12;
            default -> 0; // auto, none: no level
        };
        if (level != null && (level < 1 || level > max)) {
            throw invalid(spec);
        }
        return new Compression(method, level);
    }

    private static CheckpointException invalid(String spec) {
        return new CheckpointException("usage.compression", "compression must be auto, none, gzip[:1-9], zstd[:1-22], lz4[:1-12]"
                + " or a gzip level 0-9, got '" + spec + "'");
    }

    public boolean isAuto() {
        return method.equals("auto");
    }

    /** What pg_dump of this major version will use: {@code auto} becomes the measured default. */
    public Compression resolve(int pgDumpMajor) {
        if (!isAuto()) {
            return this;
        }
        return pgDumpMajor >= FIRST_MODERN_PG_DUMP ? DEFAULT_MODERN : DEFAULT_LEGACY;
    }

    /**
     * pg_dump's {@code --compress} argument for this (resolved) compression, refusing what that
     * pg_dump cannot do.
     *
     * @param pgDumpVersion e.g. "pg_dump (PostgreSQL) 15.18 (Debian 15.18-0+deb12u1)"
     * @param where         where that pg_dump is, for the message
     * @param serverMajor   the major of the server it dumps, for the message
     */
    public String pgDumpArgument(String pgDumpVersion, String where, int serverMajor) {
        int major = PgTools.major(pgDumpVersion);
        Compression c = resolve(major);
        if (major >= FIRST_MODERN_PG_DUMP) {
            return "--compress=" + c;
        }
        return switch (c.method) {
            case "none" -> "--compress=0";
            case "gzip" -> "--compress=" + (c.level == null ? 6 : c.level);
            default -> throw new CheckpointException("tools.compression", c.method + " compression needs pg_dump "
                    + FIRST_MODERN_PG_DUMP + " or newer, and this PostgreSQL " + serverMajor + " server is dumped with "
                    + PgTools.shortVersion(pgDumpVersion) + " (" + where + ")" + (major == serverMajor
                    ? ", its own major's, whose archive PostgreSQL " + serverMajor + " is sure to load" : "")
                    + ": use gzip[:1-9] or auto (" + LEGACY_DEFAULT + " here)" + (major == serverMajor ? ""
                    : ", or install postgresql-client-" + Math.max(FIRST_MODERN_PG_DUMP, serverMajor)));
        };
    }

    /** {@code zstd:3}, {@code gzip:1}, {@code lz4}, {@code none}: the form pg_dump 16+ takes and the manifest records. */
    @Override
    public String toString() {
        return level == null ? method : method + ":" + level;
    }
}
