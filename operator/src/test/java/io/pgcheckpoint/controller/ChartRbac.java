package io.pgcheckpoint.controller;

import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.NamespaceBuilder;
import io.fabric8.kubernetes.client.Config;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * The operator's RBAC exactly as `helm template helm/pgcheckpoint` renders it, applied to the
 * middle tier's API server (which authorizes with RBAC), and a client that acts as the chart's
 * ServiceAccount. The operator under test gets nothing the chart does not grant: a Secret read,
 * a missing verb or a new resource fails the tests.
 */
final class ChartRbac {
    static final String RELEASE = "pgck";
    static final String NAMESPACE = "pgcheckpoint-system";
    static final String SERVICE_ACCOUNT = "pgck-pgcheckpoint";
    static final Path REPO = Path.of("..").toAbsolutePath().normalize();

    private ChartRbac() {
    }

    /** Renders a chart from helm/ with `helm template`; extra arguments such as --set. */
    static List<HasMetadata> render(KubernetesClient client, String chart, String release, String namespace, String... args) {
        List<String> command = new ArrayList<>(List.of(helm(), "template", release, REPO.resolve("helm").resolve(chart).toString(),
                "--namespace", namespace));
        command.addAll(List.of(args));
        try {
            Process p = new ProcessBuilder(command).redirectError(ProcessBuilder.Redirect.INHERIT).start();
            byte[] out = p.getInputStream().readAllBytes();
            if (!p.waitFor(60, TimeUnit.SECONDS) || p.exitValue() != 0) {
                throw new IllegalStateException(String.join(" ", command) + " failed");
            }
            return client.load(new ByteArrayInputStream(out)).items();
        } catch (IOException e) {
            throw new IllegalStateException("cannot run helm: " + e.getMessage(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    /** Applies the chart's RBAC objects (all namespaces mode) and returns a client acting as its ServiceAccount. */
    static KubernetesClient operatorClient(KubernetesClient admin, String kubeconfigYaml) {
        if (admin.namespaces().withName(NAMESPACE).get() == null) {
            admin.namespaces().resource(new NamespaceBuilder().withNewMetadata().withName(NAMESPACE).endMetadata().build()).create();
        }
        Set<String> rbacKinds = Set.of("ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding");
        for (HasMetadata item : render(admin, "pgcheckpoint", RELEASE, NAMESPACE)) {
            if (rbacKinds.contains(item.getKind())) {
                admin.resource(item).forceConflicts().serverSideApply();
            }
        }
        Config config = Config.fromKubeconfig(kubeconfigYaml);
        config.setImpersonateUsername("system:serviceaccount:" + NAMESPACE + ":" + SERVICE_ACCOUNT);
        config.setImpersonateGroups("system:serviceaccounts", "system:serviceaccounts:" + NAMESPACE, "system:authenticated");
        return new KubernetesClientBuilder().withConfig(config).build();
    }

    /** helm from PATH (source testbed/env), else the testbed's cache. */
    static String helm() {
        for (String dir : System.getenv().getOrDefault("PATH", "").split(":")) {
            if (!dir.isEmpty() && Files.isExecutable(Path.of(dir, "helm"))) {
                return Path.of(dir, "helm").toString();
            }
        }
        Path cache = Path.of(System.getenv().getOrDefault("PGCK_TESTBED_CACHE", "/var/cache/pgcheckpoint-testbed"));
        try (Stream<Path> dirs = Files.list(cache)) {
            return dirs.filter(d -> d.getFileName().toString().startsWith("helm-")).map(d -> d.resolve("bin/helm"))
                    .filter(Files::isExecutable).map(Path::toString).sorted().reduce((a, b) -> b)
                    .orElseThrow(() -> new IllegalStateException("no helm on PATH nor in " + cache + ": source testbed/env"));
        } catch (IOException e) {
            throw new IllegalStateException("no helm on PATH nor in " + cache + ": source testbed/env", e);
        }
    }
}
