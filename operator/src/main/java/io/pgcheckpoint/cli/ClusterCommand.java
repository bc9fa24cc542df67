package io.pgcheckpoint.cli;

import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import io.pgcheckpoint.api.Checkpoint;
import io.pgcheckpoint.api.CheckpointStatus;
import java.util.LinkedHashMap;
import java.util.Map;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** Commands that talk to the cluster through the current kubeconfig. */
abstract class ClusterCommand {
    @Mixin
    Output output = new Output();

    @Option(names = {"-n", "--namespace"}, description = "Namespace (default: the kubeconfig context's).")
    String namespace;

    KubernetesClient client() {
        return new KubernetesClientBuilder().build();
    }

    String namespace(KubernetesClient client) {
        if (namespace != null) {
            return namespace;
        }
        String ns = client.getNamespace();
        return ns == null ? "default" : ns;
    }

    static Map<String, Object> summary(Checkpoint c) {
        Map<String, Object> m = new LinkedHashMap<>();
        CheckpointStatus s = c.getStatus();
        m.put("name", c.getMetadata().getName());
        m.put("tag", c.tag());
        m.put("database", c.getSpec().database);
        m.put("phase", s == null || s.phase == null ? "Pending" : s.phase.name());
        if (s != null) {
            m.put("message", s.message);
            if (s.archive != null) {
                m.put("archive", s.archive.uri);
                m.put("size", s.archive.size);
                m.put("sha256", s.archive.sha256);
            }
            if (s.ledger != null) {
                m.put("tables", s.ledger.tables);
                m.put("rows", s.ledger.totalRows);
            }
            if (s.drill != null) {
                m.put("restoreDrill", s.phase == CheckpointStatus.Phase.Proven ? "proven" : "failed");
                m.put("mismatches", s.drill.mismatches);
            }
        }
        return m;
    }
}
