package io.pgcheckpoint.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.pgcheckpoint.engine.Fixtures;
import io.pgcheckpoint.engine.Json;
import io.pgcheckpoint.engine.LocalPostgres;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The command line as scripts and Jobs see it: exit codes, one JSON object on stdout, progress on stderr. */
class CliTest {
    static LocalPostgres pg;
    static String uri;

    @BeforeAll
    static void start() {
        pg = Fixtures.source("cli-pw");
        uri = "postgresql://postgres:cli-pw@127.0.0.1:" + pg.port() + "/app";
        Fixtures.sql(pg.target("app"), "DO $$ BEGIN FOR i IN 1..300 LOOP EXECUTE format('CREATE TABLE table_with_a_rather_long_name_%s (id int)', i); END LOOP; END $$;");
    }

    @AfterAll
    static void stop() {
        pg.close();
    }

    record Run(int exit, String stdout, String stderr) {
        JsonNode json() {
            try {
                return Json.MAPPER.readTree(stdout);
            } catch (Exception e) {
                throw new AssertionError("stdout is not one JSON object: " + stdout, e);
            }
        }
    }

    static synchronized Run run(String... args) {
        PrintStream out = System.out;
        PrintStream err = System.err;
        ByteArrayOutputStream o = new ByteArrayOutputStream();
        ByteArrayOutputStream e = new ByteArrayOutputStream();
        try {
            System.setOut(new PrintStream(o, true, StandardCharsets.UTF_8));
            System.setErr(new PrintStream(e, true, StandardCharsets.UTF_8));
            int code = Main.execute(args);
            return new Run(code, o.toString(StandardCharsets.UTF_8), e.toString(StandardCharsets.UTF_8));
        } finally {
            System.setOut(out);
            System.setErr(err);
        }
    }

    @Test
    void sealDrillListAsJsonWithinTheTerminationMessageLimit(@TempDir Path dir) {
        String store = "file:" + dir;
        Run seal = run("seal", "--db", uri, "--store", store, "--tag", "pre-deploy-abc", "--commit", "abc123", "-o", "json");
        assertEquals(0, seal.exit(), seal.stderr());
        assertTrue(seal.stdout().length() <= 4096, "termination messages are capped at 4 KiB");
        assertEquals(300, seal.json().get("tables").asInt());
        assertEquals("abc123", seal.json().get("commit").asText());
        assertTrue(seal.stderr().contains("ledger counted"), "progress goes to stderr: " + seal.stderr());
        assertTrue(!seal.stderr().contains("cli-pw") && !seal.stdout().contains("cli-pw"), "no password in any output");

        Run drill = run("drill", "--store", store, "--tag", "pre-deploy-abc", "-o", "json");
        assertEquals(0, drill.exit(), drill.stderr());
        assertEquals("proven", drill.json().get("restoreDrill").asText());
        assertTrue(drill.stdout().length() <= 4096);

        Run list = run("list", "--store", store);
        assertEquals(0, list.exit());
        assertTrue(list.stdout().contains("pre-deploy-abc") && list.stdout().contains("proven"), list.stdout());

        Run again = run("seal", "--db", uri, "--store", store, "--tag", "pre-deploy-abc", "-o", "json");
        assertEquals(1, again.exit());
        assertEquals("store.exists", again.json().get("error").asText());
    }

    @Test
    void usageErrorsExitTwoWithAClearMessage(@TempDir Path dir) {
        Run badTag = run("seal", "--db", uri, "--store", "file:" + dir, "--tag", "../escape");
        assertEquals(2, badTag.exit());
        assertTrue(badTag.stderr().contains("invalid tag '../escape'"), badTag.stderr());
        Run missing = run("drill", "--store", "file:" + dir);
        assertEquals(2, missing.exit());
        assertTrue(missing.stderr().contains("--tag"), missing.stderr());
        Run badStore = run("list", "--store", "ftp://x");
        assertEquals(2, badStore.exit());
        Run notFound = run("drill", "--store", "file:" + dir, "--tag", "nope", "-o", "json");
        assertEquals(1, notFound.exit());
        assertEquals("checkpoint.not-found", notFound.json().get("error").asText());
    }

    /** The CDS archive's training run (scripts/cds-archive, the Dockerfile) needs no database and succeeds. */
    @Test
    void cdsTrainingLoadsTheEnginesClassesWithoutADatabase() {
        Run r = run("cds-training");
        assertEquals(0, r.exit(), r.stderr());
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("cds-training: loaded (\\d+) classes").matcher(r.stderr());
        assertTrue(m.find(), r.stderr());
        assertTrue(Integer.parseInt(m.group(1)) > 100, r.stderr());
    }
}
