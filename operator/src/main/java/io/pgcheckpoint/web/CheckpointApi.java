package io.pgcheckpoint.web;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.exc.UnrecognizedPropertyException;
import com.sun.net.httpserver.HttpExchange;
import io.fabric8.kubernetes.api.model.Condition;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.fabric8.kubernetes.client.KubernetesClientTimeoutException;
import io.pgcheckpoint.api.Checkpoint;
import io.pgcheckpoint.api.CheckpointSpec;
import io.pgcheckpoint.api.CheckpointStatus;
import io.pgcheckpoint.api.CheckpointStatus.Phase;
import io.pgcheckpoint.api.Database;
import io.pgcheckpoint.engine.CheckpointException;
import io.pgcheckpoint.engine.Sizes;
import io.pgcheckpoint.engine.Tags;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The HTTP API: one POST creates a Checkpoint and answers only when it is Proven (200) or
 * Failed (422), so {@code curl --fail-with-body} fails a deploy unless its checkpoint was
 * restored and counted. Every call is checked with TokenReview and SubjectAccessReview for the
 * verb on checkpoints.pgcheckpoint.io in the namespace, as kubectl would be.
 * <p>
 * Long waits: the server waits at most {@code maxWait} (and a caller may ask for less with
 * {@code ?wait=90s}); when the checkpoint is still running then, the answer is 504 and the
 * checkpoint goes on. POSTing the same database and tag again waits on the same Checkpoint, so a
 * caller cut off by its own or a proxy's timeout just POSTs again: never a second checkpoint.
 */
public final class CheckpointApi {
    private static final Logger LOG = LoggerFactory.getLogger(CheckpointApi.class);
    private static final Pattern COLLECTION = Pattern.compile("/api/v1/namespaces/([a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?)/(checkpoints|databases|access)/?");
    private static final Pattern ITEM = Pattern.compile("/api/v1/namespaces/([a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?)/checkpoints/([a-z0-9][-a-z0-9.]{0,252})");
    private static final int MAX_BODY = 64 * 1024;
    private static final ObjectMapper JSON = new ObjectMapper()
            .enable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
            .setSerializationInclusion(JsonInclude.Include.NON_NULL);

    private final KubernetesClient client;
    private final Access access;
    private final Duration maxWait;

    /** The body of a POST. */
    public record CreateRequest(String database, String tag, String commit, String reason) {
    }

    /** A checkpoint as the API shows it; {@code ok} is true only when Proven. */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public record CheckpointView(boolean ok, String name, String namespace, String database, String tag, String commit,
                                 String reason, String phase, String size, Long bytes,
                                 @JsonProperty("restore_drill") String restoreDrill, Integer tables, Long rows,
                                 @JsonProperty("sealed_at") String sealedAt, @JsonProperty("proven_at") String provenAt,
                                 @JsonProperty("failure_reason") String failureReason, String message,
                                 /** Object Lock on the checkpoint's objects: no one can delete them before this instant. */
                                 @JsonProperty("retain_until") String retainUntil, @JsonProperty("lock_mode") String lockMode) {
    }

    public record DatabaseView(String name, boolean ready, String store, String message) {
    }

    public record ErrorView(boolean ok, String error, String message) {
    }

    /** What the caller may do in a namespace: the page shows or disables its buttons from it. */
    public record AccessView(String user, boolean create, boolean list, String reason) {
    }

    public record Items<T>(List<T> items) {
    }

    public CheckpointApi(KubernetesClient client, Access access, Duration maxWait) {
        this.client = client;
        this.access = access;
        this.maxWait = maxWait;
    }

    public static CheckpointApi create(KubernetesClient client, Duration maxWait) {
        return new CheckpointApi(client, new Access(client, Duration.ofSeconds(30), java.time.Clock.systemUTC()), maxWait);
    }

