package io.pgcheckpoint.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pgcheckpoint.engine.Db;
import io.pgcheckpoint.engine.Fixtures;
import io.pgcheckpoint.engine.LocalPostgres;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Real seals by roles whose passwords hold every URI-special character: no piece of a
 * password (4 characters or more) reaches stdout, stderr, the JSON result or the manifest,
 * whether the seal succeeds or fails.
 */
class SecretsInOutputTest {
    /** Every URI-special character; no 4 characters in a row are hex digits, so no sha256 or port can match by chance. */
    static final String SYMBOLIC = "Zk8s/3Q?r#T@x:Y%w+V=Kb/Jq";
    /** base64 as secret stores generate it: '/', '+' and '=' written raw in the URI. */
    static final String BASE64 = "Zk8s3cr3tQ/x+Yw==";
    static final String WRONG = "Wr0ng/Pw?Qx#Yz@Kv:Jt%25+Hs=";
    static LocalPostgres pg;

    @BeforeAll
    static void start() {
        pg = Fixtures.source("leak-test-admin");
        Fixtures.sql(pg.target("app"), "CREATE TABLE orders (id int); INSERT INTO orders SELECT generate_series(1, 10);"
                + "CREATE ROLE symbolic LOGIN SUPERUSER PASSWORD " + Db.quoteLiteral(SYMBOLIC) + ";"
                + "CREATE ROLE base64 LOGIN SUPERUSER PASSWORD " + Db.quoteLiteral(BASE64) + ";");
        for (String secret : List.of(SYMBOLIC, BASE64, WRONG)) {
            for (int i = 0; i + 4 <= secret.length(); i++) {
                assertTrue(!secret.substring(i, i + 4).matches("[0-9a-f]{4}"), "test passwords must not look like hex");
            }
        }
    }

    @AfterAll
    static void stop() {
        pg.close();
    }

    static String encode(String s) {
        return io.pgcheckpoint.engine.DbUriPropertyTest.encode(s);
    }

    String uri(String user, String passwordAsWritten, int port) {
        return "postgresql://" + user + ":" + passwordAsWritten + "@127.0.0.1:" + port + "/app?sslmode=disable";
    }

    /** Fails naming the channel and the piece of the password it shows. */
    static void assertNoSecret(String channel, String text) {
        for (String secret : List.of(SYMBOLIC, BASE64, WRONG, encode(SYMBOLIC), encode(BASE64), encode(WRONG))) {
            String piece = io.pgcheckpoint.engine.DbUriPropertyTest.leak(secret, text);
            assertNull(piece, () -> channel + " shows '" + piece + "' of a password: " + text);
        }
    }

    static void assertNoSecret(CliTest.Run run) {
        assertNoSecret("stdout", run.stdout());
        assertNoSecret("stderr", run.stderr());
    }

    @Test
    void successfulSealsShowNoPassword(@TempDir Path dir) throws Exception {
        CliTest.Run json = CliTest.run("seal", "--db", uri("symbolic", encode(SYMBOLIC), pg.port()), "--store", "file:" + dir,
                "--tag", "encoded", "-o", "json");
        assertEquals(0, json.exit(), json.stderr());
        assertTrue(json.json().get("ok").asBoolean());
        assertNoSecret(json);
        assertNoSecret("manifest.json", Files.readString(dir.resolve("encoded/manifest.json")));

        CliTest.Run text = CliTest.run("seal", "--db", uri("base64", BASE64, pg.port()), "--store", "file:" + dir,
                "--tag", "raw-base64");
        assertEquals(0, text.exit(), text.stdout() + text.stderr());
        assertTrue(text.stdout().startsWith("sealed "), text.stdout());
        assertNoSecret(text);
        String manifest = Files.readString(dir.resolve("raw-base64/manifest.json"));
        assertNoSecret("manifest.json", manifest);
        assertTrue(manifest.contains("postgresql://base64@127.0.0.1:" + pg.port() + "/app"), manifest);
    }

    @Test
    void failedSealsShowNoPassword(@TempDir Path dir) {
        String store = "file:" + dir;
        CliTest.Run wrong = CliTest.run("seal", "--db", uri("symbolic", encode(WRONG), pg.port()), "--store", store,
                "--tag", "t", "-o", "json");
        assertEquals(1, wrong.exit(), wrong.stderr());
        assertEquals("connection.auth", wrong.json().get("error").asText());
        assertNoSecret(wrong);

        CliTest.Run wrongRaw = CliTest.run("seal", "--db", uri("base64", "Xq9/" + BASE64.substring(4), pg.port()), "--store", store,
                "--tag", "t");
        assertEquals(1, wrongRaw.exit(), wrongRaw.stderr());
        assertTrue(wrongRaw.stderr().contains("authentication failed for user 'base64'"), wrongRaw.stderr());
        assertNoSecret(wrongRaw);

        int closed = TestPorts.free();
        for (String format : List.of("json", "text")) {
            CliTest.Run refused = CliTest.run("seal", "--db", uri("symbolic", encode(SYMBOLIC), closed), "--store", store,
                    "--tag", "t", "-o", format);
            assertEquals(1, refused.exit(), refused.stderr());
            assertTrue(refused.stderr().contains("connection refused"), refused.stderr());
            assertNoSecret(refused);
            CliTest.Run refusedRaw = CliTest.run("seal", "--db", uri("base64", BASE64, closed), "--store", store,
                    "--tag", "t", "-o", format);
            assertEquals(1, refusedRaw.exit(), refusedRaw.stderr());
            assertTrue(refusedRaw.stderr().contains("connection refused"), refusedRaw.stderr());
            assertNoSecret(refusedRaw);
        }

        // a raw '%' not followed by two hex digits cannot be read: a usage error that names the part, not its text
        CliTest.Run unreadable = CliTest.run("seal", "--db", uri("symbolic", SYMBOLIC, pg.port()), "--store", store,
                "--tag", "t", "-o", "json");
        assertEquals(2, unreadable.exit(), unreadable.stderr());
        assertEquals("usage.db-uri", unreadable.json().get("error").asText());
        assertNoSecret(unreadable);
        assertTrue(Files.notExists(dir.resolve("t/manifest.json")));
    }

    /** A port nothing listens on. */
    static final class TestPorts {
        static int free() {
            try (java.net.ServerSocket s = new java.net.ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
                return s.getLocalPort();
            } catch (java.io.IOException e) {
                throw new IllegalStateException(e);
            }
        }
    }
}
