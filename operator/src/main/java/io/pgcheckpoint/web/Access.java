package io.pgcheckpoint.web;

import io.fabric8.kubernetes.api.model.authentication.TokenReview;
import io.fabric8.kubernetes.api.model.authentication.TokenReviewBuilder;
import io.fabric8.kubernetes.api.model.authorization.v1.SubjectAccessReview;
import io.fabric8.kubernetes.api.model.authorization.v1.SubjectAccessReviewBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Bearer tokens checked the Kubernetes way: a TokenReview says who the caller is (any token the
 * API server accepts: ServiceAccount tokens, OIDC), a SubjectAccessReview whether that caller may
 * do the verb on the resource in the namespace. Answers are cached briefly, keyed by the token's
 * hash: the token itself is never stored, logged or echoed.
 */
final class Access {
    static final String GROUP = "pgcheckpoint.io";
    private static final int MAX_ENTRIES = 10_000;
    private final KubernetesClient client;
    private final Duration ttl;
    private final Clock clock;
    private final Map<String, Cached<Caller>> callers = new ConcurrentHashMap<>();
    private final Map<String, Cached<Decision>> decisions = new ConcurrentHashMap<>();

    record Caller(String user, String uid, List<String> groups, Map<String, List<String>> extra) {
    }

    private record Decision(boolean allowed, String reason) {
    }

    private record Cached<T>(T value, Instant expires) {
    }

    Access(KubernetesClient client, Duration ttl, Clock clock) {
        this.client = client;
        this.ttl = ttl;
        this.clock = clock;
    }

    /** Who holds the token of an {@code Authorization: Bearer …} header; 401 when nobody does. */
    Caller authenticate(String authorization) {
        if (authorization == null || !authorization.regionMatches(true, 0, "Bearer ", 0, 7) || authorization.length() < 8) {
            throw new ApiError(401, "auth.missing", "send a token the cluster accepts as 'Authorization: Bearer <token>' "
                    + "(for example from kubectl create token <serviceaccount>)");
        }
        String token = authorization.substring(7).trim();
        String key = sha256(token);
        Cached<Caller> cached = callers.get(key);
        if (cached != null && cached.expires().isAfter(clock.instant())) {
            return cached.value();
        }
        TokenReview review;
        try {
            review = client.resource(new TokenReviewBuilder().withNewSpec().withToken(token).endSpec().build()).create();
        } catch (KubernetesClientException e) {
            throw new ApiError(503, "auth.unavailable", "the token could not be checked with the Kubernetes API ("
                    + e.getCode() + "); try again");
        }
        var status = review.getStatus();
        if (status == null || !Boolean.TRUE.equals(status.getAuthenticated()) || status.getUser() == null) {
            throw new ApiError(401, "auth.invalid", "the cluster does not accept this token (expired, revoked or not "
                    + "for this cluster): get a new one, e.g. kubectl create token <serviceaccount>");
        }
        var user = status.getUser();
        Caller caller = new Caller(user.getUsername(), user.getUid(),
                user.getGroups() == null ? List.of() : List.copyOf(user.getGroups()),
                user.getExtra() == null ? Map.of() : Map.copyOf(user.getExtra()));
        remember(callers, key, caller);
        return caller;
    }

    /** Whether the caller may, without failing: for a page that disables what it may not do. */
    boolean allowed(Caller caller, String verb, String resource, String namespace) {
        try {
            authorize(caller, verb, resource, namespace);
            return true;
        } catch (ApiError e) {
            if (e.status == 403) {
                return false;
            }
            throw e;
        }
    }

    /** 403 naming the missing permission unless the caller may do {@code verb} on {@code resource} in {@code namespace}. */
    void authorize(Caller caller, String verb, String resource, String namespace) {
        String key = caller.user() + "\n" + caller.uid() + "\n" + caller.groups() + "\n" + verb + "\n" + resource + "\n" + namespace;
        Cached<Decision> cached = decisions.get(key);
        Decision decision;
        if (cached != null && cached.expires().isAfter(clock.instant())) {
            decision = cached.value();
        } else {
            SubjectAccessReview sar = new SubjectAccessReviewBuilder().withNewSpec()
                    .withUser(caller.user()).withUid(caller.uid()).withGroups(caller.groups()).withExtra(caller.extra())
                    .withNewResourceAttributes().withGroup(GROUP).withResource(resource).withVerb(verb)
                    .withNamespace(namespace).endResourceAttributes()
                    .endSpec().build();
            try {
                var status = client.resource(sar).create().getStatus();
                decision = new Decision(status != null && Boolean.TRUE.equals(status.getAllowed()),
                        status == null ? null : status.getReason());
            } catch (KubernetesClientException e) {
                throw new ApiError(503, "auth.unavailable", "the permission could not be checked with the Kubernetes API ("
                        + e.getCode() + "); try again");
            }
            remember(decisions, key, decision);
        }
        if (!decision.allowed()) {
            throw new ApiError(403, "auth.forbidden", caller.user() + " may not " + verb + " " + resource + "." + GROUP
                    + " in namespace " + namespace + ": bind it to a Role granting '" + verb + "' on " + resource + "." + GROUP
                    + " there (the chart's pgcheckpoint-deployer ClusterRole has what a deploy needs)");
        }
    }

    private <T> void remember(Map<String, Cached<T>> cache, String key, T value) {
        if (cache.size() >= MAX_ENTRIES) {
            cache.clear(); // simple bound: a burst of distinct callers costs a few extra reviews
        }
        cache.put(key, new Cached<>(value, clock.instant().plus(ttl)));
    }

    private static String sha256(String token) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(token.getBytes(StandardCharsets.UTF_8)));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
