package io.pgcheckpoint.controller;

import io.fabric8.kubernetes.client.KubernetesClient;
import io.javaoperatorsdk.operator.Operator;
import io.javaoperatorsdk.operator.api.config.ControllerConfigurationOverrider;
import io.javaoperatorsdk.operator.api.config.LeaderElectionConfiguration;
import io.javaoperatorsdk.operator.monitoring.micrometer.MicrometerMetrics;
import io.micrometer.core.instrument.MeterRegistry;
import java.util.Set;
import java.util.function.Consumer;

/** Wires the three reconcilers into one Java Operator SDK operator. */
public final class OperatorApp {
    public static final String LEASE_NAME = "pgcheckpoint-operator";

    private OperatorApp() {
    }

    /**
     * @param namespaces namespaces to watch; empty for all
     * @param leaseNamespace namespace of the leader-election Lease, or null to run without leader election
     */
    public static Operator create(KubernetesClient client, MeterRegistry registry, JobFactory jobs,
                                  Set<String> namespaces, String leaseNamespace) {
        Operator operator = new Operator(o -> {
            o.withKubernetesClient(client).withMetrics(MicrometerMetrics.withoutPerResourceMetrics(registry))
                    .withStopOnInformerErrorDuringStartup(false)
                    .withCloseClientOnStop(false); // the caller owns the client
            if (leaseNamespace != null) {
                o.withLeaderElectionConfiguration(new LeaderElectionConfiguration(LEASE_NAME, leaseNamespace));
            }
        });
        OperatorMetrics metrics = new OperatorMetrics(registry);
        operator.register(new DatabaseReconciler(jobs, metrics), watch(namespaces));
        operator.register(new CheckpointReconciler(jobs, metrics), watch(namespaces));
        operator.register(new RestoreReconciler(jobs), watch(namespaces));
        return operator;
    }

    private static <R extends io.fabric8.kubernetes.api.model.HasMetadata> Consumer<ControllerConfigurationOverrider<R>> watch(Set<String> namespaces) {
        return o -> {
            if (namespaces.isEmpty()) {
                o.watchingAllNamespaces();
            } else {
                o.settingNamespaces(namespaces);
            }
        };
    }
}
