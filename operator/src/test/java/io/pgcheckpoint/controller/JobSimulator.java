package io.pgcheckpoint.controller;

import io.fabric8.kubernetes.api.model.ContainerStatusBuilder;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodBuilder;
import io.fabric8.kubernetes.api.model.PodStatusBuilder;
import io.fabric8.kubernetes.api.model.batch.v1.Job;
import io.fabric8.kubernetes.api.model.batch.v1.JobCondition;
import io.fabric8.kubernetes.api.model.batch.v1.JobConditionBuilder;
import io.fabric8.kubernetes.api.model.batch.v1.JobStatusBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.pgcheckpoint.engine.DrillResult;
import io.pgcheckpoint.engine.Json;
import io.pgcheckpoint.engine.SealResult;
import java.time.Instant;
import java.util.List;

/**
 * Middle tier only (no kubelet, no Job controller): plays their part, a pod that ended with
 * a termination message, then the Job's Complete or Failed conditions as 1.34 validates them.
 */
final class JobSimulator {
    private JobSimulator() {
    }

    static void finish(KubernetesClient client, String ns, String jobName, boolean succeeded, String terminationMessage) {
        Job job = client.batch().v1().jobs().inNamespace(ns).withName(jobName).get();
        Pod pod = createPod(client, job);
        pod.setStatus(new PodStatusBuilder().withPhase(succeeded ? "Succeeded" : "Failed")
                .withContainerStatuses(new ContainerStatusBuilder().withName(Labels.MAIN_CONTAINER).withImage("x").withImageID("x")
                        .withReady(false).withRestartCount(0).withNewState().withNewTerminated().withExitCode(succeeded ? 0 : 1)
                        .withMessage(terminationMessage).endTerminated().endState().build()).build());
        client.pods().inNamespace(ns).resource(pod).updateStatus();
        String now = Instant.now().toString();
        job.setStatus(new JobStatusBuilder().withStartTime(now)
                .withSucceeded(succeeded ? 1 : 0).withFailed(succeeded ? 0 : 1)
                .withCompletionTime(succeeded ? now : null)
                .withConditions(succeeded
                        ? List.of(condition("SuccessCriteriaMet", "CompletionsReached", now), condition("Complete", "CompletionsReached", now))
                        : List.of(condition("FailureTarget", "BackoffLimitExceeded", now), condition("Failed", "BackoffLimitExceeded", now)))
                .build());
        client.batch().v1().jobs().inNamespace(ns).resource(job).updateStatus();
    }

    /**
     * The kubelet's eviction of the Job's pod (e.g. {@code Usage of EmptyDir volume "tmp" exceeds the
     * limit "4Gi". }): the pod Failed with reason Evicted, its container killed with only its log's
     * tail as termination message, then the Job Failed.
     */
    static void evicted(KubernetesClient client, String ns, String jobName, String message, String logTail) {
        Job job = client.batch().v1().jobs().inNamespace(ns).withName(jobName).get();
        Pod pod = createPod(client, job);
        pod.setStatus(new PodStatusBuilder().withPhase("Failed").withReason("Evicted").withMessage(message)
                .withContainerStatuses(new ContainerStatusBuilder().withName(Labels.MAIN_CONTAINER).withImage("x").withImageID("x")
                        .withReady(false).withRestartCount(0).withNewState().withNewTerminated().withExitCode(137).withReason("Error")
                        .withMessage(logTail).endTerminated().endState().build()).build());
        client.pods().inNamespace(ns).resource(pod).updateStatus();
        String now = Instant.now().toString();
        job.setStatus(new JobStatusBuilder().withStartTime(now).withSucceeded(0).withFailed(1)
                .withConditions(List.of(condition("FailureTarget", "BackoffLimitExceeded", now), condition("Failed", "BackoffLimitExceeded", now)))
                .build());
        client.batch().v1().jobs().inNamespace(ns).resource(job).updateStatus();
    }

    /**
     * The Job's pod as the Job controller creates it: the template, the Job's labels, owned by the
     * Job. The API server's admission (Pod Security of the namespace) judges it here for real.
     */
    static Pod createPod(KubernetesClient client, Job job) {
        String jobName = job.getMetadata().getName();
        String podName = jobName + "-x1";
        Pod existing = client.pods().inNamespace(job.getMetadata().getNamespace()).withName(podName).get();
        if (existing != null) {
            return existing;
        }
        return client.pods().inNamespace(job.getMetadata().getNamespace()).resource(new PodBuilder().withNewMetadata().withName(podName)
                .addToLabels(job.getSpec().getTemplate().getMetadata().getLabels())
                .addToLabels("job-name", jobName).addToLabels("batch.kubernetes.io/job-name", jobName)
                .addToLabels("controller-uid", job.getMetadata().getUid())
                .addToAnnotations(job.getSpec().getTemplate().getMetadata().getAnnotations())
                .addNewOwnerReference().withApiVersion("batch/v1").withKind("Job").withName(jobName)
                .withUid(job.getMetadata().getUid()).withController(true).withBlockOwnerDeletion(true).endOwnerReference()
                .endMetadata()
                .withSpec(job.getSpec().getTemplate().getSpec()).build()).create();
    }

