package io.pgcheckpoint.controller;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.fabric8.kubernetes.api.model.Quantity;
import io.fabric8.kubernetes.api.model.ResourceQuotaBuilder;
import io.fabric8.kubernetes.api.model.SecretBuilder;
import io.fabric8.kubernetes.api.model.batch.v1.Job;
import io.pgcheckpoint.api.Checkpoint;
import io.pgcheckpoint.api.Conditions;
import io.pgcheckpoint.api.CheckpointStatus.Phase;
import io.pgcheckpoint.api.Restore;
import io.pgcheckpoint.api.RestoreSpec;
import io.pgcheckpoint.api.RestoreStatus;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.fabric8.kubernetes.client.dsl.FieldValidateable;
import io.fabric8.kubernetes.client.utils.Serialization;
import java.util.List;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * Middle tier: what the security review found. Secrets the operator never reads, pods that
 * cannot start or cannot be created, Jobs that cannot be created, and names: every one ends in
 * a status that says why within seconds, never an hour later.
 */
class HardeningTest extends MiddleTier {

    static String reason(Checkpoint c) {
        return Conditions.find(c.getStatus().conditions, "Ready").getReason();
    }

    Checkpoint dumping(String name) {
        return await(name, c -> c.getStatus().phase == Phase.Dumping && c.getStatus().dumpJob != null);
    }

    @Test
    void aMissingSecretFailsTheCheckpointInSecondsNamingSecretAndKey() {
        database("prod", false);
        checkpoint("no-secret", "no-secret");
        Checkpoint c = dumping("no-secret");
        String job = c.getStatus().dumpJob;
        // the kubelet cannot build the container's environment and says so in the pod's status
        JobSimulator.podWaiting(client, ns, job, Labels.MAIN_CONTAINER, "CreateContainerConfigError", "secret \"prod-conn\" not found");
        Instant reported = Instant.now();
        c = await("no-secret", phase(Phase.Failed), 10);
        assertTrue(Duration.between(reported, Instant.now()).toSeconds() < 10);
        assertEquals("SecretMissing", reason(c));
        assertTrue(c.getStatus().message.contains("Secret 'prod-conn'") && c.getStatus().message.contains("'uri'")
                && c.getStatus().message.contains("Database 'prod'"), c.getStatus().message);
        // its pod must not start later, when the Secret appears, and seal under a Failed checkpoint
        client.batch().v1().jobs().inNamespace(ns).withName(job).waitUntilCondition(j -> j == null, 10, TimeUnit.SECONDS);
    }

    @Test
    void aMissingKeyIsNamed() {
        database("prod", false);
        client.secrets().inNamespace(ns).resource(new SecretBuilder().withNewMetadata().withName("prod-s3").endMetadata()
                .withStringData(Map.of("AWS_ACCESS_KEY_ID", "k")).build()).create();
        checkpoint("no-key", "no-key");
        Checkpoint c = dumping("no-key");
        JobSimulator.podWaiting(client, ns, c.getStatus().dumpJob, Labels.MAIN_CONTAINER, "CreateContainerConfigError",
                "couldn't find key AWS_SECRET_ACCESS_KEY in Secret " + ns + "/prod-s3");
        c = await("no-key", phase(Phase.Failed), 10);
        assertEquals("SecretMissing", reason(c));
        assertTrue(c.getStatus().message.contains("Secret 'prod-s3'") && c.getStatus().message.contains("'AWS_SECRET_ACCESS_KEY'")
                && c.getStatus().message.contains("store credentials"), c.getStatus().message);
    }

    @Test
    void anImagePullThatBacksOffIsShownAndForgottenOnceTheDrillRuns() {
        database("prod", true);
        checkpoint("pulling", "pulling");
        finish(dumpJobOf("pulling"), true, JobSimulator.sealedResult("pulling"));
        String drill = drillJobOf("pulling");
        JobSimulator.podWaiting(client, ns, drill, Labels.DRILL_SERVER_CONTAINER, "ImagePullBackOff",
                "Back-off pulling image \"localhost/postgres:15\"");
        Checkpoint c = await("pulling", x -> "ImagePullBackOff".equals(reason(x)));
        assertEquals(Phase.Drilling, c.getStatus().phase, "waiting, not failed: a registry may come back");
        assertTrue(c.getStatus().message.contains("localhost/postgres:15"), c.getStatus().message);
        JobSimulator.podRunning(client, ns, drill);
        c = await("pulling", x -> "Drilling".equals(reason(x)));
        assertEquals(Phase.Drilling, c.getStatus().phase);
    }

