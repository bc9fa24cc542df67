package io.pgcheckpoint.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.pgcheckpoint.engine.Json;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** A termination message is cut by the kubelet at 4096 bytes: the JSON line must fit in bytes, not characters. */
class OutputLimitTest {
    static String printed(Runnable r) {
        PrintStream out = System.out;
        PrintStream err = System.err;
        ByteArrayOutputStream o = new ByteArrayOutputStream();
        try {
            System.setOut(new PrintStream(o, true, StandardCharsets.UTF_8));
            System.setErr(new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8));
            r.run();
            return o.toString(StandardCharsets.UTF_8).strip();
        } finally {
            System.setOut(out);
            System.setErr(err);
        }
    }

    static Output json() {
        Output o = new Output();
        o.format = Output.Format.json;
        return o;
    }

    @Test
    void errorsFitIn4KiBWhateverTheCharacters() throws Exception {
        // a localized server message (3 bytes a character in UTF-8), quotes and control characters that JSON escapes
        for (String message : List.of("リレーション\"orders\"は既に存在します ".repeat(200), "\"\\".repeat(3000),
                "\u0001".repeat(3000), "\uD83D\uDE00".repeat(3000))) {
            String line = printed(() -> json().error("drill.restore", message));
            assertTrue(line.getBytes(StandardCharsets.UTF_8).length <= Output.JSON_LIMIT,
                    line.getBytes(StandardCharsets.UTF_8).length + " bytes");
            JsonNode node = Json.MAPPER.readTree(line);
            assertEquals("drill.restore", node.get("error").asText());
            String shown = node.get("message").asText();
            assertTrue(shown.length() > 300 && message.startsWith(shown.substring(0, shown.length() - 1)), shown);
        }
    }

    @Test
    void resultsFitIn4KiBInBytes() throws Exception {
        Map<String, Object> result = new LinkedHashMap<>();
        result.put("ok", false);
        result.put("tag", "t");
        result.put("mismatches", List.of("公開.注文".repeat(400) + ": expected 1 rows, found 2"));
        String line = printed(() -> json().result(result, () -> { }));
        assertTrue(line.getBytes(StandardCharsets.UTF_8).length <= Output.JSON_LIMIT, line.getBytes(StandardCharsets.UTF_8).length + " bytes");
        assertEquals("t", Json.MAPPER.readTree(line).get("tag").asText());
    }

    @Test
    void aDrillWithManyLongMismatchesStillFitsAndReadsBackAsADrillResult() throws Exception {
        List<String> mismatches = java.util.stream.IntStream.range(0, 10)
                .mapToObj(i -> "公開.注文_" + i + "_" + "x".repeat(600) + ": expected 1 rows, found 2").toList();
        io.pgcheckpoint.engine.DrillResult r = new io.pgcheckpoint.engine.DrillResult(false, "t", "failed", 40, 10, 10, mismatches,
                "15.8", "pg_restore (PostgreSQL) 18.1", 0, List.of("restored through psql"), 1.0, io.pgcheckpoint.engine.DrillResult.MISMATCH, "not proven", null);
        String line = printed(() -> json().result(r, () -> { }));
        assertTrue(line.getBytes(StandardCharsets.UTF_8).length <= Output.JSON_LIMIT, line.getBytes(StandardCharsets.UTF_8).length + " bytes");
        io.pgcheckpoint.engine.DrillResult back = Json.MAPPER.readValue(line, io.pgcheckpoint.engine.DrillResult.class);
        assertEquals(10, back.mismatchCount());
        assertEquals(Boolean.TRUE, back.truncated());
        assertEquals(io.pgcheckpoint.engine.DrillResult.MISMATCH, back.error());
    }
}
