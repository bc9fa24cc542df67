package io.pgcheckpoint.controller;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pgcheckpoint.api.CheckpointStatus;
import io.pgcheckpoint.engine.CheckpointException;
import org.junit.jupiter.api.Test;

/** The drill server's image: a template whose {major} becomes the source's major version. */
class DrillImageTest {
    @Test
    void majorIsSubstitutedAndLiteralsAreKept() {
        assertEquals("postgres:17", JobFactory.drillImage(JobFactory.DEFAULT_DRILL_IMAGE, 17));
        assertEquals("registry.example.com/pg/postgres:18-bookworm", JobFactory.drillImage("registry.example.com/pg/postgres:{major}-bookworm", 18));
        assertEquals("postgres:16", JobFactory.drillImage("postgres:16", 15), "a fixed image is used as given; the drill checks its version");
        assertEquals("postgres:16", JobFactory.drillImage("postgres:16", null));
        CheckpointException e = assertThrows(CheckpointException.class, () -> JobFactory.drillImage("postgres:{major}", null));
        assertEquals("drill.image", e.code());
        assertTrue(e.getMessage().contains("postgres:{major}"), e.getMessage());
    }

    @Test
    void theSourcesMajorComesFromTheSealOrItsVersion() {
        CheckpointStatus.Archive a = new CheckpointStatus.Archive();
        assertNull(JobFactory.sourceMajor(null));
        assertNull(JobFactory.sourceMajor(a));
        a.serverVersion = "15.18 (Debian 15.18-0+deb12u1)";
        assertEquals(15, JobFactory.sourceMajor(a));
        a.serverMajor = 17;
        assertEquals(17, JobFactory.sourceMajor(a));
        a.serverMajor = null;
        a.serverVersion = "not a version";
        assertNull(JobFactory.sourceMajor(a));
    }
}
