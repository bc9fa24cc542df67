package io.pgcheckpoint.controller;

import io.fabric8.kubeapitest.KubeAPIServer;
import io.fabric8.kubernetes.api.model.NamespaceBuilder;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.fabric8.kubernetes.api.model.SecretBuilder;
import io.fabric8.kubernetes.api.model.ServiceAccountBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.pgcheckpoint.api.Checkpoint;
import io.pgcheckpoint.api.CheckpointSpec;
import io.pgcheckpoint.api.CheckpointStatus.Phase;
import io.pgcheckpoint.api.Database;
import io.pgcheckpoint.api.DatabaseSpec;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * Benchmark, not a test (excluded from `make test`; run with bench/operator): the operator jar
 * as its own process against a real kube-apiserver with 1,000 Checkpoints. Measures the
 * reaction time from a dump Job's status turning Complete to the Checkpoint's status patched,
 * and the operator's peak RSS.
 */
@Tag("benchmark")
class OperatorBenchmark {
    static final int CHECKPOINTS = Integer.getInteger("checkpoints", 1000);
    static final int SAMPLES = Integer.getInteger("samples", 200);
    static final String JAVA_OPTS = "-Xmx128m -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -Xss512k -XX:MaxMetaspaceSize=96m";

    @Test
    void reactionTimeAndMemoryWithAThousandCheckpoints() throws Exception {
        String jar = System.getProperty("pgcheckpoint.jar", "target/pgcheckpoint.jar");
        KubeAPIServer server = ApiServer.start();
        Process operator = null;
        try (KubernetesClient client = ApiServer.client(server)) {
            ApiServer.applyCrds(client);
            String ns = "bench";
            client.namespaces().resource(new NamespaceBuilder().withNewMetadata().withName(ns).endMetadata().build()).create();
            client.serviceAccounts().inNamespace(ns).resource(new ServiceAccountBuilder().withNewMetadata().withName("default").endMetadata().build()).create();
            client.secrets().inNamespace(ns).resource(new SecretBuilder().withNewMetadata().withName("conn").endMetadata()
                    .withStringData(Map.of("uri", "postgresql://app@db/app")).build()).create();
            Database db = new Database();
            db.setMetadata(new ObjectMetaBuilder().withName("prod").withNamespace(ns).build());
            db.setSpec(new DatabaseSpec());
            db.getSpec().connection = new DatabaseSpec.Connection();
            db.getSpec().connection.secretName = "conn";
            db.getSpec().connection.key = "uri";
            db.getSpec().store = new DatabaseSpec.StoreSpec();
            db.getSpec().store.bucket = "checkpoints";
            client.resource(db).create();

            Path kubeconfig = Files.createTempFile("bench-kubeconfig", ".yaml");
            Files.writeString(kubeconfig, server.getKubeConfigYaml());
            List<String> command = new ArrayList<>(List.of("java"));
            // the chart's default javaOpts
            command.addAll(List.of(System.getProperty("operator.javaOpts", JAVA_OPTS).split(" ")));
            command.addAll(List.of("-jar", jar, "operator", "--port", "0"));
            ProcessBuilder pb = new ProcessBuilder(command)
                    .redirectErrorStream(true).redirectOutput(Path.of("target/bench-operator.log").toFile());
            pb.environment().put("KUBECONFIG", kubeconfig.toString());
            pb.environment().put("MALLOC_ARENA_MAX", "2");
            operator = pb.start();

            long createStart = System.nanoTime();
            for (int i = 0; i < CHECKPOINTS; i++) {
                Checkpoint c = new Checkpoint();
                c.setMetadata(new ObjectMetaBuilder().withName("c" + i).withNamespace(ns).build());
                c.setSpec(new CheckpointSpec());
                c.getSpec().database = "prod";
                client.resource(c).create();
            }
            var checkpoints = client.resources(Checkpoint.class).inNamespace(ns);
            long deadline = System.currentTimeMillis() + 600_000;
            while (checkpoints.list().getItems().stream().filter(c -> c.getStatus() != null && c.getStatus().phase == Phase.Dumping).count() < CHECKPOINTS) {
                if (System.currentTimeMillis() > deadline) {
                    throw new AssertionError("not all checkpoints reached Dumping");
                }
                Thread.sleep(500);
            }
            double toDumping = (System.nanoTime() - createStart) / 1e9;

            List<Double> reactions = new ArrayList<>();
            for (int i = 0; i < SAMPLES; i++) {
                String name = "c" + i;
                JobSimulator.finish(client, ns, checkpoints.withName(name).get().getStatus().dumpJob, true, JobSimulator.sealedResult(name));
                long t0 = System.nanoTime();
                checkpoints.withName(name).waitUntilCondition(c -> c.getStatus().phase != Phase.Dumping, 60, TimeUnit.SECONDS);
                reactions.add((System.nanoTime() - t0) / 1e6);
            }
            Collections.sort(reactions);
            long rssKb = peakRssKb(operator.pid());
            System.out.printf("%n=== operator benchmark: %d Checkpoints, %d reactions ===%n", CHECKPOINTS, SAMPLES);
            System.out.printf("  all %d checkpoints created and Dumping after %.1f s%n", CHECKPOINTS, toDumping);
            System.out.printf("  reaction (dump Job Complete -> status patched): p50 %.0f ms, p99 %.0f ms, max %.0f ms (target p99 <= 2000 ms)%n",
                    reactions.get(reactions.size() / 2), reactions.get((int) Math.ceil(reactions.size() * 0.99) - 1),
                    reactions.get(reactions.size() - 1));
            System.out.printf("  operator peak RSS %d MB (target <= 256 MB), %s%n", rssKb / 1024, System.getProperty("operator.javaOpts", JAVA_OPTS));
        } finally {
            if (operator != null) {
                operator.destroy();
                operator.waitFor(10, TimeUnit.SECONDS);
            }
            server.stop();
        }
    }

    static long peakRssKb(long pid) throws Exception {
        for (String line : Files.readAllLines(Path.of("/proc/" + pid + "/status"))) {
            if (line.startsWith("VmHWM:")) {
                return Long.parseLong(line.replaceAll("\\D", ""));
            }
        }
        return -1;
    }
}
