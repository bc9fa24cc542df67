package io.pgcheckpoint.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/** The compression spec: what seal --compress and spec.dump.compression accept, and what each pg_dump is given. */
class CompressionTest {
    static final String PG_DUMP_15 = "pg_dump (PostgreSQL) 15.18 (Debian 15.18-0+deb12u1)";
    static final String PG_DUMP_18 = "pg_dump (PostgreSQL) 18.6 (Debian 18.6-3)";

    @Test
    void specsParse() {
        assertEquals(new Compression("gzip", 1), Compression.parse("1"));
        assertEquals(new Compression("none", null), Compression.parse("0"));
        assertEquals(new Compression("zstd", 3), Compression.parse("zstd:3"));
        assertEquals(new Compression("zstd", null), Compression.parse("ZSTD"));
        assertEquals(new Compression("lz4", 12), Compression.parse(" lz4:12 "));
        assertEquals(new Compression("gzip", 9), Compression.parse("gzip:9"));
        assertEquals(Compression.AUTO, Compression.parse(null));
        assertEquals(Compression.AUTO, Compression.parse("auto"));
        assertEquals("zstd:3", Compression.parse("zstd:3").toString());
        for (String bad : List.of("gzip:0", "gzip:10", "zstd:23", "lz4:13", "brotli", "10", "1:2", "zstd:", "auto:1", "none:1")) {
            CheckpointException e = assertThrows(CheckpointException.class, () -> Compression.parse(bad), bad);
            assertEquals("usage.compression", e.code());
            assertTrue(e.getMessage().contains("'" + bad + "'"), e.getMessage());
        }
    }

    /** The CRD's validation rule uses SYNTAX: it must accept what parse accepts (in the CRD's lower case) and nothing else. */
    @Test
    void theCrdPatternAgreesWithTheParser() {
        Pattern syntax = Pattern.compile(Compression.SYNTAX);
        for (String spec : List.of("auto", "none", "0", "9", "gzip", "gzip:1", "gzip:9", "zstd", "zstd:1", "zstd:19", "zstd:22",
                "lz4", "lz4:1", "lz4:12")) {
            assertTrue(syntax.matcher(spec).matches(), spec);
            Compression.parse(spec);
        }
        for (String spec : List.of("gzip:0", "gzip:10", "zstd:0", "zstd:23", "lz4:0", "lz4:13", "10", "brotli", "zstd:", "auto:1")) {
            assertFalse(syntax.matcher(spec).matches(), spec);
            assertThrows(CheckpointException.class, () -> Compression.parse(spec), spec);
        }
    }

    @Test
    void autoIsTheMeasuredDefaultForEachPgDump() {
        assertEquals(Compression.parse(Compression.MODERN_DEFAULT), Compression.DEFAULT_MODERN);
        assertEquals(Compression.parse(Compression.LEGACY_DEFAULT), Compression.DEFAULT_LEGACY);
        assertEquals(Compression.DEFAULT_LEGACY, Compression.AUTO.resolve(15));
        assertEquals(Compression.DEFAULT_MODERN, Compression.AUTO.resolve(16));
        assertEquals(Compression.DEFAULT_MODERN, Compression.AUTO.resolve(18));
        assertEquals(new Compression("lz4", null), Compression.parse("lz4").resolve(18));
    }

    @Test
    void pgDumpBefore16GetsAGzipLevelAndRefusesZstdAndLz4() {
        assertEquals("--compress=1", Compression.AUTO.pgDumpArgument(PG_DUMP_15, "/usr/lib/postgresql/15/bin", 15));
        assertEquals("--compress=6", Compression.parse("gzip").pgDumpArgument(PG_DUMP_15, "x", 15));
        assertEquals("--compress=0", Compression.parse("none").pgDumpArgument(PG_DUMP_15, "x", 15));
        assertEquals("--compress=4", Compression.parse("gzip:4").pgDumpArgument(PG_DUMP_15, "x", 15));
        CheckpointException e = assertThrows(CheckpointException.class,
                () -> Compression.parse("zstd:3").pgDumpArgument(PG_DUMP_15, "/usr/lib/postgresql/15/bin", 15));
        assertEquals("tools.compression", e.code());
        assertTrue(e.getMessage().contains("zstd compression needs pg_dump 16 or newer"), e.getMessage());
        assertTrue(e.getMessage().contains("pg_dump 15.18 (/usr/lib/postgresql/15/bin)"), e.getMessage());
        assertTrue(e.getMessage().contains("use gzip[:1-9] or auto"), e.getMessage());
        assertTrue(assertThrows(CheckpointException.class, () -> Compression.parse("lz4").pgDumpArgument(PG_DUMP_15, "x", 14))
                .getMessage().contains("install postgresql-client-16"));
    }

    @Test
    void pgDump16AndNewerGetMethodAndLevel() {
        assertEquals("--compress=" + Compression.MODERN_DEFAULT, Compression.AUTO.pgDumpArgument(PG_DUMP_18, "x", 15));
        assertEquals("--compress=zstd:9", Compression.parse("zstd:9").pgDumpArgument(PG_DUMP_18, "x", 18));
        assertEquals("--compress=lz4", Compression.parse("lz4").pgDumpArgument(PG_DUMP_18, "x", 17));
        assertEquals("--compress=gzip:1", Compression.parse("1").pgDumpArgument(PG_DUMP_18, "x", 18));
        assertEquals("--compress=none", Compression.parse("0").pgDumpArgument(PG_DUMP_18, "x", 18));
    }
}