    public void handle(HttpExchange ex) throws IOException {
        try {
            String path = ex.getRequestURI().getRawPath();
            Map<String, String> query = query(ex.getRequestURI().getRawQuery());
            Matcher item = ITEM.matcher(path);
            Matcher collection = COLLECTION.matcher(path);
            if (item.matches()) {
                only(ex, "GET");
                reply(ex, getOne(ex, item.group(1), item.group(3), query));
            } else if (collection.matches() && collection.group(3).equals("access")) {
                only(ex, "GET");
                reply(ex, new Reply(200, accessOf(ex, collection.group(1))));
            } else if (collection.matches() && collection.group(3).equals("databases")) {
                only(ex, "GET");
                reply(ex, new Reply(200, databases(ex, collection.group(1))));
            } else if (collection.matches()) {
                if (ex.getRequestMethod().equals("POST")) {
                    reply(ex, create(ex, collection.group(1), query));
                } else {
                    only(ex, "GET");
                    reply(ex, new Reply(200, list(ex, collection.group(1), query.get("database"))));
                }
            } else {
                throw new ApiError(404, "api.not-found", "no such endpoint: use /api/v1/namespaces/{namespace}/checkpoints"
                        + "[/{name}] or /api/v1/namespaces/{namespace}/databases");
            }
        } catch (ApiError e) {
            if (e.status >= 500) {
                LOG.warn("{} {}: {}", ex.getRequestMethod(), ex.getRequestURI().getPath(), e.getMessage());
            }
            reply(ex, new Reply(e.status, new ErrorView(false, e.code, e.getMessage())));
        } catch (RuntimeException e) {
            LOG.error("{} {} failed", ex.getRequestMethod(), ex.getRequestURI().getPath(), e);
            reply(ex, new Reply(500, new ErrorView(false, "api.internal", "the request failed inside the operator ("
                    + e.getClass().getSimpleName() + "); its log has the details")));
        } finally {
            ex.close();
        }
    }

    private record Reply(int status, Object body) {
    }

    private Reply create(HttpExchange ex, String ns, Map<String, String> query) throws IOException {
        Access.Caller caller = access.authenticate(ex.getRequestHeaders().getFirst("Authorization"));
        access.authorize(caller, "create", "checkpoints", ns);
        CreateRequest request = readBody(ex);
        Duration wait = waitFrom(query);
        Database database = client.resources(Database.class).inNamespace(ns).withName(request.database()).get();
        if (database == null) {
            throw new ApiError(404, "database.not-found", "no Database '" + request.database() + "' in namespace " + ns
                    + ": create it first (kubectl get pgdb -n " + ns + " lists them)");
        }
        String name = Tags.resourceName(request.tag());
        Checkpoint checkpoint = new Checkpoint();
        checkpoint.setMetadata(new ObjectMetaBuilder().withName(name).withNamespace(ns)
                .addToAnnotations("pgcheckpoint.io/requested-by", caller.user()).build());
        CheckpointSpec spec = new CheckpointSpec();
        spec.database = request.database();
        spec.tag = request.tag();
        spec.commit = request.commit();
        spec.reason = request.reason();
        checkpoint.setSpec(spec);
        boolean created = true;
        try {
            client.resource(checkpoint).create();
            LOG.info("{} created checkpoint {}/{} of database {}", caller.user(), ns, name, request.database());
        } catch (KubernetesClientException e) {
            if (e.getCode() == 409) {
                Checkpoint existing = client.resources(Checkpoint.class).inNamespace(ns).withName(name).get();
                if (existing == null || !Objects.equals(existing.getSpec().database, request.database())
                        || !Objects.equals(existing.tag(), request.tag())) {
                    throw new ApiError(409, "checkpoint.conflict", "checkpoint " + ns + "/" + name + " already exists for "
                            + (existing == null ? "another request" : "database '" + existing.getSpec().database + "', tag '" + existing.tag() + "'")
                            + ": choose another tag");
                }
                created = false; // the same request again: wait on the same checkpoint
            } else if (e.getCode() == 422 || e.getCode() == 400) {
                throw new ApiError(400, "request.invalid", "the Kubernetes API refused the checkpoint: " + apiMessage(e));
            } else if (e.getCode() == 403) {
                throw new ApiError(503, "operator.forbidden", "the operator itself may not create checkpoints in " + ns
                        + ": check the chart's RBAC (watchNamespaces)");
            } else {
                throw new ApiError(503, "cluster.error", "creating the checkpoint failed (" + e.getCode() + "): " + apiMessage(e));
            }
        }
        Checkpoint done = await(ns, name, wait);
        CheckpointView view = view(done);
        if (wait.isZero()) {
            return new Reply(created ? 201 : 200, view);
        }
        return new Reply(statusOf(done), view);
    }

    private Reply getOne(HttpExchange ex, String ns, String name, Map<String, String> query) {
        Access.Caller caller = access.authenticate(ex.getRequestHeaders().getFirst("Authorization"));
        access.authorize(caller, "get", "checkpoints", ns);
        Duration wait = query.containsKey("wait") ? waitFrom(query) : Duration.ZERO;
        if (client.resources(Checkpoint.class).inNamespace(ns).withName(name).get() == null) {
            throw new ApiError(404, "checkpoint.not-found", "no checkpoint " + ns + "/" + name);
        }
        return new Reply(200, view(await(ns, name, wait)));
    }

