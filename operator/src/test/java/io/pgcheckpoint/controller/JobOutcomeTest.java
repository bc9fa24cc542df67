package io.pgcheckpoint.controller;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.fabric8.kubernetes.api.model.ContainerStatusBuilder;
import io.fabric8.kubernetes.api.model.Event;
import io.fabric8.kubernetes.api.model.EventBuilder;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodBuilder;
import io.fabric8.kubernetes.api.model.batch.v1.Job;
import io.fabric8.kubernetes.api.model.batch.v1.JobBuilder;
import io.pgcheckpoint.api.Database;
import io.pgcheckpoint.engine.CommandError;
import io.pgcheckpoint.engine.DrillResult;
import io.pgcheckpoint.engine.Json;
import io.pgcheckpoint.engine.SealResult;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Job + Pod + Events → a typed outcome, without an API server. */
class JobOutcomeTest {
    static final List<Database> DATABASES = List.of(JobFactoryTest.database("prod"));

    static Job job(String condition, String reason) {
        JobBuilder b = new JobBuilder().withNewMetadata().withName("x-1234abcd-dump").withUid("job-uid").endMetadata()
                .withNewStatus().withStartTime("2026-11-26T10:00:00Z").endStatus();
        if (condition != null) {
            b.editStatus().addNewCondition().withType(condition).withStatus("True").withReason(reason)
                    .withLastTransitionTime(Instant.now().toString()).endCondition().endStatus();
        }
        return b.build();
    }

    static Pod terminated(String message) {
        return new PodBuilder().withNewMetadata().withName("x-dump-abcde").endMetadata().withNewStatus()
                .withContainerStatuses(new ContainerStatusBuilder().withName(Labels.MAIN_CONTAINER).withNewState().withNewTerminated()
                        .withExitCode(0).withMessage(message).endTerminated().endState().build()).endStatus().build();
    }

    static Pod waiting(String container, boolean init, String reason, String message) {
        var status = new ContainerStatusBuilder().withName(container).withNewState().withNewWaiting().withReason(reason)
                .withMessage(message).endWaiting().endState().build();
        PodBuilder b = new PodBuilder().withNewMetadata().withName("x-dump-abcde").endMetadata().withNewStatus().endStatus();
        return init ? b.editStatus().withInitContainerStatuses(status).endStatus().build()
                : b.editStatus().withContainerStatuses(status).endStatus().build();
    }

    @Test
    void aSealResultWrittenByTheCliIsReadBackAsTheSameRecord() {
        SealResult written = new SealResult(true, "pre-deploy-1", "4f3a9c1", "s3://b/p/ns/prod/pre-deploy-1/archive.dump", 412_300_000L,
                "412.3 MB", "ab12", 12, 1_000_000L, 3, "15.8", 15, "pg_dump (PostgreSQL) 15.8", "gzip:1", Instant.parse("2026-11-25T10:00:00Z"), 12.5);
        JobOutcome<SealResult> o = JobObserver.outcome(job("Complete", "CompletionsReached"), List.of(terminated(Json.compact(written))),
                List.of(), SealResult.class, DATABASES);
        assertEquals(JobOutcome.State.SUCCEEDED, o.state());
        assertEquals(written, o.result());
        assertNull(o.error());
    }

    @Test
    void anEngineErrorBecomesAConditionReason() {
        JobOutcome<SealResult> o = JobObserver.outcome(job("Failed", "BackoffLimitExceeded"),
                List.of(terminated(Json.compact(CommandError.of("connection.auth", "authentication failed for user 'app'")))),
                List.of(), SealResult.class, DATABASES);
        assertEquals(JobOutcome.State.FAILED, o.state());
        assertEquals("ConnectionAuth", o.failureReason());
        assertEquals("authentication failed for user 'app'", o.errorMessage());
    }

    @Test
    void aDrillThatFoundMismatchesKeepsItsNumbers() {
        DrillResult r = new DrillResult(false, "t", "failed", 12, 999, 1, List.of("public.orders: expected 1001 rows, found 1000"),
                "15.8", "pg_restore (PostgreSQL) 18.1", 0, null, 3.0, DrillResult.MISMATCH, "not proven", null);
        JobOutcome<DrillResult> o = JobObserver.outcome(job("Failed", "BackoffLimitExceeded"), List.of(terminated(Json.compact(r))),
                List.of(), DrillResult.class, DATABASES);
        assertEquals("DrillMismatch", o.failureReason());
        assertEquals(r, o.result());
    }

