package io.pgcheckpoint.controller;

import com.fasterxml.jackson.databind.JsonNode;
import io.fabric8.kubernetes.api.model.ContainerStatus;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.batch.v1.Job;
import io.fabric8.kubernetes.api.model.batch.v1.JobCondition;
import io.pgcheckpoint.engine.Json;
import java.time.Duration;
import java.time.Instant;
import java.util.Collection;
import java.util.Objects;

/** What a finished (or running) Job says, read from its status and its pod's termination message. */
public record JobOutcome(State state, JsonNode result, String reason, String message, Instant finishedAt, Instant startedAt) {
    public enum State { RUNNING, SUCCEEDED, FAILED }

    /** How long a Complete Job may wait for its pod's termination message to reach the cache. */
    static final Duration RESULT_GRACE = Duration.ofSeconds(30);

    /**
     * The named Job from the informer cache, its outcome read with the cached pods; only when the
     * cache lacks it, one direct read (a Job just created may not be cached yet). Empty when the
     * Job does not exist.
     */
    static java.util.Optional<JobOutcome> find(io.javaoperatorsdk.operator.api.reconciler.Context<?> context,
                                              String namespace, String jobName) {
        Job job = context.getSecondaryResources(Job.class).stream()
                .filter(j -> jobName.equals(j.getMetadata().getName())).findFirst()
                .orElseGet(() -> context.getClient().batch().v1().jobs().inNamespace(namespace).withName(jobName).get());
        return java.util.Optional.ofNullable(job).map(j -> of(j, context.getSecondaryResources(Pod.class)));
    }

    /** A Complete Job without a readable result gets a short grace for its pod's status to reach the cache, no more. */
    boolean resultOverdue() {
        return finishedAt == null || !finishedAt.plus(RESULT_GRACE).isAfter(Instant.now());
    }

    public static JobOutcome of(Job job, Collection<Pod> pods) {
        JsonNode result = pods.stream()
                .filter(p -> job.getMetadata().getName().equals(p.getMetadata().getLabels().get("job-name")))
                .map(JobOutcome::terminationMessage).filter(Objects::nonNull).findFirst().orElse(null);
        Instant started = job.getStatus() == null || job.getStatus().getStartTime() == null ? null
                : Instant.parse(job.getStatus().getStartTime());
        if (job.getStatus() != null && job.getStatus().getConditions() != null) {
            for (JobCondition c : job.getStatus().getConditions()) {
                if (!"True".equals(c.getStatus())) {
                    continue;
                }
                Instant at = c.getLastTransitionTime() == null ? Instant.now() : Instant.parse(c.getLastTransitionTime());
                if ("Complete".equals(c.getType())) {
                    return new JobOutcome(State.SUCCEEDED, result, null, null, at, started);
                }
                if ("Failed".equals(c.getType())) {
                    return new JobOutcome(State.FAILED, result, c.getReason(), c.getMessage(), at, started);
                }
            }
        }
        return new JobOutcome(State.RUNNING, result, null, null, null, started);
    }

    private static JsonNode terminationMessage(Pod pod) {
        if (pod.getStatus() == null || pod.getStatus().getContainerStatuses() == null) {
            return null;
        }
        for (ContainerStatus cs : pod.getStatus().getContainerStatuses()) {
            if (Labels.MAIN_CONTAINER.equals(cs.getName()) && cs.getState() != null && cs.getState().getTerminated() != null) {
                String text = cs.getState().getTerminated().getMessage();
                if (text == null || text.isBlank()) {
                    return null;
                }
                try {
                    return Json.MAPPER.readTree(text.strip());
                } catch (Exception e) {
                    // FallbackToLogsOnError: the last log lines, not JSON; keep them as the message
                    return Json.MAPPER.createObjectNode().put("ok", false).put("error", "job.output")
                            .put("message", text.strip());
                }
            }
        }
        return null;
    }

    public boolean ok() {
        return result != null && result.path("ok").asBoolean(false);
    }

    /** The engine's error code (e.g. connection.auth) or the Job's own reason (e.g. DeadlineExceeded). */
    public String errorCode() {
        if (result != null && result.hasNonNull("error")) {
            return result.get("error").asText();
        }
        return reason != null ? reason : "job.failed";
    }

    public String errorMessage() {
        if (result != null && result.hasNonNull("message")) {
            return result.get("message").asText();
        }
        if ("DeadlineExceeded".equals(reason)) {
            return "the Job ran past its deadline (activeDeadlineSeconds) and was stopped: raise the Database's timeoutSeconds or check why it is slow";
        }
        return message != null ? message : "the Job failed without a readable result: check its pod's logs";
    }
}
