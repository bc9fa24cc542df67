package io.pgcheckpoint.controller;

import io.fabric8.kubeapitest.KubeAPIServer;
import io.fabric8.kubernetes.api.model.NamespaceBuilder;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.fabric8.kubernetes.api.model.SecretBuilder;
import io.fabric8.kubernetes.api.model.ServiceAccountBuilder;
import io.fabric8.kubernetes.api.model.batch.v1.Job;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.javaoperatorsdk.operator.Operator;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.pgcheckpoint.api.Checkpoint;
import io.pgcheckpoint.api.Conditions;
import io.pgcheckpoint.api.CheckpointSpec;
import io.pgcheckpoint.api.CheckpointStatus.Phase;
import io.pgcheckpoint.api.Database;
import io.pgcheckpoint.api.DatabaseSpec;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.function.Predicate;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;

/**
 * Middle tier: the reconcilers against a real kube-apiserver and etcd, as the operator chart's
 * ServiceAccount (RBAC as `helm template` renders it), in namespaces that enforce Pod Security
 * "restricted". No kubelet or Job controller runs: {@link JobSimulator} creates the Jobs' pods
 * from their templates (so the API server's admission checks them) and writes their status.
 */
abstract class MiddleTier {
    static KubeAPIServer server;
    /** Cluster admin: the tests' own hand, playing kubelet and Job controller. */
    static KubernetesClient client;
    /** What the operator runs as: the chart's ServiceAccount. */
    static KubernetesClient operatorClient;
    static int counter;
    Operator operator;
    PrometheusMeterRegistry registry;
    String ns;

    @BeforeAll
    static void startApiServer() throws Exception {
        server = ApiServer.start();
        client = ApiServer.client(server);
        ApiServer.applyCrds(client);
        operatorClient = ChartRbac.operatorClient(client, server.getKubeConfigYaml());
    }

    @AfterAll
    static void stopApiServer() {
        operatorClient.close();
        client.close();
        server.stop();
    }

    @BeforeEach
    void namespaceAndOperator() {
        ns = getClass().getSimpleName().toLowerCase().replace("test", "") + "-" + (++counter);
        client.namespaces().resource(new NamespaceBuilder().withNewMetadata().withName(ns)
                .addToLabels("pod-security.kubernetes.io/enforce", "restricted")
                .addToLabels("pod-security.kubernetes.io/enforce-version", "latest").endMetadata().build()).create();
        client.serviceAccounts().inNamespace(ns).resource(new ServiceAccountBuilder().withNewMetadata().withName("default").endMetadata().build()).create();
        startOperator();
    }

    @AfterEach
    void stopOperator() {
        if (operator != null) {
            operator.stop();
        }
    }

    void startOperator() {
        registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
        operator = OperatorApp.create(operatorClient, registry,
                new JobFactory("localhost/pgcheckpoint:test", "localhost/postgres:{major}"), Set.of(ns), null);
        operator.start();
    }

    void secrets(String name) {
        client.secrets().inNamespace(ns).resource(new SecretBuilder().withNewMetadata().withName(name + "-conn").endMetadata()
                .withStringData(Map.of("uri", "postgresql://app:secret@db:5432/app")).build()).create();
        client.secrets().inNamespace(ns).resource(new SecretBuilder().withNewMetadata().withName(name + "-s3").endMetadata()
                .withStringData(Map.of("AWS_ACCESS_KEY_ID", "k", "AWS_SECRET_ACCESS_KEY", "s")).build()).create();
    }

    void database(String name, boolean withSecrets) {
        database(name, withSecrets, spec -> { });
    }

    void database(String name, boolean withSecrets, Consumer<DatabaseSpec> customize) {
        if (withSecrets) {
            secrets(name);
        }
        Database db = new Database();
        db.setMetadata(new ObjectMetaBuilder().withName(name).withNamespace(ns).build());
        DatabaseSpec spec = new DatabaseSpec();
        spec.connection = new DatabaseSpec.Connection();
        spec.connection.secretName = name + "-conn";
        spec.connection.key = "uri";
        spec.store = new DatabaseSpec.StoreSpec();
        spec.store.bucket = "checkpoints";
        spec.store.prefix = "prod";
        spec.store.endpoint = "http://s3.storage:9000";
        spec.store.pathStyle = true;
        spec.store.credentialsSecret = name + "-s3";
        customize.accept(spec);
        db.setSpec(spec);
        client.resource(db).create();
    }

    Checkpoint checkpoint(String name, String tag) {
        return checkpoint(name, tag, "prod");
    }

    Checkpoint checkpoint(String name, String tag, String database) {
        Checkpoint c = new Checkpoint();
        c.setMetadata(new ObjectMetaBuilder().withName(name).withNamespace(ns).build());
        CheckpointSpec spec = new CheckpointSpec();
        spec.database = database;
        spec.tag = tag;
        spec.commit = "4f3a9c1";
        c.setSpec(spec);
        return client.resource(c).create();
    }

    Checkpoint await(String name, Predicate<Checkpoint> condition) {
        return await(name, condition, 30);
    }

    Checkpoint await(String name, Predicate<Checkpoint> condition, int seconds) {
        return client.resources(Checkpoint.class).inNamespace(ns).withName(name)
                .waitUntilCondition(c -> c != null && c.getStatus() != null && condition.test(c), seconds, TimeUnit.SECONDS);
    }

    static Predicate<Checkpoint> phase(Phase phase) {
        return c -> c.getStatus().phase == phase;
    }

    /** The dump Job's name, once the checkpoint has one. */
    String dumpJobOf(String checkpoint) {
        return await(checkpoint, c -> c.getStatus().dumpJob != null).getStatus().dumpJob;
    }

    String drillJobOf(String checkpoint) {
        return await(checkpoint, c -> c.getStatus().drillJob != null).getStatus().drillJob;
    }

    /**
     * The value once it satisfies the condition, within 10 s: Events and metrics of a transition
     * are recorded once its status is stored, so they may follow the status by a moment.
     */
    static <T> T eventually(java.util.function.Supplier<T> value, Predicate<T> condition) {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        T last = value.get();
        while (!condition.test(last) && System.nanoTime() < deadline) {
            try {
                Thread.sleep(100);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            }
            last = value.get();
        }
        return last;
    }

    Job job(String name) {
        return client.batch().v1().jobs().inNamespace(ns).withName(name).get();
    }

    void finish(String jobName, boolean succeeded, String terminationMessage) {
        JobSimulator.finish(client, ns, jobName, succeeded, terminationMessage);
    }
}
