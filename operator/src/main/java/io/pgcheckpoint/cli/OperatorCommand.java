package io.pgcheckpoint.cli;

import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import io.javaoperatorsdk.operator.Operator;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.pgcheckpoint.controller.JobFactory;
import io.pgcheckpoint.controller.OperatorApp;
import io.pgcheckpoint.web.OperatorHttp;
import java.util.Arrays;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.stream.Collectors;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(name = "operator", mixinStandardHelpOptions = true,
        description = "Run the Kubernetes operator: reconcile Databases, Checkpoints and Restores into Jobs.")
final class OperatorCommand implements Callable<Integer> {
    @Option(names = "--port", defaultValue = "8080", description = "Port of /healthz, /readyz and /metrics (default ${DEFAULT-VALUE}).")
    int port;

    @Option(names = "--namespaces", split = ",", defaultValue = "${env:PGCHECKPOINT_WATCH_NAMESPACES}",
            description = "Namespaces to watch, comma-separated (env PGCHECKPOINT_WATCH_NAMESPACES); default all.")
    String[] namespaces;

    @Option(names = "--lease-namespace", defaultValue = "${env:POD_NAMESPACE}",
            description = "Namespace of the leader-election Lease (env POD_NAMESPACE); without it no leader election.")
    String leaseNamespace;

    @Override
    public Integer call() throws Exception {
        Set<String> watched = namespaces == null ? Set.of()
                : Arrays.stream(namespaces).map(String::trim).filter(s -> !s.isEmpty()).collect(Collectors.toSet());
        PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
        KubernetesClient client = new KubernetesClientBuilder().build();
        Operator operator = OperatorApp.create(client, registry, JobFactory.fromEnvironment(), watched,
                leaseNamespace == null || leaseNamespace.isBlank() ? null : leaseNamespace);
        CountDownLatch stopped = new CountDownLatch(1);
        try (OperatorHttp http = new OperatorHttp(port, operator, registry)) {
            Runtime.getRuntime().addShutdownHook(new Thread(() -> {
                operator.stop();
                stopped.countDown();
            }, "operator-stop"));
            operator.start();
            System.err.println("pgcheckpoint operator started; watching " + (watched.isEmpty() ? "all namespaces" : watched)
                    + "; http on :" + http.port());
            stopped.await();
        }
        return 0;
    }
}
