package io.pgcheckpoint.controller;

import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.api.model.NamespaceBuilder;
import io.fabric8.kubernetes.api.model.apiextensions.v1.CustomResourceDefinition;
import io.fabric8.kubernetes.api.model.apiextensions.v1.JSONSchemaPropsBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.utils.Serialization;
import io.fabric8.kubeapitest.KubeAPIServer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * The operator process ends when JOSDK stops it. An informer that cannot read a resource it is
 * told about (here a Database written against a newer CRD, with a field this operator does not
 * know) makes JOSDK call System.exit; the operator's shutdown hook then stops the operator, whose leader election
 * calls System.exit once more, which blocks a shutdown hook for ever. The pod stayed Running and
 * never ready instead of restarting and saying why.
 */
class OperatorExitTest {
    @Test
    void anInformerThatCannotReadADatabaseEndsTheProcessInsteadOfHangingIt() throws Exception {
        KubeAPIServer server = ApiServer.start();
        Process operator = null;
        try (KubernetesClient client = ApiServer.client(server)) {
            ApiServer.applyCrds(client);
            // a newer CRD: spec.dump gains a field this build does not know
            CustomResourceDefinition crd = client.apiextensions().v1().customResourceDefinitions()
                    .withName("databases.pgcheckpoint.io").get();
            crd.getMetadata().setManagedFields(null);
            crd.getSpec().getVersions().get(0).getSchema().getOpenAPIV3Schema().getProperties().get("spec").getProperties()
                    .get("dump").getProperties().put("fromTheFuture", new JSONSchemaPropsBuilder().withType("integer").build());
            client.resource(crd).update();
            client.namespaces().resource(new NamespaceBuilder().withNewMetadata().withName("shop").endMetadata().build()).create();
            GenericKubernetesResource future = Serialization.unmarshal("""
                    apiVersion: pgcheckpoint.io/v1alpha1
                    kind: Database
                    metadata: {name: prod, namespace: shop}
                    spec:
                      connection: {secretName: conn, key: uri}
                      store: {bucket: checkpoints, credentialsSecret: s3}
                      dump: {fromTheFuture: 3}
                    """, GenericKubernetesResource.class);
            // until the API server serves the new schema it prunes the field: wait for it to keep it
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            while (!client.resource(future).dryRun().create().toString().contains("fromTheFuture")) {
                assertTrue(System.nanoTime() < deadline, "the API server never served the newer CRD");
                Thread.sleep(200);
            }
            Path kubeconfig = Files.createTempFile("operator-exit", ".yaml");
            Files.writeString(kubeconfig, server.getKubeConfigYaml());
            Path log = Files.createTempFile("operator-exit", ".log");
            ProcessBuilder pb = new ProcessBuilder(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                    "-cp", System.getProperty("java.class.path"), "io.pgcheckpoint.cli.Main", "operator", "--port", "0",
                    "--api-port", "0", "--lease-namespace", "shop"))
                    .redirectErrorStream(true).redirectOutput(log.toFile());
            pb.environment().put("KUBECONFIG", kubeconfig.toString());
            operator = pb.start();
            long started = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
            while (!Files.readString(log).contains("pgcheckpoint operator started")) {
                assertTrue(operator.isAlive() && System.nanoTime() < started, "the operator did not start:\n" + Files.readString(log));
                Thread.sleep(200);
            }
            client.resource(future).create();
            boolean ended = operator.waitFor(90, TimeUnit.SECONDS);
            String output = Files.readString(log);
            assertTrue(ended, "the operator process still runs 90 s after it stopped:\n" + tail(output));
            assertNotEquals(0, operator.exitValue(), "a stop on an error exits non-zero, so the pod restarts");
            assertTrue(output.contains("fromTheFuture"), "the log names the field it could not read:\n" + tail(output));
        } finally {
            if (operator != null) {
                operator.destroyForcibly();
            }
            server.stop();
        }
    }

    private static String tail(String s) {
        return s.length() > 4000 ? s.substring(s.length() - 4000) : s;
    }
}