    @Test
    void podsThatCannotBeCreatedFailTheCheckpointInSeconds() {
        database("prod", true);
        checkpoint("forbidden", "forbidden");
        Checkpoint c = dumping("forbidden");
        String why = "Error creating: pods \"" + c.getStatus().dumpJob + "-7xk2p\" is forbidden: exceeded quota: compute, "
                + "requested: limits.memory=1Gi, used: limits.memory=4Gi, limited: limits.memory=4Gi";
        JobSimulator.failedCreate(client, ns, c.getStatus().dumpJob, why);
        c = await("forbidden", phase(Phase.Failed), 10);
        assertEquals("PodCreateFailed", reason(c));
        assertTrue(c.getStatus().message.contains("exceeded quota: compute"), c.getStatus().message);
    }

    @Test
    void aJobThatCannotBeCreatedIsInTheStatusAtOnce() {
        client.resourceQuotas().inNamespace(ns).resource(new ResourceQuotaBuilder().withNewMetadata().withName("no-jobs").endMetadata()
                .withNewSpec().addToHard("count/jobs.batch", new Quantity("0")).endSpec().build()).create();
        // the quota controller's part: what is used so far
        var quota = client.resourceQuotas().inNamespace(ns).withName("no-jobs").get();
        quota.setStatus(new io.fabric8.kubernetes.api.model.ResourceQuotaStatusBuilder().addToHard("count/jobs.batch", new Quantity("0"))
                .addToUsed("count/jobs.batch", new Quantity("0")).build());
        client.resourceQuotas().inNamespace(ns).resource(quota).updateStatus();
        database("prod", true);
        checkpoint("no-room", "no-room");
        Checkpoint c = await("no-room", x -> x.getStatus().message != null && x.getStatus().message.contains("exceeded quota"), 10);
        assertTrue(c.getStatus().message.contains("Job"), c.getStatus().message);
        assertEquals("JobCreateFailed", reason(c));
    }

    @Test
    void aNameLongerThan63CharactersGetsValidJobs() {
        database("prod", true);
        String name = "pre-deploy-" + "x".repeat(70) + ".release-candidate";
        checkpoint(name, "long-name-1");
        Checkpoint c = dumping(name);
        Job job = job(c.getStatus().dumpJob);
        assertNotNull(job);
        assertTrue(job.getMetadata().getName().length() <= 63, job.getMetadata().getName());
        assertEquals(c.getMetadata().getUid(), job.getMetadata().getOwnerReferences().get(0).getUid());
        finish(job.getMetadata().getName(), true, JobSimulator.sealedResult("long-name-1"));
        c = await(name, x -> x.getStatus().drillJob != null);
        assertTrue(c.getStatus().drillJob.length() <= 63, c.getStatus().drillJob);
    }

    @Test
    void namesSharingTheirFirst52CharactersGetTheirOwnJobs() {
        database("prod", true);
        String stem = "pre-deploy-api-" + "0123456789".repeat(3) + "0123456";
        assertEquals(52, stem.length());
        checkpoint(stem + "-one", "shared-1");
        checkpoint(stem + "-two", "shared-2");
        Checkpoint one = dumping(stem + "-one");
        Checkpoint two = dumping(stem + "-two");
        assertNotEquals(one.getStatus().dumpJob, two.getStatus().dumpJob);
        assertEquals(one.getMetadata().getUid(), job(one.getStatus().dumpJob).getMetadata().getOwnerReferences().get(0).getUid());
        assertEquals(two.getMetadata().getUid(), job(two.getStatus().dumpJob).getMetadata().getOwnerReferences().get(0).getUid());
        finish(two.getStatus().dumpJob, false, "{\"ok\":false,\"error\":\"connection.refused\",\"message\":\"connection refused\"}");
        assertEquals(Phase.Failed, await(stem + "-two", phase(Phase.Failed)).getStatus().phase);
        assertEquals(Phase.Dumping, client.resources(Checkpoint.class).inNamespace(ns).withName(stem + "-one").get().getStatus().phase,
                "the other checkpoint's Job is not this one's");
    }

