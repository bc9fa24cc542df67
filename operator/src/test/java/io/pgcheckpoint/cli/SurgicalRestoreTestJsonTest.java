package io.pgcheckpoint.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.pgcheckpoint.engine.Json;
import io.pgcheckpoint.engine.RestoreResult;
import io.pgcheckpoint.engine.Restorer;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** A plan for hundreds of partitions still fits a termination message, and says how much it left out. */
class SurgicalRestoreTestJsonTest {
    @Test
    void bigPlansAreShortenedUnderFourKibibytesKeepingTheVerdict() throws Exception {
        List<Restorer.Action> actions = new ArrayList<>();
        List<String> warnings = new ArrayList<>();
        for (int i = 0; i < 400; i++) {
            actions.add(new Restorer.Action("recreate", "public.measurements_p" + i, "table with 1000 rows; constraints: measurements_p"
                    + i + "_pkey; indexes: measurements_p" + i + "_at_idx; owner app_owner"));
            warnings.add("not restored: view public.v" + i + " depended on what this restore brings back and is gone");
        }
        RestoreResult json = new RestoreResult(true, true, "pre-deploy-1", "replace", null, actions, null, warnings, List.of(),
                null, null, null, null, null, null, null, null);
        String line = Output.fit(json);
        assertTrue(line.length() <= 4096, "length " + line.length());
        JsonNode node = Json.MAPPER.readTree(line);
        assertTrue(node.get("ok").asBoolean() && node.get("plan").asBoolean());
        assertEquals(400 - node.get("actions").size(), node.get("actionsOmitted").asInt());
        assertTrue(node.get("warningsOmitted").asInt() > 0);
    }
}