    private Items<CheckpointView> list(HttpExchange ex, String ns, String database) {
        Access.Caller caller = access.authenticate(ex.getRequestHeaders().getFirst("Authorization"));
        access.authorize(caller, "list", "checkpoints", ns);
        return new Items<>(client.resources(Checkpoint.class).inNamespace(ns).list().getItems().stream()
                .filter(c -> database == null || database.equals(c.getSpec().database))
                .sorted(Comparator.comparing((Checkpoint c) -> c.getMetadata().getCreationTimestamp()).reversed())
                .map(CheckpointApi::view).toList());
    }

    private Items<DatabaseView> databases(HttpExchange ex, String ns) {
        Access.Caller caller = access.authenticate(ex.getRequestHeaders().getFirst("Authorization"));
        access.authorize(caller, "list", "databases", ns);
        return new Items<>(client.resources(Database.class).inNamespace(ns).list().getItems().stream()
                .sorted(Comparator.comparing(d -> d.getMetadata().getName()))
                .map(d -> new DatabaseView(d.getMetadata().getName(),
                        d.getStatus() != null && d.getStatus().conditions.stream()
                                .anyMatch(c -> "Ready".equals(c.getType()) && "True".equals(c.getStatus())),
                        d.getStatus() == null ? null : d.getStatus().storeUri,
                        d.getStatus() == null ? null : d.getStatus().message))
                .toList());
    }

    private AccessView accessOf(HttpExchange ex, String ns) {
        Access.Caller caller = access.authenticate(ex.getRequestHeaders().getFirst("Authorization"));
        boolean create = access.allowed(caller, "create", "checkpoints", ns);
        boolean list = access.allowed(caller, "list", "checkpoints", ns);
        return new AccessView(caller.user(), create, list, create ? null
                : caller.user() + " may not create checkpoints.pgcheckpoint.io in namespace " + ns
                        + ": ask for a RoleBinding to the pgcheckpoint-deployer ClusterRole");
    }

    /** Waits until Proven or Failed, or the wait is over; returns the checkpoint as it is then. */
    private Checkpoint await(String ns, String name, Duration wait) {
        var resource = client.resources(Checkpoint.class).inNamespace(ns).withName(name);
        if (wait.isZero()) {
            return resource.get();
        }
        try {
            return resource.waitUntilCondition(c -> c == null || finished(c), wait.toMillis(), TimeUnit.MILLISECONDS);
        } catch (KubernetesClientTimeoutException e) {
            return resource.get();
        }
    }

    private static boolean finished(Checkpoint c) {
        return c.getStatus() != null && (c.getStatus().phase == Phase.Proven || c.getStatus().phase == Phase.Failed);
    }

    /** 200 Proven, 422 Failed, 504 still running when the wait ended (POST again to keep waiting), 410 deleted. */
    private static int statusOf(Checkpoint c) {
        if (c == null) {
            throw new ApiError(410, "checkpoint.deleted", "the checkpoint was deleted while the request waited");
        }
        if (c.getStatus() == null || !finished(c)) {
            return 504;
        }
        return c.getStatus().phase == Phase.Proven ? 200 : 422;
    }

    static CheckpointView view(Checkpoint c) {
        if (c == null) {
            throw new ApiError(410, "checkpoint.deleted", "the checkpoint was deleted while the request waited");
        }
        CheckpointStatus s = c.getStatus();
        Phase phase = s == null || s.phase == null ? Phase.Pending : s.phase;
        String message = s == null || s.message == null ? "waiting for the operator" : s.message;
        if (!finished(c)) {
            message = message + " (not finished yet: GET it with ?wait=, or POST the same body again to keep waiting)";
        }
        return new CheckpointView(phase == Phase.Proven, c.getMetadata().getName(), c.getMetadata().getNamespace(),
                c.getSpec().database, c.tag(), c.getSpec().commit, c.getSpec().reason, phase.name(),
                s == null || s.archive == null || s.archive.bytes == null ? null : Sizes.human(s.archive.bytes),
                s == null || s.archive == null ? null : s.archive.bytes,
                switch (phase) {
                    case Proven -> "proven";
                    case Failed -> s.drill != null ? "failed" : "not run";
                    case Drilling -> "running";
                    default -> "pending";
                },
                s == null || s.ledger == null ? null : s.ledger.tables,
                s == null || s.ledger == null ? null : s.ledger.totalRows,
                s == null ? null : s.sealedAt,
                phase == Phase.Proven ? s.finishedAt : null,
                phase == Phase.Failed ? condition(s, "Ready") : null,
                message,
                s == null ? null : s.retainUntil,
                s == null ? null : s.lockMode);
    }

