package io.pgcheckpoint.web;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
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
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Middle tier: the HTTP API against a real kube-apiserver with RBAC, ServiceAccount tokens from
 * the TokenRequest API, TokenReview and SubjectAccessReview. No operator runs: the test plays its
 * part by writing the Checkpoint's status, which is all the API reads.
 */
class CheckpointApiTest {
    static final String NS = "shop";
    static final ObjectMapper JSON = new ObjectMapper();
    static KubeAPIServer server;
    static KubernetesClient admin;
    static ApiHttp api;
    static HttpClient http = HttpClient.newHttpClient();
    static String deployer;
    static String reader;
    static String stranger;
    static final AtomicBoolean operating = new AtomicBoolean(true);
    static CompletableFuture<Void> fakeOperator;

    @BeforeAll
    static void start() throws Exception {
        server = ApiServer.start();
        admin = ApiServer.client(server);
        ApiServer.applyCrds(admin);
        admin.namespaces().resource(new NamespaceBuilder().withNewMetadata().withName(NS).endMetadata().build()).create();
        database("prod-api");
        deployer = token("deployer", List.of("create", "get"), List.of());
        reader = token("reader", List.of("get", "list"), List.of("list"));
        stranger = token("stranger", List.of(), List.of());
        api = new ApiHttp(0, CheckpointApi.create(admin, Duration.ofSeconds(20)), null, null);
        fakeOperator = CompletableFuture.runAsync(CheckpointApiTest::operate);
    }

    @AfterAll
    static void stop() throws Exception {
        operating.set(false);
        fakeOperator.get();
        api.close();
        admin.close();
        server.stop();
    }

    static void database(String name) {
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
    static String token(String name, List<String> checkpointVerbs, List<String> databaseVerbs) {
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
    static void operate() {
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

    record Answer(int status, JsonNode body) {
    }

    static Answer call(String method, String path, String token, String body) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + api.port() + path))
                .timeout(Duration.ofSeconds(60))
                .method(method, body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(body));
        if (token != null) {
            b.header("Authorization", "Bearer " + token);
        }
        if (body != null) {
            b.header("Content-Type", "application/json");
        }
        HttpResponse<String> r = http.send(b.build(), HttpResponse.BodyHandlers.ofString());
        return new Answer(r.statusCode(), JSON.readTree(r.body()));
    }

    static Answer post(String token, String body) throws Exception {
        return call("POST", "/api/v1/namespaces/" + NS + "/checkpoints", token, body);
    }

    @Test
    void aPostAnswersWhenTheCheckpointIsProven() throws Exception {
        Answer a = post(deployer, "{\"database\":\"prod-api\",\"tag\":\"pre-deploy-4f3a9c1\",\"commit\":\"4f3a9c1\",\"reason\":\"deploy\"}");
        assertEquals(200, a.status(), a.body().toString());
        assertTrue(a.body().get("ok").asBoolean());
        assertEquals("pre-deploy-4f3a9c1", a.body().get("tag").asText());
        assertEquals("proven", a.body().get("restore_drill").asText());
        assertEquals("432.3 MB", a.body().get("size").asText());
        assertEquals(432_345_678L, a.body().get("bytes").asLong());
        assertEquals(12, a.body().get("tables").asInt());
        assertEquals(4200, a.body().get("rows").asLong());
        assertEquals("2026-11-26T10:00:00Z", a.body().get("sealed_at").asText());
        assertEquals("2026-11-26T10:00:30Z", a.body().get("proven_at").asText());
        Checkpoint c = admin.resources(Checkpoint.class).inNamespace(NS).withName("pre-deploy-4f3a9c1").get();
        assertEquals("prod-api", c.getSpec().database);
        assertEquals("4f3a9c1", c.getSpec().commit);
        assertEquals("system:serviceaccount:shop:deployer", c.getMetadata().getAnnotations().get("pgcheckpoint.io/requested-by"));

        // the same request again waits on the same checkpoint: idempotent, never a second one
        Answer again = post(deployer, "{\"database\":\"prod-api\",\"tag\":\"pre-deploy-4f3a9c1\",\"commit\":\"4f3a9c1\"}");
        assertEquals(200, again.status(), again.body().toString());
        assertEquals(1, admin.resources(Checkpoint.class).inNamespace(NS).list().getItems().stream()
                .filter(x -> x.getSpec().tag.equals("pre-deploy-4f3a9c1")).count());
        // but the tag of another database is a conflict
        database("billing");
        Answer other = post(deployer, "{\"database\":\"billing\",\"tag\":\"pre-deploy-4f3a9c1\"}");
        assertEquals(409, other.status(), other.body().toString());
    }

    @Test
    void aFailedCheckpointIsNotA2xx() throws Exception {
        Answer a = post(deployer, "{\"database\":\"prod-api\",\"tag\":\"fail-1\"}");
        assertEquals(422, a.status(), a.body().toString());
        assertFalse(a.body().get("ok").asBoolean());
        assertEquals("Failed", a.body().get("phase").asText());
        assertEquals("ConnectionAuth", a.body().get("failure_reason").asText());
        assertTrue(a.body().get("message").asText().contains("check the password"), a.body().toString());
    }