    @Test
    void logLinesInsteadOfJsonAreKeptAsTheMessage() {
        JobOutcome<SealResult> o = JobObserver.outcome(job("Failed", "BackoffLimitExceeded"),
                List.of(terminated("Exception in thread \"main\" java.lang.OutOfMemoryError")), List.of(), SealResult.class, DATABASES);
        assertEquals("JobOutput", o.failureReason());
        assertTrue(o.errorMessage().contains("OutOfMemoryError"));
    }

    @Test
    void aJobPastItsDeadlineSaysWhatToRaise() {
        JobOutcome<SealResult> o = JobObserver.outcome(job("Failed", "DeadlineExceeded"), List.of(), List.of(), SealResult.class, DATABASES);
        assertEquals("DeadlineExceeded", o.failureReason());
        assertTrue(o.errorMessage().contains("timeoutSeconds"), o.errorMessage());
    }

    @Test
    void aMissingSecretOrKeyIsNamedWithItsRole() {
        JobOutcome<SealResult> o = JobObserver.outcome(job(null, null), List.of(waiting(Labels.MAIN_CONTAINER, false,
                "CreateContainerConfigError", "secret \"prod-conn\" not found")), List.of(), SealResult.class, DATABASES);
        assertEquals(JobOutcome.State.BLOCKED, o.state());
        assertEquals("SecretMissing", o.reason());
        assertEquals("Secret 'prod-conn' (the connection of Database 'prod', key 'uri') does not exist: create it", o.message());

        o = JobObserver.outcome(job(null, null), List.of(waiting(Labels.MAIN_CONTAINER, false, "CreateContainerConfigError",
                "couldn't find key AWS_ACCESS_KEY_ID in Secret shop/prod-s3")), List.of(), SealResult.class, DATABASES);
        assertEquals("Secret 'prod-s3' (the store credentials of Database 'prod') has no key 'AWS_ACCESS_KEY_ID': add it", o.message());

        o = JobObserver.outcome(job(null, null), List.of(waiting(Labels.MAIN_CONTAINER, false, "CreateContainerConfigError",
                "configmap \"x\" not found")), List.of(), SealResult.class, DATABASES);
        assertEquals("ContainerConfigError", o.reason());
    }

    /**
     * The kubelet reports CreateContainerConfigError also while its Secret or ConfigMap cache is
     * not synced yet ("failed to sync secret cache: timed out waiting for the condition"), and
     * retries by itself: that is a wait, not a Checkpoint to fail (it failed one on the testbed).
     */
    @Test
    void aSecretCacheNotSyncedYetIsAWaitNotAFailure() {
        for (String cache : List.of("secret", "configmap")) {
            JobOutcome<SealResult> o = JobObserver.outcome(job(null, null), List.of(waiting(Labels.MAIN_CONTAINER, false,
                    "CreateContainerConfigError", "failed to sync " + cache + " cache: timed out waiting for the condition")),
                    List.of(), SealResult.class, DATABASES);
            assertEquals(JobOutcome.State.WAITING, o.state(), cache);
            assertEquals("ContainerConfigPending", o.reason());
            assertTrue(o.message().contains("failed to sync " + cache + " cache") && o.message().contains("keeps trying"),
                    o.message());
        }
    }

    @Test
    void imagesThatCannotBePulledWaitUnlessTheyCanNeverBe() {
        JobOutcome<SealResult> o = JobObserver.outcome(job(null, null), List.of(waiting(Labels.DRILL_SERVER_CONTAINER, true,
                "ImagePullBackOff", "Back-off pulling image \"postgres:99\"")), List.of(), SealResult.class, DATABASES);
        assertEquals(JobOutcome.State.WAITING, o.state());
        assertTrue(o.message().contains("postgres:99"));
        o = JobObserver.outcome(job(null, null), List.of(waiting(Labels.DRILL_SERVER_CONTAINER, true,
                "InvalidImageName", "couldn't parse image name \"Postgres:X\"")), List.of(), SealResult.class, DATABASES);
        assertEquals(JobOutcome.State.BLOCKED, o.state());
        assertEquals("ImagePullFailed", o.reason());
    }

