package io.pgcheckpoint.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The drill pod's throwaway server listens on a Unix socket only (no TCP, no password: trust on a
 * socket in a directory shared only by the pod's two containers). Here a real server is given
 * that pg_hba.conf line and the drill reaches it through nothing but the socket: JDBC through
 * {@link UnixSocketFactory}, pg_restore through libpq.
 */
class UnixSocketDrillTest {
    @Test
    void parsesASocketDirectoryAsLibpqDoes() {
        DbTarget t = DbTarget.parse("postgresql://postgres@/drill?host=/var/run/postgresql&sslmode=require", Map.of());
        assertTrue(t.isUnixSocket());
        assertEquals("/var/run/postgresql", t.libpqEnv().get("PGHOST"));
        assertEquals("jdbc:postgresql://localhost:5432/drill", t.jdbcUrl());
        assertEquals("disable", t.jdbcProperties(5).getProperty("sslmode"), "no TLS on a Unix socket");
        assertEquals("/var/run/postgresql/.s.PGSQL.5432", t.jdbcProperties(5).getProperty("socketFactoryArg"));
        assertEquals("postgresql://postgres@/drill?host=/var/run/postgresql", t.describe());
        assertEquals("/run/pg", DbTarget.parse("postgresql://u@%2Frun%2Fpg/d", Map.of()).host());
    }

    @Test
    void aDrillRestoresAndCountsThroughTheSocketAlone(@TempDir Path storeDir) throws Exception {
        try (LocalPostgres source = Fixtures.source(null);
             LocalPostgres drillServer = LocalPostgres.start(Fixtures.TOOLS, Progress.SILENT);
             Store store = Stores.open("file:" + storeDir, null)) {
            Fixtures.sql(source.target("app"), "CREATE TABLE orders (id int PRIMARY KEY, note text);"
                    + "INSERT INTO orders SELECT g, 'n' || g FROM generate_series(1, 2500) g;");
            new Sealer(Fixtures.TOOLS, Progress.SILENT).seal(Fixtures.request(source.target("app"), store, "socket-1"));

            Path hba = drillServer.directory().resolve("data/pg_hba.conf");
            Files.writeString(hba, "local all all trust\n" + Files.readString(hba));
            Fixtures.sql(drillServer.target("postgres"), "SELECT pg_reload_conf()");
            Fixtures.sql(drillServer.target("postgres"), "CREATE DATABASE drill");
            DbTarget socket = DbTarget.parse("postgresql://postgres@/drill?host=" + drillServer.directory()
                    + "&port=" + drillServer.port() + "&sslmode=disable", Map.of());
            assertFalse(socket.libpqEnv().containsKey("PGPASSWORD"));

            DrillReport report = new Driller(Fixtures.TOOLS, Progress.SILENT).drill(store, "socket-1", socket, 2);
            assertTrue(report.proven(), () -> "mismatches: " + report.mismatches());
            assertEquals(2500L, report.rowsChecked());
        }
    }

    @Test
    void aSocketNobodyListensOnIsRefusedSoTheDrillWaitsForItsServer(@TempDir Path dir) {
        DbTarget socket = DbTarget.parse("postgresql://postgres@/drill?host=" + dir, Map.of());
        CheckpointException e = org.junit.jupiter.api.Assertions.assertThrows(CheckpointException.class, () -> Db.connect(socket));
        assertEquals("connection.refused", e.code(), e.getMessage());
    }
}
