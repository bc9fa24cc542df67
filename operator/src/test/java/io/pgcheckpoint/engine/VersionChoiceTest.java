package io.pgcheckpoint.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Which tools and which drill server each job takes, and what each refusal says, on machines with
 * different PostgreSQL majors installed side by side. The installations are links to the real 15, 17
 * and 18 binaries of this machine ({@link PgMajors}), so the versions read are real ones.
 */
class VersionChoiceTest {
    @TempDir
    Path dir;

    @org.junit.jupiter.api.AfterEach
    void unlink() {
        PgMajors.unlinkAll(dir);
    }

    private static int major(PgTools t, String tool) {
        return PgTools.major(t.version(tool));
    }

    @Test
    void pgDumpOfTheServersMajorElseTheLowestNewer() {
        PgTools all = PgMajors.installedOnly(dir, 15, 17, 18);
        assertEquals(List.of(15, 17, 18), all.installs().stream().map(PgTools.Install::major).toList());
        assertEquals(15, major(all.forDump(15, "15.18"), "pg_dump"));
        assertEquals(17, major(all.forDump(16, "16.4"), "pg_dump"), "no 16: the lowest newer");
        assertEquals(17, major(all.forDump(17, "17.6"), "pg_dump"));
        assertEquals(18, major(all.forDump(18, "18.1"), "pg_dump"));
        assertEquals(15, major(all.forDump(13, "13.22"), "pg_dump"), "13 is dumped by the lowest newer pg_dump");
        assertEquals(18, major(PgMajors.installedOnly(dir, 18).forDump(15, "15.18"), "pg_dump"));
    }

    @Test
    void aServerNewerThanEveryPgDumpIsRefusedNamingWhatWasFoundAndWhatToInstall() {
        CheckpointException e = assertThrows(CheckpointException.class,
                () -> PgMajors.installedOnly(dir, 15, 17).forDump(18, "18.1 (Debian 18.1-1)"));
        assertEquals("tools.version-mismatch", e.code());
        String m = e.getMessage();
        assertTrue(m.contains("to dump PostgreSQL 18.1 (Debian 18.1-1) (major 18)"), m);
        assertTrue(m.contains("found pg_dump 15 (") && m.contains("pg_dump 17 ("), m);
        assertTrue(m.contains("install postgresql-client-18 or newer"), m);
        assertTrue(m.contains("the pgcheckpoint image (pg_dump 18)"), m);

        // one explicit directory (PGCHECKPOINT_PG_BIN): its version is read from the tool itself
        CheckpointException one = assertThrows(CheckpointException.class, () -> PgMajors.only(15).forDump(17, "17.6"));
        assertTrue(one.getMessage().contains("found pg_dump 15 (" + PgMajors.bin(15) + ")"), one.getMessage());

        // nothing under the roots: the PATH's pg_dump (Debian's wrapper runs the newest client, 15 here)
        CheckpointException path = assertThrows(CheckpointException.class,
                () -> PgTools.scan(List.of(dir.resolve("nothing-here"))).forDump(19, "19.0"));
        assertTrue(path.getMessage().contains("found pg_dump 15 (on the PATH)"), path.getMessage());
    }

    @Test
    void pgRestoreAtLeastAsNewAsThePgDumpThatWroteTheArchive() {
        PgTools all = PgMajors.installedOnly(dir, 15, 17, 18);
        assertEquals(15, major(all.forArchive(15, "pg_dump (PostgreSQL) 15.18"), "pg_restore"));
        assertEquals(17, major(all.forArchive(17, "pg_dump (PostgreSQL) 17.6"), "pg_restore"));
        assertEquals(18, major(PgMajors.installedOnly(dir, 15, 18).forArchive(17, "pg_dump (PostgreSQL) 17.6"), "psql"));
        CheckpointException e = assertThrows(CheckpointException.class,
                () -> PgMajors.installedOnly(dir, 15).forArchive(18, "pg_dump (PostgreSQL) 18.6 (Debian 18.6-3)"));
        assertEquals("tools.version-mismatch", e.code());
        assertTrue(e.getMessage().contains("the archive was written by pg_dump 18.6 and only pg_restore 18 or newer can read it"),
                e.getMessage());
        assertTrue(e.getMessage().contains("found pg_restore 15 (") && e.getMessage().contains("install postgresql-client-18"),
                e.getMessage());
    }

