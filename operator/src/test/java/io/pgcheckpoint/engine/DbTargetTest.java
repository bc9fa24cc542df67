package io.pgcheckpoint.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.Map;
import org.junit.jupiter.api.Test;

class DbTargetTest {
    @Test
    void parsesLibpqUris() {
        DbTarget t = DbTarget.parse("postgresql://app%40corp:p%2Fw%3Ad@db.internal:6432/orders%20db?sslmode=require&connect_timeout=5", Map.of());
        assertEquals("app@corp", t.user());
        assertEquals("p/w:d", t.password());
        assertEquals("db.internal", t.host());
        assertEquals(6432, t.port());
        assertEquals("orders db", t.database());
        assertEquals("require", t.sslmode());
        assertEquals("5", t.libpqEnv().get("PGCONNECT_TIMEOUT"));
        assertEquals("p/w:d", t.libpqEnv().get("PGPASSWORD"));
        assertFalse(t.describe().contains("p/w"));
        assertEquals("[::1]", DbTarget.parse("postgres://u@[::1]:5433/d", Map.of()).jdbcUrl().split("//")[1].split(":5433")[0]);
    }

    @Test
    void fallsBackToTheEnvironment() {
        DbTarget t = DbTarget.parse(null, Map.of("PGHOST", "h", "PGPORT", "5499", "PGUSER", "u", "PGPASSWORD", "pw", "PGDATABASE", "d"));
        assertEquals("postgresql://u@h:5499/d", t.describe());
        assertEquals("pw", t.password());
        assertEquals("d", DbTarget.parse("postgresql://x@h2", Map.of("PGDATABASE", "d")).database());
    }

    @Test
    void rejectsWhatItCannotHonour() {
        assertEquals("usage.db-uri", assertThrows(CheckpointException.class, () -> DbTarget.parse("mysql://x", Map.of())).code());
        assertEquals("usage.db-uri", assertThrows(CheckpointException.class, () -> DbTarget.parse("postgresql://u@h/d?sslmode=maybe", Map.of())).code());
        assertEquals("usage.db-uri", assertThrows(CheckpointException.class, () -> DbTarget.parse("postgresql://u@h:99999/d", Map.of())).code());
        assertEquals("usage.db-uri", assertThrows(CheckpointException.class, () -> DbTarget.parse("postgresql://u@h1,h2/d", Map.of())).code());
        CheckpointException e = assertThrows(CheckpointException.class, () -> DbTarget.parse("mysql://u:topsecret@h/d", Map.of()));
        assertFalse(e.getMessage().contains("topsecret"));
    }

    @Test
    void tagsMustBeSafePathSegments() {
        assertEquals("pre-deploy-4f3a9c1", Tags.check("pre-deploy-4f3a9c1"));
        for (String bad : new String[] {"", "../x", "a/b", "-x", "a..b", "x".repeat(129)}) {
            assertEquals("usage.tag", assertThrows(CheckpointException.class, () -> Tags.check(bad)).code());
        }
    }
}
