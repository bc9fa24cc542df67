package io.pgcheckpoint.controller;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The CRD YAML checked in (crds/ and the chart's copy) is exactly what the build generates from
 * the Java classes, and it explains every field: `kubectl explain checkpoint.spec` teaches the user.
 */
class CrdFilesTest {
    /** Kubernetes' own types inside ours: described (or not) upstream. */
    static final java.util.Set<String> FOREIGN = java.util.Set.of("conditions", "resources", "jobResources");

    @ParameterizedTest
    @ValueSource(strings = {"databases", "checkpoints", "restores"})
    void everySpecAndStatusFieldHasADescription(String plural) throws IOException {
        JsonNode schema;
        try (InputStream in = CrdFilesTest.class.getResourceAsStream("/META-INF/fabric8/" + plural + ".pgcheckpoint.io-v1.yml")) {
            schema = new ObjectMapper(new YAMLFactory()).readTree(in).at("/spec/versions/0/schema/openAPIV3Schema/properties");
        }
        List<String> undescribed = new ArrayList<>();
        for (String part : List.of("spec", "status")) {
            undescribed(schema.get(part), part, undescribed);
        }
        assertEquals(List.of(), undescribed, plural + ": fields without @JsonPropertyDescription");
    }

    private static void undescribed(JsonNode node, String path, List<String> out) {
        JsonNode properties = node.has("items") ? node.get("items").get("properties") : node.get("properties");
        if (properties == null) {
            return;
        }
        properties.fields().forEachRemaining(e -> {
            String at = path + "." + e.getKey();
            if (!e.getValue().hasNonNull("description")) {
                out.add(at);
            }
            if (!FOREIGN.contains(e.getKey())) {
                undescribed(e.getValue(), at, out);
            }
        });
    }

    @ParameterizedTest
    @ValueSource(strings = {"databases", "checkpoints", "restores"})
    void checkedInCrdsMatchTheGeneratedOnes(String plural) throws IOException {
        String file = plural + ".pgcheckpoint.io-v1.yml";
        String generated;
        try (InputStream in = CrdFilesTest.class.getResourceAsStream("/META-INF/fabric8/" + file)) {
            generated = new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
        Path root = Path.of("..").toAbsolutePath().normalize();
        for (Path copy : new Path[] {root.resolve("crds").resolve(file), root.resolve("helm/pgcheckpoint/crds").resolve(file)}) {
            assertEquals(generated, Files.exists(copy) ? Files.readString(copy) : "(missing)",
                    copy + " differs from the generated CRD: run 'make crds' and commit the result");
        }
    }
}