    private static String condition(CheckpointStatus s, String type) {
        return s.conditions.stream().filter(c -> type.equals(c.getType())).map(Condition::getReason).findFirst().orElse(null);
    }


    private CreateRequest readBody(HttpExchange ex) throws IOException {
        String type = ex.getRequestHeaders().getFirst("Content-Type");
        if (type != null && !type.toLowerCase(java.util.Locale.ROOT).startsWith("application/json")) {
            throw new ApiError(415, "request.type", "send the body as application/json, not " + type);
        }
        byte[] body;
        try (InputStream in = ex.getRequestBody()) {
            body = in.readNBytes(MAX_BODY + 1);
        }
        if (body.length > MAX_BODY) {
            throw new ApiError(413, "request.too-large", "the body is over " + MAX_BODY / 1024 + " KiB");
        }
        CreateRequest request;
        try {
            request = JSON.readValue(body, CreateRequest.class);
        } catch (UnrecognizedPropertyException e) {
            throw new ApiError(400, "request.invalid", "unknown field '" + e.getPropertyName()
                    + "': the body takes database, tag, commit and reason");
        } catch (IOException e) {
            throw new ApiError(400, "request.invalid", "the body is not a JSON object like "
                    + "{\"database\": \"prod-api\", \"tag\": \"pre-deploy-4f3a9c1\", \"commit\": \"4f3a9c1\"}");
        }
        if (request == null || request.database() == null || request.database().isBlank()) {
            throw new ApiError(400, "request.invalid", "'database' is required: the name of a Database in the namespace");
        }
        if (request.tag() == null || request.tag().isBlank()) {
            throw new ApiError(400, "request.invalid", "'tag' is required, e.g. pre-deploy-<commit>");
        }
        try {
            Tags.check(request.tag());
        } catch (CheckpointException e) {
            throw new ApiError(400, "request.invalid", e.getMessage());
        }
        return request;
    }

    private Duration waitFrom(Map<String, String> query) {
        String text = query.get("wait");
        if (text == null) {
            return maxWait;
        }
        Duration d;
        try {
            d = io.pgcheckpoint.engine.Durations.parse(text);
        } catch (IllegalArgumentException e) {
            throw new ApiError(400, "request.invalid", "wait must be a duration such as 0, 90s, 10m or 1h, got '" + text + "'");
        }
        return d.compareTo(maxWait) > 0 ? maxWait : d;
    }


    private static void only(HttpExchange ex, String method) {
        if (!ex.getRequestMethod().equals(method)) {
            ex.getResponseHeaders().set("Allow", method.equals("GET") ? "GET" : "GET, POST");
            throw new ApiError(405, "api.method", ex.getRequestMethod() + " is not supported here");
        }
    }

    private static Map<String, String> query(String raw) {
        Map<String, String> q = new LinkedHashMap<>();
        if (raw != null) {
            for (String pair : raw.split("&")) {
                int eq = pair.indexOf('=');
                if (!pair.isEmpty()) {
                    q.put(URLDecoder.decode(eq < 0 ? pair : pair.substring(0, eq), StandardCharsets.UTF_8),
                            eq < 0 ? "" : URLDecoder.decode(pair.substring(eq + 1), StandardCharsets.UTF_8));
                }
            }
        }
        return q;
    }

    private static String apiMessage(KubernetesClientException e) {
        return e.getStatus() != null && e.getStatus().getMessage() != null ? e.getStatus().getMessage() : String.valueOf(e.getMessage());
    }

    private static void reply(HttpExchange ex, Reply reply) throws IOException {
        byte[] json = JSON.writeValueAsBytes(reply.body());
        byte[] bytes = java.util.Arrays.copyOf(json, json.length + 1);
        bytes[json.length] = '\n';
        ex.getResponseHeaders().set("Content-Type", "application/json");
        if (reply.status() == 401) {
            ex.getResponseHeaders().set("WWW-Authenticate", "Bearer realm=\"pgcheckpoint\"");
        }
        ex.sendResponseHeaders(reply.status(), bytes.length);
        try (OutputStream out = ex.getResponseBody()) {
            out.write(bytes);
        } catch (IOException e) {
            // the caller went away (its own timeout): the checkpoint goes on regardless
        }
    }
}