    @Test
    void aCheckpointRecreatedUnderTheSameNameNeverAdoptsTheOldJobs() throws Exception {
        database("prod", true);
        checkpoint("again", "again-1");
        Checkpoint old = dumping("again");
        finish(old.getStatus().dumpJob, true, JobSimulator.sealedResult("again-1"));
        old = await("again", x -> x.getStatus().drillJob != null);
        finish(old.getStatus().drillJob, true, JobSimulator.provenResult("again-1"));
        await("again", phase(Phase.Proven));
        // deleted and created again; no garbage collector runs here, so the old Jobs stay, as they may for a while in a cluster
        client.resources(Checkpoint.class).inNamespace(ns).withName("again").delete();
        client.resources(Checkpoint.class).inNamespace(ns).withName("again").waitUntilCondition(x -> x == null, 10, TimeUnit.SECONDS);
        checkpoint("again", "again-1");
        Checkpoint fresh = await("again", x -> x.getStatus().dumpJob != null);
        Thread.sleep(3000);
        fresh = client.resources(Checkpoint.class).inNamespace(ns).withName("again").get();
        assertEquals(Phase.Dumping, fresh.getStatus().phase, "an old snapshot shown as this one's: " + fresh.getStatus().message);
        assertNotEquals(old.getStatus().dumpJob, fresh.getStatus().dumpJob);
        assertEquals(fresh.getMetadata().getUid(), job(fresh.getStatus().dumpJob).getMetadata().getOwnerReferences().get(0).getUid());
        assertNull(fresh.getStatus().archive);
    }

    @Test
    void noResourceFieldCanSendDataToAnImageOrDatabaseOfItsOwnChoosing() {
        database("prod", true);
        for (String yaml : List.of("""
                apiVersion: pgcheckpoint.io/v1alpha1
                kind: Checkpoint
                metadata: {name: exfil}
                spec: {database: prod, drillImage: "attacker.example/postgres:15"}
                """, """
                apiVersion: pgcheckpoint.io/v1alpha1
                kind: Restore
                metadata: {name: exfil}
                spec: {checkpoint: x, tables: [public.orders], target: {secretName: attacker-db}}
                """)) {
            GenericKubernetesResource r = Serialization.unmarshal(yaml, GenericKubernetesResource.class);
            r.getMetadata().setNamespace(ns);
            KubernetesClientException e = assertThrows(KubernetesClientException.class,
                    () -> client.resource(r).dryRun().fieldValidation(FieldValidateable.Validation.STRICT).create());
            assertTrue(e.getMessage().contains("spec.drillImage") || e.getMessage().contains("spec.target"), e.getMessage());
        }
    }

    @Test
    void aRestoreWritesOnlyIntoADatabaseOfItsNamespace() {
        database("prod", true);
        database("staging", true);
        checkpoint("pre-deploy-1", "pre-deploy-1");
        finish(dumpJobOf("pre-deploy-1"), true, ReconcilerTest.SEALED);
        finish(drillJobOf("pre-deploy-1"), true, ReconcilerTest.PROVEN);
        await("pre-deploy-1", phase(Phase.Proven));

        restore("into-nowhere", "pre-deploy-1", "no-such-db");
        Restore waiting = awaitRestore("into-nowhere", r -> r.getStatus().message != null);
        assertEquals(RestoreStatus.Phase.Pending, waiting.getStatus().phase);
        assertEquals("DatabaseNotFound", waiting.getStatus().completeReason());

        restore("into-staging", "pre-deploy-1", "staging");
        Restore running = awaitRestore("into-staging", r -> r.getStatus().phase == RestoreStatus.Phase.Running);
        var env = job(running.getStatus().job).getSpec().getTemplate().getSpec().getContainers().get(0).getEnv();
        assertEquals("staging-conn", env.stream().filter(e -> e.getName().equals("PGCHECKPOINT_DB_URI")).findFirst().orElseThrow()
                .getValueFrom().getSecretKeyRef().getName(), "the target's connection");
        assertEquals("prod-s3", env.stream().filter(e -> e.getName().equals("AWS_ACCESS_KEY_ID")).findFirst().orElseThrow()
                .getValueFrom().getSecretKeyRef().getName(), "the checkpoint's own bucket");
        JobSimulator.createPod(client, job(running.getStatus().job)); // admitted under restricted
    }

