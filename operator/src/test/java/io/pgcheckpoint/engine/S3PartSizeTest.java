package io.pgcheckpoint.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** A staged file's parts: 16 MiB, or as large as 10,000 parts of a file above 156 GiB need. */
class S3PartSizeTest {
    private static final long MIB = 1 << 20;

    @Test
    void partsStayAt16MiBUpTo10000OfThemThenGrowByWholeMiB() {
        assertEquals(16 * MIB, S3Store.partSizeFor(0));
        assertEquals(16 * MIB, S3Store.partSizeFor(10_000 * 16 * MIB), "exactly 10,000 parts of 16 MiB");
        assertEquals(17 * MIB, S3Store.partSizeFor(10_000 * 16 * MIB + 1));
        for (long size : new long[] {200L << 30, 1L << 40, 7L << 40, 48_828L << 30}) {
            long part = S3Store.partSizeFor(size);
            assertEquals(0, part % MIB, "whole MiB");
            assertTrue((size + part - 1) / part <= S3Store.MAX_PARTS, size + " in parts of " + part);
            assertTrue(part <= S3Store.MAX_PART_SIZE);
        }
    }

    @Test
    void aFileBeyond10000PartsOf5GiBIsRefusedWithWhatToDo() {
        CheckpointException e = assertThrows(CheckpointException.class, () -> S3Store.partSizeFor(S3Store.MAX_PART_SIZE * S3Store.MAX_PARTS + 1));
        assertEquals("store.write", e.code());
        assertTrue(e.getMessage().contains("--jobs"), e.getMessage());
    }
}
