package io.pgcheckpoint.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.pgcheckpoint.engine.Json;
import io.pgcheckpoint.engine.Restorer;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
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
        Map<String, Object> json = new LinkedHashMap<>();
        json.put("ok", true);
        json.put("plan", true);
        json.put("tag", "pre-deploy-1");
        json.put("mode", "replace");
        json.put("actions", actions);
        json.put("warnings", warnings);
        json.put("blockers", List.of());
        String line = Output.fit(RestoreCommand.fit(json));
        assertTrue(line.length() <= 4096, "length " + line.length());
        JsonNode node = Json.MAPPER.readTree(line);
        assertTrue(node.get("ok").asBoolean() && node.get("plan").asBoolean());
        assertEquals(400 - node.get("actions").size(), node.get("actionsOmitted").asInt());
        assertTrue(node.get("warningsOmitted").asInt() > 0);
    }
}
