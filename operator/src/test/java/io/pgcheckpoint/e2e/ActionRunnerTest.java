package io.pgcheckpoint.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The runner the end-to-end test drives the GitHub Actions with, and what the API action does
 * before it reaches any server. No cluster: these run in `mvn verify`.
 */
class ActionRunnerTest {
    static final Path REPO = Path.of("..").toAbsolutePath().normalize();
    static final String SHA = "4f3a9c1e8b2d7a60c5f19e3b4d2a1c0f9e8d7b6a";

    @Test
    void inputsReachTheScriptThroughEnvAndOutputsComeBack(@TempDir Path dir) throws Exception {
        Path action = Files.writeString(dir.resolve("action.yml"), """
                name: t
                inputs:
                  who: {required: true}
                  commit: {default: "${{ github.sha }}"}
                outputs:
                  greeting: {value: "${{ steps.a.outputs.greeting }}"}
                  multi: {value: "${{ steps.a.outputs.multi }}"}
                runs:
                  using: composite
                  steps:
                    - id: a
                      shell: bash
                      env: {WHO: "${{ inputs.who }}", COMMIT: "${{ inputs.commit }}"}
                      run: |
                        echo "greeting=hello $WHO at ${COMMIT::7}" >> "$GITHUB_OUTPUT"
                        printf 'multi<<EOF\\none\\ntwo\\nEOF\\n' >> "$GITHUB_OUTPUT"
                        test -z "${KUBECONFIG:-}"
                """);
        ActionRunner.Result r = new ActionRunner(action).run(Map.of("who", "$(touch /tmp/x) 'quoted'"), SHA);
        assertEquals(0, r.exitCode(), r.log());
        assertEquals("hello $(touch /tmp/x) 'quoted' at 4f3a9c1", r.outputs().get("greeting"), "the input stays data");
        assertEquals("one\ntwo", r.outputs().get("multi"));
        assertThrows(IllegalArgumentException.class, () -> new ActionRunner(action).run(Map.of(), SHA), "who is required");
    }

    @Test
    void anExpressionSplicedIntoARunScriptIsRefused(@TempDir Path dir) throws Exception {
        Path action = Files.writeString(dir.resolve("action.yml"), """
                name: t
                inputs: {who: {required: true}}
                runs:
                  using: composite
                  steps:
                    - {id: a, shell: bash, run: "echo ${{ inputs.who }}"}
                """);
        AssertionError e = assertThrows(AssertionError.class, () -> new ActionRunner(action).run(Map.of("who", "x"), SHA));
        assertTrue(e.getMessage().contains("splices an expression"), e.getMessage());
    }

    @Test
    void theApiActionRefusesATimeoutThatIsNoDuration() throws Exception {
        ActionRunner.Result r = new ActionRunner(REPO.resolve("examples/github-actions/api/action.yml")).run(Map.of(
                "api-url", "http://127.0.0.1:1", "token", "t", "namespace", "shop", "database", "prod-api", "timeout", "soon"), SHA);
        assertTrue(r.exitCode() != 0, r.log());
        assertTrue(r.log().contains("timeout 'soon' is not a duration like 30m, 1h30m or 900s"), r.log());
    }

    @Test
    void theApiActionGivesUpAtItsTimeoutWhenTheApiCannotBeReached() throws Exception {
        long started = System.nanoTime();
        ActionRunner.Result r = new ActionRunner(REPO.resolve("examples/github-actions/api/action.yml")).run(Map.of(
                "api-url", "http://127.0.0.1:1", "token", "t", "namespace", "shop", "database", "prod-api", "timeout", "1s"), SHA);
        assertEquals(2, r.exitCode(), r.log());
        assertTrue(r.log().contains("checkpoint pre-deploy-4f3a9c1 not Proven within 1s"), r.log());
        assertEquals("pre-deploy-4f3a9c1", r.outputs().get("tag"));
        assertTrue((System.nanoTime() - started) / 1e9 < 30, "gave up after the deadline, not later");
    }

    @Test
    void neitherExampleActionSplicesAnInput() throws Exception {
        for (String action : new String[] {"examples/github-actions/action.yml", "examples/github-actions/api/action.yml"}) {
            String text = Files.readString(REPO.resolve(action));
            var steps = new com.fasterxml.jackson.databind.ObjectMapper(new com.fasterxml.jackson.dataformat.yaml.YAMLFactory())
                    .readTree(text).path("runs").path("steps");
            assertTrue(steps.size() > 0, action);
            for (var step : steps) {
                assertTrue(!step.path("run").asText().contains("${{"), action + " step " + step.path("id").asText());
            }
        }
    }
}
