package io.pgcheckpoint.controller;

import io.fabric8.kubeapitest.KubeAPIServer;
import io.fabric8.kubeapitest.KubeAPIServerConfigBuilder;
import io.fabric8.kubernetes.client.Config;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;

/**
 * A real kube-apiserver and etcd for the middle test tier, from the binaries testbed/build
 * compiled (nothing is downloaded). No kubelet or controllers run here: tests play the Job
 * controller's part by writing Job and Pod status themselves.
 */
public final class ApiServer {
    static final String DEFAULT_DIR = "/var/cache/pgcheckpoint-testbed/kubeapitest";

    private ApiServer() {
    }

    public static KubeAPIServer start() throws IOException {
        String dir = System.getenv().getOrDefault("KUBE_API_TEST_DIR", DEFAULT_DIR);
        Path k8s = Path.of(dir, "k8s");
        String version;
        try (Stream<Path> versions = Files.list(k8s)) {
            version = versions.map(p -> p.getFileName().toString()).filter(n -> n.endsWith("-linux-amd64"))
                    .map(n -> n.substring(0, n.length() - "-linux-amd64".length())).sorted().reduce((a, b) -> b)
                    .orElseThrow();
        } catch (IOException | RuntimeException e) {
            throw new IllegalStateException("no kube-apiserver/etcd binaries under " + k8s
                    + ": run testbed/build (make test does) or set KUBE_API_TEST_DIR", e);
        }
        KubeAPIServer server = new KubeAPIServer(KubeAPIServerConfigBuilder.anAPIServerConfig()
                .withTestDir(dir).withApiServerVersion(version).withOfflineMode(true).withUpdateKubeConfig(false)
                .withStartupTimeout(120_000).build());
        server.start();
        return server;
    }

    public static KubernetesClient client(KubeAPIServer server) {
        return new KubernetesClientBuilder().withConfig(Config.fromKubeconfig(server.getKubeConfigYaml())).build();
    }

    /** The CRDs exactly as the build generated them. */
    public static void applyCrds(KubernetesClient client) throws IOException {
        for (String name : List.of("databases", "checkpoints", "restores")) {
            try (InputStream in = ApiServer.class.getResourceAsStream("/META-INF/fabric8/" + name + ".pgcheckpoint.io-v1.yml")) {
                client.load(in).serverSideApply();
            }
        }
    }
}
