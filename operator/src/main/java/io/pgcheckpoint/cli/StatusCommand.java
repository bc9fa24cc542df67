package io.pgcheckpoint.cli;

import io.fabric8.kubernetes.client.KubernetesClient;
import io.pgcheckpoint.api.Checkpoint;
import io.pgcheckpoint.engine.CheckpointException;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;

@Command(name = "status", mixinStandardHelpOptions = true, description = "One Checkpoint's phase and result, read from the cluster.")
final class StatusCommand extends ClusterCommand implements Callable<Integer> {
    @Parameters(paramLabel = "NAME", description = "The Checkpoint's name.")
    String name;

    @Override
    public Integer call() {
        try (KubernetesClient client = client()) {
            String ns = namespace(client);
            Checkpoint c = client.resources(Checkpoint.class).inNamespace(ns).withName(name).get();
            if (c == null) {
                throw new CheckpointException("cluster.not-found", "no Checkpoint " + ns + "/" + name);
            }
            Map<String, Object> s = summary(c);
            output.result(s, () -> s.forEach((k, v) -> {
                if (v != null) {
                    System.out.printf("%-10s %s%n", k, v);
                }
            }));
            return 0;
        }
    }
}