    /**
     * The kubelet's report of a pod whose container cannot start: e.g. CreateContainerConfigError
     * with {@code secret "prod-conn" not found}, exactly as it writes it into the pod's status.
     */
    static void podWaiting(KubernetesClient client, String ns, String jobName, String container, String reason, String message) {
        Job job = client.batch().v1().jobs().inNamespace(ns).withName(jobName).get();
        Pod pod = createPod(client, job);
        job.setStatus(new JobStatusBuilder().withStartTime(Instant.now().toString()).withActive(1).withReady(0).build());
        client.batch().v1().jobs().inNamespace(ns).resource(job).updateStatus();
        pod.setStatus(new PodStatusBuilder().withPhase("Pending")
                .withContainerStatuses(new ContainerStatusBuilder().withName(container).withImage("x").withImageID("")
                        .withReady(false).withRestartCount(0).withNewState().withNewWaiting().withReason(reason).withMessage(message)
                        .endWaiting().endState().build()).build());
        client.pods().inNamespace(ns).resource(pod).updateStatus();
    }

    /** The kubelet's report that the pod's main container runs (after a wait). */
    static void podRunning(KubernetesClient client, String ns, String jobName) {
        Job job = client.batch().v1().jobs().inNamespace(ns).withName(jobName).get();
        Pod pod = createPod(client, job);
        pod.setStatus(new PodStatusBuilder().withPhase("Running")
                .withContainerStatuses(new ContainerStatusBuilder().withName(Labels.MAIN_CONTAINER).withImage("x").withImageID("x")
                        .withReady(true).withRestartCount(0).withNewState().withNewRunning().withStartedAt(Instant.now().toString())
                        .endRunning().endState().build()).build());
        client.pods().inNamespace(ns).resource(pod).updateStatus();
    }

    /**
     * The Job controller's report of a pod it could not create (admission, quota): a Warning
     * Event FailedCreate on the Job, and no pod at all.
     */
    static void failedCreate(KubernetesClient client, String ns, String jobName, String message) {
        Job job = client.batch().v1().jobs().inNamespace(ns).withName(jobName).get();
        String now = Instant.now().truncatedTo(java.time.temporal.ChronoUnit.SECONDS).toString();
        client.v1().events().inNamespace(ns).resource(new io.fabric8.kubernetes.api.model.EventBuilder()
                .withNewMetadata().withName(jobName + ".failedcreate").withNamespace(ns).endMetadata()
                .withNewInvolvedObject().withApiVersion("batch/v1").withKind("Job").withName(jobName).withNamespace(ns)
                .withUid(job.getMetadata().getUid()).endInvolvedObject()
                .withType("Warning").withReason("FailedCreate").withMessage(message)
                .withFirstTimestamp(now).withLastTimestamp(now).withCount(1)
                .withNewSource().withComponent("job-controller").endSource().build()).create();
    }

    /** A seal result as the CLI writes it with --output json: the same record, so a renamed field cannot pass here and fail there. */
    static String sealedResult(String tag) {
        return Json.compact(new SealResult(true, tag, "4f3a9c1", "s3://checkpoints/prod/t/prod/" + tag + "/archive.dump",
                412_300_000L, "412.3 MB", "ab12", 12, 1_000_000L, 0, "15.8", null, "pg_dump (PostgreSQL) 15.8", null,
                Instant.parse("2026-11-25T10:00:00Z"), 12.5));
    }

    /** A drill result that proves the tag. */
    static String provenResult(String tag) {
        return Json.compact(new DrillResult(true, tag, DrillResult.PROVEN, 12, 1_000_000L, 0, List.of(), "15.8", "pg_restore (PostgreSQL) 18.1",
                0, null, 20.1, null, null, null));
    }

    private static JobCondition condition(String type, String reason, String now) {
        return new JobConditionBuilder().withType(type).withStatus("True").withReason(reason).withMessage(reason)
                .withLastProbeTime(now).withLastTransitionTime(now).build();
    }
}
