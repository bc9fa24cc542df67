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
        Pod pod = client.pods().inNamespace(ns).resource(new PodBuilder().withNewMetadata().withName(jobName + "-x1")
                .addToLabels(job.getSpec().getTemplate().getMetadata().getLabels()).addToLabels("job-name", jobName).endMetadata()
                .withSpec(job.getSpec().getTemplate().getSpec()).build()).create();
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

    /** A seal result as the CLI prints it with --output json. */
    static String sealedResult(String tag) {
        return "{\"ok\":true,\"tag\":\"" + tag + "\",\"commit\":\"4f3a9c1\",\"archive\":\"s3://checkpoints/prod/t/prod/" + tag
                + "/archive.dump\",\"bytes\":412300000,\"size\":\"412.3 MB\",\"sha256\":\"ab12\",\"tables\":12,\"rows\":1000000,"
                + "\"largeObjects\":0,\"serverVersion\":\"15.8\",\"pgDumpVersion\":\"pg_dump (PostgreSQL) 15.8\","
                + "\"snapshotTime\":\"2026-11-25T10:00:00Z\",\"seconds\":12.5}";
    }

    private static JobCondition condition(String type, String reason, String now) {
        return new JobConditionBuilder().withType(type).withStatus("True").withReason(reason).withMessage(reason)
                .withLastProbeTime(now).withLastTransitionTime(now).build();
    }
}
