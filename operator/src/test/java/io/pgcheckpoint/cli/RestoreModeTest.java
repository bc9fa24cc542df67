package io.pgcheckpoint.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.pgcheckpoint.engine.Restorer;
import org.junit.jupiter.api.Test;

/** One restore mode: the engine's, spelled as the command line or a Restore's spec spell it. */
class RestoreModeTest {
    @Test
    void bothSpellingsMeanTheEnginesMode() {
        RestoreCommand.ModeConverter c = new RestoreCommand.ModeConverter();
        assertEquals(Restorer.Mode.SIDE_BY_SIDE, c.convert("side-by-side"));
        assertEquals(Restorer.Mode.SIDE_BY_SIDE, c.convert("SideBySide"));
        assertEquals(Restorer.Mode.REPLACE, c.convert("replace"));
        assertEquals(Restorer.Mode.REPLACE, c.convert("Replace"));
        assertThrows(picocli.CommandLine.TypeConversionException.class, () -> c.convert("overwrite"));
    }
}
