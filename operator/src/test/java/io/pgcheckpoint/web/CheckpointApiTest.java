package io.pgcheckpoint.web;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

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
    static final String NS = ApiCluster.NS;
    static final ObjectMapper JSON = new ObjectMapper();
    static ApiCluster cluster;
    static KubernetesClient admin;
    static ApiHttp api;
    static HttpClient http = HttpClient.newHttpClient();
    static String deployer;
    static String reader;
    static String stranger;

    @BeforeAll
    static void start() throws Exception {
        cluster = ApiCluster.start();
        admin = cluster.admin;
        api = cluster.api;
        deployer = cluster.deployer;
        reader = cluster.reader;
        stranger = cluster.stranger;
    }

    @AfterAll
    static void stop() throws Exception {
        cluster.close();
    }

    static void database(String name) {
        cluster.database(name);
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
        assertEquals("2026-12-26T10:00:00Z", a.body().get("retain_until").asText(), "the Object Lock's date is part of the answer");
        assertEquals("COMPLIANCE", a.body().get("lock_mode").asText());
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
        assertEquals(403, call("GET", "/api/v1/namespaces/" + NS + "/databases", stranger, null).status(), "a stranger may not list databases");
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
