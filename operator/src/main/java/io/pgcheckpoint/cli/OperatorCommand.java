package io.pgcheckpoint.cli;

import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import io.javaoperatorsdk.operator.Operator;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.pgcheckpoint.controller.JobFactory;
import io.pgcheckpoint.controller.OperatorApp;
import io.pgcheckpoint.engine.DaemonThreads;
import io.pgcheckpoint.web.ApiHttp;
import io.pgcheckpoint.web.CheckpointApi;
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

    @Option(names = "--api-port", defaultValue = "8081",
            description = "Port of the HTTP API (/api/v1/...); 0 turns it off (default ${DEFAULT-VALUE}).")
    int apiPort;

    @Option(names = "--api-tls-cert", paramLabel = "FILE", description = "PEM certificate: serve the API over HTTPS (with --api-tls-key).")
    java.nio.file.Path apiTlsCert;

    @Option(names = "--api-tls-key", paramLabel = "FILE", description = "PEM private key of --api-tls-cert.")
    java.nio.file.Path apiTlsKey;

    @Option(names = "--api-max-wait", defaultValue = "30m",
            description = "Longest a POST waits for its checkpoint before answering 504 (the checkpoint goes on; POST again to keep waiting). Default ${DEFAULT-VALUE}.")
    String apiMaxWait;

    /** How long a stopping operator may take to let go of its informers and lease before the JVM ends anyway. */
    static final long STOP_GRACE_MILLIS = 10_000;

    @Override
    public Integer call() throws Exception {
        Set<String> watched = namespaces == null ? Set.of()
                : Arrays.stream(namespaces).map(String::trim).filter(s -> !s.isEmpty()).collect(Collectors.toSet());
        PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
        KubernetesClient client = new KubernetesClientBuilder().build();
        Operator operator = OperatorApp.create(client, registry, JobFactory.fromEnvironment(), watched,
                leaseNamespace == null || leaseNamespace.isBlank() ? null : leaseNamespace);
        CountDownLatch stopped = new CountDownLatch(1);
        ApiHttp api = apiPort == 0 ? null
                : new ApiHttp(apiPort, CheckpointApi.create(client, CreateCommand.parseDuration(apiMaxWait)), apiTlsCert, apiTlsKey);
        try (OperatorHttp http = new OperatorHttp(port, operator, registry); ApiHttp closeApi = api) {
            Runtime.getRuntime().addShutdownHook(new Thread(() -> {
                // JOSDK itself calls System.exit when an informer stops or leadership is lost, and
                // stopping the operator from this hook can call it once more, which blocks a hook
                // for ever: the pod stayed Running, never ready. Stop on a daemon thread, bounded.
                Thread stop = DaemonThreads.named("operator-stop-worker").newThread(operator::stop);
                stop.start();
                try {
                    stop.join(STOP_GRACE_MILLIS);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
                stopped.countDown();
            }, "operator-stop"));
            operator.start();
            System.err.println("pgcheckpoint operator started; watching " + (watched.isEmpty() ? "all namespaces" : watched)
                    + "; http on :" + http.port() + (api == null ? "" : "; API on :" + api.port() + (apiTlsCert == null ? " (http)" : " (https)")));
            stopped.await();
        }
        return 0;
    }
}