    @Test
    void drillServerOfTheSourcesMajorElseTheLowestNewerSayingSo() {
        PgTools all = PgMajors.installedOnly(dir, 15, 17, 18);
        List<String> said = new ArrayList<>();
        assertEquals(17, major(all.forDrillServer(17, "17.6", said::add), "postgres"));
        assertEquals(15, major(all.forDrillServer(15, "15.18", said::add), "postgres"));
        assertTrue(said.isEmpty(), said.toString());

        assertEquals(18, major(PgMajors.installedOnly(dir, 15, 18).forDrillServer(17, "17.6", said::add), "postgres"));
        assertEquals(1, said.size());
        assertTrue(said.get(0).contains("no PostgreSQL 17 server binaries here") && said.get(0).contains("drilling on PostgreSQL 18")
                && said.get(0).contains("install postgresql-17"), said.get(0));
    }

    @Test
    void noDrillServerRecentEnoughIsRefusedNamingThePackage() throws Exception {
        CheckpointException e = assertThrows(CheckpointException.class,
                () -> PgMajors.installedOnly(dir, 15).forDrillServer(17, "17.6 (Debian 17.6-1)", Progress.SILENT));
        assertEquals("drill.version", e.code());
        String m = e.getMessage();
        assertTrue(m.contains("the checkpoint comes from PostgreSQL 17.6 (Debian 17.6-1)"), m);
        assertTrue(m.contains("found only PostgreSQL 15 ("), m);
        assertTrue(m.contains("install postgresql-17"), m);
        assertTrue(m.contains("--target"), m);

        // a client-only installation (postgresql-client-17 without postgresql-17) is no drill server
        Path root = Files.createDirectories(dir.resolve("client-only"));
        Path bin17 = Files.createDirectories(root.resolve("17/bin"));
        for (String tool : List.of("pg_dump", "pg_restore", "psql")) {
            Files.createSymbolicLink(bin17.resolve(tool), PgMajors.bin(17).resolve(tool));
        }
        Files.createSymbolicLink(root.resolve("15"), PgMajors.bin(15).getParent());
        PgTools clientOnly17 = PgTools.scan(List.of(root));
        assertEquals(17, major(clientOnly17.forDump(17, "17.6"), "pg_dump"));
        CheckpointException noServer = assertThrows(CheckpointException.class,
                () -> clientOnly17.forDrillServer(17, "17.6", Progress.SILENT));
        assertTrue(noServer.getMessage().contains("found only PostgreSQL 15") && noServer.getMessage().contains("postgresql-17"),
                noServer.getMessage());
    }

    @Test
    void scanReadsDebianAndPgdgRpmLayoutsAndIgnoresTheRest() throws Exception {
        Path usr = Files.createDirectories(dir.resolve("usr"));
        Files.createSymbolicLink(usr.resolve("pgsql-17"), PgMajors.bin(17).getParent());
        Files.createDirectories(usr.resolve("lib/bin"));
        Path debian = Files.createDirectories(dir.resolve("debian"));
        Files.createSymbolicLink(debian.resolve("18"), PgMajors.bin(18).getParent());
        Files.createDirectories(debian.resolve("16/bin")); // an empty leftover of a removed package
        Files.createDirectories(debian.resolve("common/bin"));
        PgTools t = PgTools.scan(List.of(debian, usr));
        assertEquals(List.of(17, 18), t.installs().stream().map(PgTools.Install::major).toList());
        assertEquals(PgMajors.bin(18).getParent().resolve("bin").getFileName(), t.binDir().getFileName());
        assertEquals(18, major(t, "pg_dump"), "by default the newest");
        assertNull(PgTools.scan(List.of(dir.resolve("missing"))).binDir(), "nothing found: the PATH");
    }

    @Test
    void manifestsFromBeforeTheMajorWasRecordedReadItFromTheVersion() {
        assertEquals(15, PgTools.serverMajor("15.18 (Debian 15.18-0+deb12u1)"));
        assertEquals(9, PgTools.serverMajor("9.6.24"));
        assertEquals(18, PgTools.serverMajor("18beta1"));
        assertEquals("pg_dump 17.6", PgTools.shortVersion("pg_dump (PostgreSQL) 17.6 (Debian 17.6-1.pgdg120+1)"));
        Manifest old = new Manifest(1, "t", null, null, "db", null, null, "16.4 (Ubuntu 16.4-1)", null,
                "pg_dump (PostgreSQL) 16.4", null, null, null, null);
        assertEquals(16, old.sourceMajor());
        assertEquals(16, old.pgDumpMajor());
    }
}
