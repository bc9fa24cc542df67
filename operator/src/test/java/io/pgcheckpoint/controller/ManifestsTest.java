package io.pgcheckpoint.controller;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import io.fabric8.kubeapitest.KubeAPIServer;
import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.NamespaceBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.fabric8.kubernetes.client.dsl.FieldValidateable;
import io.fabric8.kubernetes.client.utils.Serialization;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Every manifest the project ships, validated by a real API server with strict field validation
 * (an unknown field is an error, not silently pruned): each YAML file under examples/ and what
 * `helm template` renders from both charts.
 */
class ManifestsTest {
    /** API groups no API server here serves (Argo CD's CRDs); their objects are named, not validated. */
    static final Set<String> FOREIGN_GROUPS = Set.of("argoproj.io");
    /** Files that are not Kubernetes manifests at all. */
    static final Set<String> NOT_MANIFESTS = Set.of("examples/github-actions/action.yml", "examples/github-actions/checkpoint.yml",
            "examples/github-actions/api/action.yml",
            "examples/argocd/resource_customizations/pgcheckpoint.io/Checkpoint/health_test.yaml");
    /** An application chart: its templates are not YAML until helm renders them (theChartsRenderOnlyValidObjects). */
    static final String HELM_APP = "examples/helm-app/";
    static KubeAPIServer server;
    static KubernetesClient client;

    @BeforeAll
    static void startApiServer() throws Exception {
        server = ApiServer.start();
        client = ApiServer.client(server);
        ApiServer.applyCrds(client);
    }

    @AfterAll
    static void stopApiServer() {
        client.close();
        server.stop();
    }

    @Test
    void everyExampleIsValidStrictly() throws IOException {
        List<String> problems = new ArrayList<>();
        List<String> checked = new ArrayList<>();
        List<Path> files;
        try (Stream<Path> walk = Files.walk(ChartRbac.REPO.resolve("examples"))) {
            files = walk.filter(p -> p.toString().endsWith(".yaml") || p.toString().endsWith(".yml")).sorted().toList();
        }
        assertTrue(files.size() >= 8, "examples found: " + files);
        for (Path file : files) {
            String relative = ChartRbac.REPO.relativize(file).toString();
            if (relative.startsWith(HELM_APP)) {
                continue;
            }
            List<JsonNode> docs = new ArrayList<>();
            try (var parser = new YAMLFactory().createParser(file.toFile())) {
                new ObjectMapper().readValues(parser, JsonNode.class).forEachRemaining(docs::add);
            }
            for (JsonNode doc : docs) {
                if (doc == null || doc.isNull() || doc.isMissingNode()) {
                    continue;
                }
                if (!doc.has("apiVersion") || !doc.has("kind")) {
                    if (!NOT_MANIFESTS.contains(relative)) {
                        problems.add(relative + ": neither a Kubernetes object nor a known non-manifest");
                    }
                    continue;
                }
                String where = relative + " " + doc.get("kind").asText();
                validate(doc, "examples", where, problems);
                checked.add(where);
            }
        }
        assertEquals(List.of(), problems);
        assertTrue(checked.stream().anyMatch(c -> c.startsWith("examples/argocd/app/checkpoint.yaml")), checked.toString());
    }

    @Test
    void theChartsRenderOnlyValidObjects() throws Exception {
        List<String> problems = new ArrayList<>();
        Process dependency = new ProcessBuilder(ChartRbac.helm(), "dependency", "update", "--skip-refresh",
                ChartRbac.REPO.resolve(HELM_APP).toString()).redirectErrorStream(true).start();
        String dependencyOut = new String(dependency.getInputStream().readAllBytes());
        assertEquals(0, dependency.waitFor(), "helm dependency update " + HELM_APP + ":\n" + dependencyOut);
        List<List<HasMetadata>> renders = List.of(
                ChartRbac.render(client, "pgcheckpoint", "validate", "pgcheckpoint-system"),
                ChartRbac.render(client, "pgcheckpoint", "validate-ns", "pgcheckpoint-system", "--set", "watchNamespaces={team-a,team-b}"),
                ChartRbac.render(client, "pgcheckpoint-hook", "api", "shop", "--set", "database=prod-api", "--set-string", "commit=4f3a9c1"),
                ChartRbac.render(client, "../" + HELM_APP, "shop-api", "shop", "--is-upgrade", "--set-string", "global.commit=4f3a9c1"));
        int checked = 0;
        for (List<HasMetadata> render : renders) {
            for (HasMetadata item : render) {
                JsonNode doc = Serialization.jsonMapper().valueToTree(item);
                validate(doc, item.getMetadata().getNamespace(), "chart " + item.getKind() + "/" + item.getMetadata().getName(), problems);
                checked++;
            }
        }
        assertEquals(List.of(), problems);
        assertTrue(checked >= 15, "rendered objects: " + checked);
    }

    private static void validate(JsonNode doc, String defaultNamespace, String where, List<String> problems) {
        String apiVersion = doc.get("apiVersion").asText();
        String group = apiVersion.contains("/") ? apiVersion.substring(0, apiVersion.indexOf('/')) : "";
        if (FOREIGN_GROUPS.contains(group)) {
            return;
        }
        GenericKubernetesResource resource = Serialization.jsonMapper().convertValue(doc, GenericKubernetesResource.class);
        String ns = resource.getMetadata().getNamespace() != null ? resource.getMetadata().getNamespace() : defaultNamespace;
        try {
            boolean namespaced = client.getApiResources(apiVersion).getResources().stream()
                    .filter(r -> r.getKind().equals(resource.getKind()) && !r.getName().contains("/")).findFirst()
                    .orElseThrow(() -> new IllegalStateException("the API server does not serve " + apiVersion + " " + resource.getKind()))
                    .getNamespaced();
            if (namespaced) {
                if (client.namespaces().withName(ns).get() == null) {
                    client.namespaces().resource(new NamespaceBuilder().withNewMetadata().withName(ns).endMetadata().build()).create();
                }
                resource.getMetadata().setNamespace(ns);
            }
            client.resource(resource).dryRun().fieldValidation(FieldValidateable.Validation.STRICT).create();
        } catch (KubernetesClientException | IllegalStateException e) {
            String message = e instanceof KubernetesClientException k && k.getStatus() != null ? k.getStatus().getMessage() : e.getMessage();
            problems.add(where + ": " + message);
        }
    }
}
