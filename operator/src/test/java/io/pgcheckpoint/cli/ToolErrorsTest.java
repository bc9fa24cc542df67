package io.pgcheckpoint.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pgcheckpoint.engine.CheckpointException;
import io.pgcheckpoint.engine.Driller;
import io.pgcheckpoint.engine.FileStore;
import io.pgcheckpoint.engine.Fixtures;
import io.pgcheckpoint.engine.LocalPostgres;
import io.pgcheckpoint.engine.Progress;
import io.pgcheckpoint.engine.Store;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A real pg_restore that fails on an object with a 20 KB definition: the message names the
 * server's ERROR, not the tail of the statement, and the JSON result stays far under 4 KiB.
 */
class ToolErrorsTest {
    static LocalPostgres pg;
    @TempDir
    static Path dir;

    @BeforeAll
    static void start() {
        pg = Fixtures.source(null);
        // a domain whose CHECK lists 4,000 values: pg_restore prints all of it after the error
        Fixtures.sql(pg.target("app"), """
                DO $$ BEGIN
                  EXECUTE 'CREATE DOMAIN public.order_status AS integer CHECK (VALUE IN ('
                    || (SELECT string_agg(g::text, ', ') FROM generate_series(100000, 104000) g) || '))';
                END $$;
                CREATE TABLE public.orders (id int, status public.order_status);
                INSERT INTO public.orders VALUES (1, 100001);
                """);
        Fixtures.sql(pg.target("postgres"), "CREATE DATABASE drill_target");
        // the drill target holds no relation, so the drill accepts it, but the domain's name is taken
        Fixtures.sql(pg.target("drill_target"), "CREATE DOMAIN public.order_status AS text");
        CliTest.Run seal = CliTest.run("seal", "--db", uri("app"),
                "--store", "file:" + dir, "--tag", "huge-domain", "-q");
        assertEquals(0, seal.exit(), seal.stderr());
    }

    /** The throwaway server takes TCP connections with its own random password only. */
    static String uri(String database) {
        return "postgresql://postgres:" + java.net.URLEncoder.encode(pg.target(database).password(), StandardCharsets.UTF_8)
                + "@127.0.0.1:" + pg.port() + "/" + database;
    }

    @AfterAll
    static void stop() {
        pg.close();
    }

    @Test
    void failedRestoreNamesTheServerErrorInAShortMessage() {
        try (Store store = new FileStore(dir)) {
            CheckpointException e = org.junit.jupiter.api.Assertions.assertThrows(CheckpointException.class,
                    () -> new Driller(Fixtures.TOOLS, Progress.SILENT).drill(store, "huge-domain", pg.target("drill_target"), 1));
            assertEquals("drill.restore", e.code());
            assertTrue(e.getMessage().contains("ERROR:  type \"order_status\" already exists"), e.getMessage());
            assertTrue(e.getMessage().getBytes(StandardCharsets.UTF_8).length < 1024,
                    e.getMessage().length() + " characters: " + e.getMessage());
            assertFalse(e.getMessage().contains("103999"), "no statement text: " + e.getMessage());
        }
    }

    @Test
    void failedDrillAsJsonCarriesTheCauseUnder4KiB() {
        CliTest.Run drill = CliTest.run("drill", "--store", "file:" + dir, "--tag", "huge-domain",
                "--target", uri("drill_target"), "-o", "json", "-q");
        assertEquals(1, drill.exit(), drill.stderr());
        assertTrue(drill.stdout().getBytes(StandardCharsets.UTF_8).length < 4096, drill.stdout().length() + " characters");
        assertEquals("drill.restore", drill.json().get("error").asText());
        String message = drill.json().get("message").asText();
        assertTrue(message.contains("type \"order_status\" already exists"), message);
        assertTrue(message.length() < 1024, message);
        assertTrue(drill.stderr().length() < 2048, "stderr: " + drill.stderr().length() + " characters");
    }
}