    @Test
    void aPodTheJobControllerCannotCreateBlocksTheJob() {
        Event refused = new EventBuilder().withReason("FailedCreate").withType("Warning")
                .withMessage("Error creating: pods \"x-dump-abcde\" is forbidden: violates PodSecurity \"restricted:latest\"").build();
        JobOutcome<SealResult> o = JobObserver.outcome(job(null, null), List.of(), List.of(refused), SealResult.class, DATABASES);
        assertEquals(JobOutcome.State.BLOCKED, o.state());
        assertEquals("PodCreateFailed", o.reason());
        assertTrue(o.message().contains("violates PodSecurity"));
        assertEquals(JobOutcome.State.RUNNING, JobObserver.outcome(job(null, null), List.of(waiting(Labels.MAIN_CONTAINER, false,
                "ContainerCreating", "")), List.of(), SealResult.class, DATABASES).state(), "a pod exists: an old event");
    }

    static Pod evicted(String message, String logTail) {
        return new PodBuilder().withNewMetadata().withName("x-dump-abcde").endMetadata().withNewStatus().withPhase("Failed")
                .withReason("Evicted").withMessage(message)
                .withContainerStatuses(new ContainerStatusBuilder().withName(Labels.MAIN_CONTAINER).withNewState().withNewTerminated()
                        .withExitCode(137).withReason("Error").withMessage(logTail).endTerminated().endState().build()).endStatus().build();
    }

    static Job withRole(Job job, String role) {
        job.getMetadata().setLabels(java.util.Map.of(Labels.ROLE, role));
        return job;
    }

    @Test
    void anEvictedPodSaysSoAndWhichLimitToRaiseNotTheLogsTail() {
        // the kubelet's own words (pkg/kubelet/eviction), with its trailing ". "
        Pod pod = evicted("Usage of EmptyDir volume \"tmp\" exceeds the limit \"4Gi\". ", "seal: uploaded 212 of 431 files");
        JobOutcome<SealResult> o = JobObserver.outcome(withRole(job("Failed", "BackoffLimitExceeded"), "dump"), List.of(pod),
                List.of(), SealResult.class, DATABASES);
        assertEquals(JobOutcome.State.FAILED, o.state());
        assertEquals("PodEvicted", o.failureReason());
        assertEquals("the kubelet evicted the Job's pod (Usage of EmptyDir volume \"tmp\" exceeds the limit \"4Gi\"): the dump Job's "
                + "/tmp holds pg_dump's directory when spec.dump.jobs is above 1: raise the Database's spec.dump.scratchLimit "
                + "(or lower spec.dump.jobs), then create a new Checkpoint", o.errorMessage());

        JobOutcome<DrillResult> drill = JobObserver.outcome(withRole(job("Failed", "BackoffLimitExceeded"), "drill"),
                List.of(evicted("Usage of EmptyDir volume \"pgdata\" exceeds the limit \"30Gi\". ", "restoring")),
                List.of(), DrillResult.class, DATABASES);
        assertTrue(drill.errorMessage().endsWith("raise the Database's spec.drill.storageLimit, then create a new Checkpoint"),
                drill.errorMessage());

        JobOutcome<SealResult> node = JobObserver.outcome(withRole(job("Failed", "BackoffLimitExceeded"), "dump"),
                List.of(evicted("The node was low on resource: memory. ", "")), List.of(), SealResult.class, DATABASES);
        assertEquals("the kubelet evicted the Job's pod (The node was low on resource: memory): check the node's free memory and "
                + "disk and the pod's Events, then try again", node.errorMessage());

        // not evicted: the container's own words, as before
        JobOutcome<SealResult> plain = JobObserver.outcome(withRole(job("Failed", "BackoffLimitExceeded"), "dump"),
                List.of(terminated("seal: uploaded 212 of 431 files")), List.of(), SealResult.class, DATABASES);
        assertEquals("seal: uploaded 212 of 431 files", plain.errorMessage());
    }
}