    @Test
    void aRestoreWhoseTargetSecretIsMissingFailsAndItsJobNeverRuns() {
        database("prod", true);
        database("staging", false);
        checkpoint("pre-deploy-1", "pre-deploy-1");
        finish(dumpJobOf("pre-deploy-1"), true, ReconcilerTest.SEALED);
        finish(drillJobOf("pre-deploy-1"), true, ReconcilerTest.PROVEN);
        await("pre-deploy-1", phase(Phase.Proven));
        restore("into-staging", "pre-deploy-1", "staging");
        String job = awaitRestore("into-staging", r -> r.getStatus().phase == RestoreStatus.Phase.Running).getStatus().job;
        JobSimulator.podWaiting(client, ns, job, Labels.MAIN_CONTAINER, "CreateContainerConfigError", "secret \"staging-conn\" not found");
        Restore failed = awaitRestore("into-staging", r -> r.getStatus().phase == RestoreStatus.Phase.Failed);
        assertEquals("SecretMissing", failed.getStatus().completeReason());
        assertTrue(failed.getStatus().message.contains("Secret 'staging-conn' (the connection of Database 'staging'"),
                failed.getStatus().message);
        client.batch().v1().jobs().inNamespace(ns).withName(job).waitUntilCondition(j -> j == null, 10, TimeUnit.SECONDS);
    }

    @Test
    void jobsRunAsTheDatabasesServiceAccountWithItsTokenOnlyThen() {
        database("prod", true, spec -> spec.serviceAccountName = "checkpoint-writer");
        checkpoint("identity", "identity");
        var pod = job(dumpJobOf("identity")).getSpec().getTemplate().getSpec();
        assertEquals("checkpoint-writer", pod.getServiceAccountName());
        assertEquals(Boolean.TRUE, pod.getAutomountServiceAccountToken());
        database("other", true);
        checkpoint("anonymous", "anonymous", "other");
        pod = job(dumpJobOf("anonymous")).getSpec().getTemplate().getSpec();
        assertNull(pod.getServiceAccountName());
        assertEquals(Boolean.FALSE, pod.getAutomountServiceAccountToken(), "no token for the namespace's default ServiceAccount");
    }

    @Test
    void theSameEventTwiceIsOneEventWithACount() {
        database("prod", true);
        Checkpoint c = checkpoint("counted", "counted");
        EventRecorder events = new EventRecorder(operatorClient);
        events.record(c, EventRecorder.Type.Warning, EventRecorder.Reason.Waiting, "Database 'x' does not exist");
        events.record(c, EventRecorder.Type.Warning, EventRecorder.Reason.Waiting, "Database 'x' does not exist");
        events.record(c, EventRecorder.Type.Warning, EventRecorder.Reason.Waiting, "Database 'x' does not exist");
        var mine = client.v1().events().inNamespace(ns).list().getItems().stream()
                .filter(e -> e.getInvolvedObject().getName().equals("counted") && "Waiting".equals(e.getReason())).toList();
        assertEquals(1, mine.size());
        assertEquals(3, mine.get(0).getCount());
    }

    void restore(String name, String checkpoint, String target) {
        Restore r = new Restore();
        r.setMetadata(new ObjectMetaBuilder().withName(name).withNamespace(ns).build());
        r.setSpec(new RestoreSpec());
        r.getSpec().checkpoint = checkpoint;
        r.getSpec().tables = List.of("public.orders");
        r.getSpec().target = target;
        client.resource(r).create();
    }

    Restore awaitRestore(String name, java.util.function.Predicate<Restore> condition) {
        return client.resources(Restore.class).inNamespace(ns).withName(name)
                .waitUntilCondition(r -> r != null && r.getStatus() != null && condition.test(r), 30, TimeUnit.SECONDS);
    }
}
