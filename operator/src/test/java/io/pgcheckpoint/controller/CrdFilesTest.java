package io.pgcheckpoint.controller;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** The CRD YAML checked in (crds/ and the chart's copy) is exactly what the build generates from the Java classes. */
class CrdFilesTest {
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
