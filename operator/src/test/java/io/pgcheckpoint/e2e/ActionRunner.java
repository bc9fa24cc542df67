package io.pgcheckpoint.e2e;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Runs a composite GitHub Action's steps the way a Linux runner does, for the steps this project's
 * actions use: each {@code run:} with {@code shell: bash} as {@code bash --noprofile --norc -eo
 * pipefail FILE}, in a clean environment (PATH and HOME only, no kubeconfig), with the step's
 * {@code env:} after resolving {@code ${{ inputs.x }}}, {@code ${{ github.sha }}} and
 * {@code ${{ steps.id.outputs.x }}}, and {@code GITHUB_OUTPUT}, {@code GITHUB_ENV},
 * {@code RUNNER_TEMP}, {@code GITHUB_ACTION_PATH}. A {@code run:} text with an expression in it is
 * refused: inputs must reach scripts through the environment, never be spliced into their text.
 */
final class ActionRunner {
    private static final Pattern EXPRESSION = Pattern.compile("\\$\\{\\{\\s*([A-Za-z0-9_.-]+)\\s*}}");

    record Result(int exitCode, String log, Map<String, String> outputs) {
    }

    private final Path actionFile;
    private final JsonNode action;

    ActionRunner(Path actionFile) throws IOException {
        this.actionFile = actionFile;
        this.action = new ObjectMapper(new YAMLFactory()).readTree(actionFile.toFile());
        if (!"composite".equals(action.path("runs").path("using").asText())) {
            throw new IllegalArgumentException(actionFile + " is not a composite action");
        }
    }

    Result run(Map<String, String> given, String sha) throws Exception {
        Map<String, Map<String, String>> contexts = new LinkedHashMap<>();
        contexts.put("github", Map.of("sha", sha));
        Map<String, String> inputs = new LinkedHashMap<>();
        action.path("inputs").fields().forEachRemaining(e -> {
            String name = e.getKey();
            if (given.containsKey(name)) {
                inputs.put(name, given.get(name));
            } else if (e.getValue().path("required").asBoolean(false)) {
                throw new IllegalArgumentException("input '" + name + "' is required by " + actionFile);
            } else {
                inputs.put(name, resolve(e.getValue().path("default").asText(""), contexts));
            }
        });
        for (String name : given.keySet()) {
            if (!inputs.containsKey(name)) {
                throw new IllegalArgumentException(actionFile + " has no input '" + name + "'");
            }
        }
        contexts.put("inputs", inputs);

        Path temp = Files.createTempDirectory("runner-temp");
        StringBuilder log = new StringBuilder();
        int exit = 0;
        for (JsonNode step : action.path("runs").path("steps")) {
            String id = step.path("id").asText("step" + contexts.size());
            String script = step.path("run").asText(null);
            if (script == null || !"bash".equals(step.path("shell").asText())) {
                throw new IllegalArgumentException("step " + id + ": only run: steps with shell: bash are supported");
            }
            if (script.contains("${{")) {
                throw new AssertionError("step " + id + " splices an expression into its script text; pass it through env:");
            }
            Path file = Files.writeString(temp.resolve(id + ".sh"), script);
            Path output = Files.createFile(temp.resolve(id + ".output"));
            ProcessBuilder pb = new ProcessBuilder("bash", "--noprofile", "--norc", "-eo", "pipefail", file.toString())
                    .redirectErrorStream(true).directory(temp.toFile());
            Map<String, String> env = pb.environment();
            env.clear();
            env.put("PATH", "/usr/local/bin:/usr/bin:/bin");
            env.put("HOME", temp.toString());
            env.put("CI", "true");
            env.put("RUNNER_OS", "Linux");
            env.put("RUNNER_TEMP", temp.toString());
            env.put("GITHUB_SHA", sha);
            env.put("GITHUB_OUTPUT", output.toString());
            env.put("GITHUB_ENV", temp.resolve(id + ".env").toString());
            env.put("GITHUB_ACTION_PATH", actionFile.getParent().toString());
            step.path("env").fields().forEachRemaining(e -> env.put(e.getKey(), resolve(e.getValue().asText(), contexts)));
            Process p = pb.start();
            log.append(new String(p.getInputStream().readAllBytes()));
            if (!p.waitFor(15, TimeUnit.MINUTES)) {
                p.destroyForcibly();
                throw new AssertionError("step " + id + " did not end within 15 minutes:\n" + log);
            }
            contexts.put("steps." + id + ".outputs", outputs(output));
            exit = p.exitValue();
            if (exit != 0) {
                break;
            }
        }
        Map<String, String> outputs = new LinkedHashMap<>();
        action.path("outputs").fields().forEachRemaining(e -> outputs.put(e.getKey(), resolve(e.getValue().path("value").asText(""), contexts)));
        return new Result(exit, log.toString(), outputs);
    }

    /** name=value lines and name<<DELIMITER blocks, as the runner reads GITHUB_OUTPUT. */
    static Map<String, String> outputs(Path file) throws IOException {
        Map<String, String> out = new LinkedHashMap<>();
        List<String> lines = Files.readAllLines(file);
        for (int i = 0; i < lines.size(); i++) {
            String line = lines.get(i);
            int heredoc = line.indexOf("<<");
            int eq = line.indexOf('=');
            if (heredoc > 0 && (eq < 0 || heredoc < eq)) {
                String delimiter = line.substring(heredoc + 2);
                StringBuilder value = new StringBuilder();
                while (++i < lines.size() && !lines.get(i).equals(delimiter)) {
                    value.append(value.length() == 0 ? "" : "\n").append(lines.get(i));
                }
                out.put(line.substring(0, heredoc), value.toString());
            } else if (eq > 0) {
                out.put(line.substring(0, eq), line.substring(eq + 1));
            }
        }
        return out;
    }

    private static String resolve(String text, Map<String, Map<String, String>> contexts) {
        Matcher m = EXPRESSION.matcher(text);
        StringBuilder sb = new StringBuilder();
        while (m.find()) {
            String path = m.group(1);
            int dot = path.lastIndexOf('.');
            Map<String, String> context = dot < 0 ? null : contexts.get(path.substring(0, dot));
            if (context == null) {
                throw new IllegalArgumentException("unsupported expression ${{ " + path + " }}");
            }
            m.appendReplacement(sb, Matcher.quoteReplacement(context.getOrDefault(path.substring(dot + 1), "")));
        }
        m.appendTail(sb);
        return sb.toString();
    }
}
