package io.pgcheckpoint.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

/** What a failed pg_dump, pg_restore or psql said, in a few hundred characters, whatever else it printed. */
class ToolErrorSummaryTest {
    /** A catalog query as pg_dump prints it on failure: 20 KB, thousands of OIDs, over several lines. */
    static String hugeQuery(String label) {
        String oids = IntStream.range(0, 4000).mapToObj(i -> Integer.toString(16384 + i)).collect(Collectors.joining(","));
        return label + "SELECT c.tableoid, c.oid, c.relname, c.relacl\n  FROM pg_class c\n WHERE c.oid IN (" + oids
                + ")\n   AND c.relkind IN ('r', 'p', 'v', 'm', 'f')\n ORDER BY c.oid";
    }

    static void assertShort(String summary) {
        assertTrue(summary.length() <= 700, summary.length() + " characters: " + summary);
        assertFalse(summary.contains("16390"), "no query text: " + summary);
    }

    @Test
    void errorBeforeTheHugeQuery() {
        String stderr = "pg_dump: error: query failed: ERROR:  permission denied for table orders\n"
                + "pg_dump: detail: " + hugeQuery("Query was: ") + "\n";
        assertTrue(stderr.length() > 20_000);
        String summary = PgTools.errorSummary(stderr);
        assertEquals("pg_dump: error: query failed: ERROR:  permission denied for table orders", summary);
    }

    @Test
    void errorAfterTheHugeQueryWithDetailAndHint() {
        String stderr = "pg_restore: while PROCESSING TOC:\n"
                + "pg_restore: from TOC entry 215; 1259 16385 TABLE orders app\n"
                + "pg_restore: error: could not execute query: ERROR:  relation \"orders\" already exists\n"
                + hugeQuery("Command was: ") + "\n"
                + "psql:<stdin>:12: ERROR:  duplicate key value violates unique constraint \"orders_pkey\"\n"
                + "DETAIL:  Key (id)=(1) already exists.\n"
                + "HINT:  " + "x".repeat(1000) + "\n"
                + "CONTEXT:  COPY orders, line 1\n";
        String summary = PgTools.errorSummary(stderr);
        assertShort(summary);
        List<String> parts = List.of(summary.split(" \\| "));
        assertEquals("pg_restore: error: could not execute query: ERROR:  relation \"orders\" already exists", parts.get(0));
        assertEquals("psql:<stdin>:12: ERROR:  duplicate key value violates unique constraint \"orders_pkey\"", parts.get(1));
        assertEquals("DETAIL:  Key (id)=(1) already exists.", parts.get(2));
        assertTrue(parts.get(3).startsWith("HINT:  xxx") && parts.get(3).length() <= 301, parts.get(3));
    }

    @Test
    void manyErrorsAreCutToFit() {
        String stderr = IntStream.range(0, 200).mapToObj(i -> "psql:<stdin>:" + i + ": ERROR:  relation \"t" + i + "\" does not exist\n"
                + hugeQuery("LINE 1: "))
                .collect(Collectors.joining("\n"));
        String summary = PgTools.errorSummary(stderr);
        assertShort(summary);
        assertTrue(summary.startsWith("psql:<stdin>:0: ERROR:  relation \"t0\" does not exist | psql:<stdin>:1: ERROR:"), summary);
        assertTrue(summary.matches(".*\\(\\d+ more\\)$"), summary);
    }

    @Test
    void withoutAnErrorLineTheLastShortLines() {
        assertEquals("waiting for server to start.... stopped waiting | pg_ctl: could not start server | Examine the log output.",
                PgTools.errorSummary("\n2024-05-01 LOG:  starting\nwaiting for server to start.... stopped waiting\n"
                        + "pg_ctl: could not start server\nExamine the log output.\n\n"));
        String onlyQuery = PgTools.errorSummary(hugeQuery("") + "\n");
        assertTrue(onlyQuery.length() <= 700, onlyQuery);
        assertEquals("", PgTools.errorSummary(""));
        assertEquals("", PgTools.errorSummary("\n\n"));
    }

    @Test
    void stderrTailKeepsTheErrorLinesItScrollsPast() {
        String stderr = "pg_dump: error: query failed: ERROR:  canceling statement due to lock timeout\n"
                + "pg_dump: detail: " + hugeQuery("Query was: ") + "\n"
                + hugeQuery("") + "\n" + hugeQuery("") + "\n";
        assertTrue(stderr.length() > 60_000, "more than the 16 KiB tail");
        PgTools.StderrTail tail = PgTools.StderrTail.drain(new ByteArrayInputStream(stderr.getBytes(StandardCharsets.UTF_8)));
        assertTrue(tail.text().length() < 20_000, "still a bounded tail");
        assertEquals("pg_dump: error: query failed: ERROR:  canceling statement due to lock timeout", tail.errorSummary());
    }

    @Test
    void realProcessWhoseErrorScrollsOutOfTheTail() {
        // a real process: the error first, then 100 KB of a statement on stderr
        PgTools.Result r = PgTools.run(List.of("sh", "-c",
                "echo 'pg_restore: error: could not execute query: ERROR:  out of shared memory' >&2;"
                        + " echo 'HINT:  You might need to increase max_locks_per_transaction.' >&2;"
                        + " printf 'Command was: SELECT ' >&2; head -c 100000 /dev/zero | tr '\\0' 'x' >&2; echo >&2; exit 1"), Map.of());
        assertEquals(1, r.exitCode());
        assertEquals("pg_restore: error: could not execute query: ERROR:  out of shared memory"
                + " | HINT:  You might need to increase max_locks_per_transaction.", PgTools.errorSummary(r.stderr()));
    }
}