    @Test
    void aCheckpointStillRunningWhenTheWaitEndsIs504AndGoesOn() throws Exception {
        Answer a = call("POST", "/api/v1/namespaces/" + NS + "/checkpoints?wait=1s", deployer,
                "{\"database\":\"prod-api\",\"tag\":\"slow-1\"}");
        assertEquals(504, a.status(), a.body().toString());
        assertFalse(a.body().get("ok").asBoolean());
        assertTrue(a.body().get("message").asText().contains("POST the same body again"), a.body().toString());
        assertTrue(admin.resources(Checkpoint.class).inNamespace(NS).withName("slow-1").get() != null);
        // wait=0: created, answered at once
        Answer quick = call("POST", "/api/v1/namespaces/" + NS + "/checkpoints?wait=0", deployer,
                "{\"database\":\"prod-api\",\"tag\":\"slow-2\"}");
        assertEquals(201, quick.status(), quick.body().toString());
        assertEquals(400, call("POST", "/api/v1/namespaces/" + NS + "/checkpoints?wait=soon", deployer,
                "{\"database\":\"prod-api\",\"tag\":\"slow-3\"}").status());
    }

    @Test
    void everyRefusalHasItsStatusAndSaysWhatToDo() throws Exception {
        String body = "{\"database\":\"prod-api\",\"tag\":\"t-1\"}";
        Answer none = post(null, body);
        assertEquals(401, none.status());
        assertEquals("auth.missing", none.body().get("error").asText());
        Answer bogus = post("not-a-token", body);
        assertEquals(401, bogus.status());
        assertEquals("auth.invalid", bogus.body().get("error").asText());
        Answer forbidden = post(stranger, body);
        assertEquals(403, forbidden.status());
        assertTrue(forbidden.body().get("message").asText().contains("system:serviceaccount:shop:stranger may not create checkpoints.pgcheckpoint.io in namespace shop"),
                forbidden.body().toString());
        assertEquals(403, post(reader, body).status(), "reading is not creating");
        assertEquals(404, post(deployer, "{\"database\":\"nope\",\"tag\":\"t-1\"}").status());
        for (String bad : List.of("{\"tag\":\"t-1\"}", "{\"database\":\"prod-api\"}", "{\"database\":\"prod-api\",\"tag\":\"../x\"}",
                "{\"database\":\"prod-api\",\"tag\":\"t-1\",\"drillImage\":\"evil\"}", "not json", "[]")) {
            Answer a = post(deployer, bad);
            assertEquals(400, a.status(), bad + " -> " + a.body());
            assertEquals("request.invalid", a.body().get("error").asText());
        }
        assertTrue(post(deployer, "{\"database\":\"prod-api\",\"tag\":\"t-1\",\"drillImage\":\"evil\"}").body().get("message").asText()
                .contains("unknown field 'drillImage'"));
        assertEquals(404, call("GET", "/api/v1/nothing", deployer, null).status());
        assertEquals(405, call("DELETE", "/api/v1/namespaces/" + NS + "/checkpoints/x", deployer, null).status());
        // nothing was created by any refused request
        assertNull(admin.resources(Checkpoint.class).inNamespace(NS).withName("t-1").get());
    }

    @Test
    void readersGetAndListButCannotCreate() throws Exception {
        post(deployer, "{\"database\":\"prod-api\",\"tag\":\"listed-1\"}");
        Answer one = call("GET", "/api/v1/namespaces/" + NS + "/checkpoints/listed-1?wait=5s", reader, null);
        assertEquals(200, one.status(), one.body().toString());
        assertEquals("Proven", one.body().get("phase").asText());
        Answer list = call("GET", "/api/v1/namespaces/" + NS + "/checkpoints?database=prod-api", reader, null);
        assertEquals(200, list.status());
        assertTrue(list.body().get("items").size() >= 1);
        list.body().get("items").forEach(i -> assertEquals("prod-api", i.get("database").asText()));
        Answer dbs = call("GET", "/api/v1/namespaces/" + NS + "/databases", reader, null);
        assertEquals(200, dbs.status(), dbs.body().toString());
        assertEquals("prod-api", dbs.body().get("items").get(0).get("name").asText());
        assertEquals(403, call("GET", "/api/v1/namespaces/" + NS + "/databases", deployer, null).status(), "deployer may not list databases");
        assertEquals(404, call("GET", "/api/v1/namespaces/" + NS + "/checkpoints/missing", reader, null).status());
    }

    @Test
    void servesHttpsWithTheGivenCertificate(@TempDir Path dir) throws Exception {
        Path cert = dir.resolve("tls.crt");
        Path key = dir.resolve("tls.key");
        Process openssl = new ProcessBuilder("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                "-subj", "/CN=localhost", "-keyout", key.toString(), "-out", cert.toString()).redirectErrorStream(true).start();
        assertEquals(0, openssl.waitFor(), new String(openssl.getInputStream().readAllBytes()));
        try (ApiHttp https = new ApiHttp(0, CheckpointApi.create(admin, Duration.ofSeconds(5)), cert, key)) {
            java.security.KeyStore trust = java.security.KeyStore.getInstance(java.security.KeyStore.getDefaultType());
            trust.load(null, null);
            try (var in = Files.newInputStream(cert)) {
                trust.setCertificateEntry("api", java.security.cert.CertificateFactory.getInstance("X.509").generateCertificate(in));
            }
            javax.net.ssl.TrustManagerFactory tmf = javax.net.ssl.TrustManagerFactory.getInstance(javax.net.ssl.TrustManagerFactory.getDefaultAlgorithm());
            tmf.init(trust);
            javax.net.ssl.SSLContext ctx = javax.net.ssl.SSLContext.getInstance("TLS");
            ctx.init(null, tmf.getTrustManagers(), null);
            HttpResponse<String> r = HttpClient.newBuilder().sslContext(ctx).build().send(
                    HttpRequest.newBuilder(URI.create("https://localhost:" + https.port() + "/api/v1/namespaces/" + NS + "/databases")).build(),
                    HttpResponse.BodyHandlers.ofString());
            assertEquals(401, r.statusCode(), r.body());
        }
    }
}
