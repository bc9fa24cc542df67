package io.pgcheckpoint.web;

import io.fabric8.kubeapitest.KubeAPIServer;
import io.fabric8.kubernetes.api.model.ConditionBuilder;
import io.fabric8.kubernetes.api.model.NamespaceBuilder;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.fabric8.kubernetes.api.model.ServiceAccountBuilder;
import io.fabric8.kubernetes.api.model.authentication.TokenRequestBuilder;
import io.fabric8.kubernetes.api.model.rbac.PolicyRuleBuilder;
import io.fabric8.kubernetes.api.model.rbac.RoleBindingBuilder;
import io.fabric8.kubernetes.api.model.rbac.RoleBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.pgcheckpoint.api.Checkpoint;
import io.pgcheckpoint.api.CheckpointStatus;
import io.pgcheckpoint.api.CheckpointStatus.Phase;
import io.pgcheckpoint.api.Database;
import io.pgcheckpoint.api.DatabaseSpec;
import io.pgcheckpoint.controller.ApiServer;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * For the API and dashboard tests: a real kube-apiserver with RBAC, a namespace with a Database,
 * ServiceAccounts with tokens from the TokenRequest API (a deployer that may create checkpoints,
 * a reader that may only look, a stranger that may do nothing), the API on a free port, and a
 * stand-in for the operator that writes the status the real one would: a new checkpoint is
 * Proven a moment later, Failed when its tag starts with "fail-", never finishes with "slow-".
 */
final class ApiCluster implements AutoCloseable {
    static final String NS = "shop";
    final KubeAPIServer server;
    final KubernetesClient admin;
    final ApiHttp api;
    final String deployer;
    final String reader;
    final String stranger;
    private final AtomicBoolean operating = new AtomicBoolean(true);
    private final CompletableFuture<Void> fakeOperator;

    private ApiCluster() throws Exception {
        server = ApiServer.start();
        admin = ApiServer.client(server);
        ApiServer.applyCrds(admin);
        admin.namespaces().resource(new NamespaceBuilder().withNewMetadata().withName(NS).endMetadata().build()).create();
        database("prod-api");
        deployer = token("deployer", List.of("create", "get", "list"), List.of("get", "list"));
        reader = token("reader", List.of("get", "list"), List.of("list"));
        stranger = token("stranger", List.of(), List.of());
        api = new ApiHttp(0, CheckpointApi.create(admin, Duration.ofSeconds(20)), null, null);
        fakeOperator = CompletableFuture.runAsync(this::operate);
    }

    static ApiCluster start() throws Exception {
        return new ApiCluster();
    }

    @Override
    public void close() throws Exception {
        operating.set(false);
        fakeOperator.get();
        api.close();
        admin.close();
        server.stop();
    }

    void database(String name) {
        Database db = new Database();
        db.setMetadata(new ObjectMetaBuilder().withName(name).withNamespace(NS).build());
        DatabaseSpec spec = new DatabaseSpec();
        spec.connection = new DatabaseSpec.Connection();
        spec.connection.secretName = name + "-conn";
        spec.connection.key = "uri";
        spec.store = new DatabaseSpec.StoreSpec();
        spec.store.bucket = "checkpoints";
        db.setSpec(spec);
        admin.resource(db).create();
    }

    /** A ServiceAccount bound to a Role with these verbs on checkpoints and databases, and a token for it. */
    String token(String name, List<String> checkpointVerbs, List<String> databaseVerbs) {
        admin.serviceAccounts().inNamespace(NS).resource(new ServiceAccountBuilder().withNewMetadata().withName(name).endMetadata().build()).create();
        if (!checkpointVerbs.isEmpty()) {
            admin.rbac().roles().inNamespace(NS).resource(new RoleBuilder().withNewMetadata().withName(name).endMetadata()
                    .addToRules(new PolicyRuleBuilder().withApiGroups("pgcheckpoint.io").withResources("checkpoints").withVerbs(checkpointVerbs).build())
                    .addToRules(new PolicyRuleBuilder().withApiGroups("pgcheckpoint.io").withResources("databases")
                            .withVerbs(databaseVerbs.isEmpty() ? List.of("get") : databaseVerbs).build())
                    .build()).create();
            admin.rbac().roleBindings().inNamespace(NS).resource(new RoleBindingBuilder().withNewMetadata().withName(name).endMetadata()
                    .withNewRoleRef("rbac.authorization.k8s.io", "Role", name)
                    .addNewSubject().withKind("ServiceAccount").withName(name).withNamespace(NS).endSubject().build()).create();
        }
        return admin.serviceAccounts().inNamespace(NS).withName(name)
                .tokenRequest(new TokenRequestBuilder().withNewSpec().withExpirationSeconds(3600L).endSpec().build())
                .getStatus().getToken();
    }

    /** Plays the operator: a new checkpoint is Proven a moment later, or Failed when its tag says so; "slow-" ones never finish. */
    private void operate() {
        while (operating.get()) {
            for (Checkpoint c : admin.resources(Checkpoint.class).inNamespace(NS).list().getItems()) {
                if (c.getStatus() != null || c.getSpec().tag.startsWith("slow-")) {
                    continue;
                }
                boolean fail = c.getSpec().tag.startsWith("fail-");
                CheckpointStatus s = new CheckpointStatus();
                s.phase = fail ? Phase.Failed : Phase.Proven;
                s.tag = c.getSpec().tag;
                s.sealedAt = "2026-11-26T10:00:00Z";
                s.finishedAt = "2026-11-26T10:00:30Z";
                s.retainUntil = "2026-12-26T10:00:00Z";
                s.lockMode = "COMPLIANCE";
                s.message = fail ? "the dump failed: authentication failed for user 'app': check the password in Secret prod-api-conn"
                        : "restored into a throwaway PostgreSQL and 12 tables, 4200 rows matched the ledger";
                s.archive = new CheckpointStatus.Archive();
                s.archive.bytes = 432_345_678L;
                s.ledger = new CheckpointStatus.LedgerSummary();
                s.ledger.tables = 12;
                s.ledger.totalRows = 4200L;
                s.conditions.add(new ConditionBuilder().withType("Ready").withStatus(fail ? "False" : "True")
                        .withReason(fail ? "ConnectionAuth" : "Proven").withLastTransitionTime("2026-11-26T10:00:30Z").build());
                if (!fail) {
                    s.drill = new CheckpointStatus.Drill();
                }
                c.setStatus(s);
                try {
                    Thread.sleep(300);
                    admin.resource(c).updateStatus();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    return;
                }
            }
            try {
                Thread.sleep(100);
            } catch (InterruptedException e) {
                return;
            }
        }
    }
}
