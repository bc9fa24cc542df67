package io.pgcheckpoint.controller;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.fabric8.kubernetes.api.model.Condition;
import io.fabric8.kubernetes.api.model.EnvVar;
import io.fabric8.kubernetes.api.model.Event;
import io.fabric8.kubernetes.api.model.EventBuilder;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.ServiceAccountBuilder;
import io.fabric8.kubernetes.api.model.batch.v1.Job;
import io.pgcheckpoint.api.Checkpoint;
import io.pgcheckpoint.api.CheckpointStatus;
import io.pgcheckpoint.api.CheckpointStatus.Phase;
import io.pgcheckpoint.api.Conditions;
import io.pgcheckpoint.api.Database;
import io.pgcheckpoint.api.DatabaseSpec;
import io.pgcheckpoint.api.DeletionPolicy;
import io.pgcheckpoint.engine.DeleteResult;
import io.pgcheckpoint.engine.Json;
import io.pgcheckpoint.engine.PruneResult;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import org.junit.jupiter.api.Test;

/**
 * Middle tier (see {@link MiddleTier}): issue 13 on the operator's side. The finalizer exists on
 * deletionPolicy Delete Checkpoints only and goes only after a cleanup Job deleted the objects; a
 * locked object keeps it, named with its date; the prune Job's result deletes the removed tags'
 * Checkpoints; SSE, Object Lock and the verify key reach the Jobs, the signing key only the dump Job.
 */
class DeletionPolicyTest extends MiddleTier {
    static final String FINALIZER = "pgcheckpoint.io/delete-objects";
    static final String PUBLIC_KEY = "-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEAGb9ECWmEzf6FQbrBZ9w7lshQhqowtrbLDFw4rXAxZuE=\n-----END PUBLIC KEY-----\n";

    @Test
    void finalizerOnlyOnCheckpointsWhosePolicyIsDelete() {
        database("prod", true, spec -> spec.deletionPolicy = DeletionPolicy.Delete);
        checkpoint("inherits", "inherits");
        checkpoint("retains", "retains", c -> c.getSpec().deletionPolicy = DeletionPolicy.Retain);
        await("inherits", phase(Phase.Dumping));
        await("retains", phase(Phase.Dumping));
        assertTrue(awaitMeta("inherits", c -> c.hasFinalizer(FINALIZER)).hasFinalizer(FINALIZER), "Delete from the Database");
        assertFalse(get("retains").hasFinalizer(FINALIZER), "the Checkpoint's own Retain wins over the Database's Delete");

        // a Database defaulting to Retain, a Checkpoint asking for Delete
        database("keep", true);
        checkpoint("asks", "asks", "keep", c -> c.getSpec().deletionPolicy = DeletionPolicy.Delete);
        checkpoint("plain", "plain", "keep", c -> { });
        await("plain", phase(Phase.Dumping));
        assertTrue(awaitMeta("asks", c -> c.hasFinalizer(FINALIZER)).hasFinalizer(FINALIZER));
        assertFalse(get("plain").hasFinalizer(FINALIZER), "Retain is the default: no finalizer");
    }

    @Test
    void retainDeletesTheResourceAtOnceAndLeavesTheBucketAlone() {
        database("prod", true);
        checkpoint("pre-deploy-1", "pre-deploy-1");
        prove("pre-deploy-1");
        assertTrue(get("pre-deploy-1").getMetadata().getFinalizers() == null
                || get("pre-deploy-1").getMetadata().getFinalizers().isEmpty());
        client.resources(Checkpoint.class).inNamespace(ns).withName("pre-deploy-1").delete();
        awaitGone("pre-deploy-1");
        assertTrue(jobsWithRole("cleanup").isEmpty(), "Retain: no cleanup Job");
    }

    @Test
    void deleteRunsTheCleanupJobAsTheCleanupServiceAccountThenRemovesTheFinalizer() {
        serviceAccount("pruner");
        database("prod", true, spec -> {
            spec.deletionPolicy = DeletionPolicy.Delete;
            spec.cleanupServiceAccountName = "pruner";
            spec.signing = signing();
        });
        String name = proveThenDelete("pre-deploy-1");

        Job cleanup = job(name);
        var pod = cleanup.getSpec().getTemplate().getSpec();
        var main = pod.getContainers().get(0);
        assertEquals(List.of("delete", "--tag", "pre-deploy-1", "--output", "json"), main.getArgs());
        assertEquals("pruner", pod.getServiceAccountName());
        assertTrue(cleanup.getMetadata().getOwnerReferences() == null || cleanup.getMetadata().getOwnerReferences().isEmpty(),
                "not owned by the Checkpoint: its deletion must not take the cleanup Job with it");
        assertEquals(PUBLIC_KEY, env(main.getEnv(), "PGCHECKPOINT_VERIFY_KEY"));
        assertFalse(Json.compact(cleanup).contains("prod-signing"), "the signing key is for the dump Job only");
        Checkpoint deleting = get("pre-deploy-1");
        assertNotNull(deleting, "the finalizer holds the Checkpoint while its objects are removed");
        assertEquals("DeletingObjects", Conditions.find(deleting.getStatus().conditions, CheckpointStatus.OBJECTS_DELETED).getReason());

        finish(name, true, Json.compact(new DeleteResult(true, "pre-deploy-1", true, 3, null)));
        awaitGone("pre-deploy-1");
        assertTrue(eventMessages("pre-deploy-1", "ObjectsDeleted").stream().anyMatch(m -> m.contains("deleted the 3 objects")));
    }

    @Test
    void aLockedObjectKeepsTheFinalizerAndSaysUntilWhen() {
        database("prod", true, spec -> spec.deletionPolicy = DeletionPolicy.Delete);
        String first = proveThenDelete("pre-deploy-1");

        Map<String, Object> locked = new LinkedHashMap<>();
        locked.put("ok", false);
        locked.put("error", "store.locked");
        locked.put("message", "pre-deploy-1/archive.dump is locked (COMPLIANCE) until 2099-01-01T00:00:00Z");
        locked.put("tag", "pre-deploy-1");
        locked.put("deleted", false);
        locked.put("objects", 0);
        locked.put("retainUntil", "2099-01-01T00:00:00Z");
        finish(first, false, Json.compact(locked));

        Checkpoint c = await("pre-deploy-1", x -> x.getStatus().cleanup.retryAt != null);
        assertTrue(c.hasFinalizer(FINALIZER), "never removed while the objects are there");
        Condition condition = Conditions.find(c.getStatus().conditions, CheckpointStatus.OBJECTS_DELETED);
        assertEquals("ObjectsLocked", condition.getReason());
        assertTrue(condition.getMessage().contains("locked until 2099-01-01T00:00:00Z"), condition.getMessage());
        assertEquals("2099-01-01T00:00:01Z", c.getStatus().cleanup.retryAt, "the next cleanup once the lock expired");
        assertTrue(eventMessages("pre-deploy-1", "ObjectsLocked").stream().anyMatch(m -> m.contains("2099-01-01T00:00:00Z")),
                "a Warning Event names the retain-until date");
        assertEquals(1, jobsWithRole("cleanup").size(), "no second cleanup Job before the date");

        // release the test's namespace: the test's own hand removes the finalizer
        client.resources(Checkpoint.class).inNamespace(ns).withName("pre-deploy-1")
                .edit(x -> { x.removeFinalizer(FINALIZER); return x; });
    }

    @Test
    void aNamespaceBeingDeletedSaysHowToRemoveTheObjectsByHand() {
        database("prod", true, spec -> spec.deletionPolicy = DeletionPolicy.Delete);
        checkpoint("pre-deploy-1", "pre-deploy-1");
        prove("pre-deploy-1");
        awaitMeta("pre-deploy-1", c -> c.hasFinalizer(FINALIZER));
        client.namespaces().withName(ns).delete();
        // the namespace controller's part (none runs in the middle tier): deleting what the namespace holds
        client.resources(Checkpoint.class).inNamespace(ns).withName("pre-deploy-1").delete();
        Checkpoint c = await("pre-deploy-1", x -> x.getStatus().cleanup != null && x.getStatus().cleanup.retryAt != null);
        Condition condition = Conditions.find(c.getStatus().conditions, CheckpointStatus.OBJECTS_DELETED);
        assertEquals("CleanupBlocked", condition.getReason());
        assertTrue(condition.getMessage().contains("is being deleted") && condition.getMessage().contains("pgcheckpoint delete --store s3://")
                && condition.getMessage().contains("--tag pre-deploy-1"), condition.getMessage());
        assertTrue(c.hasFinalizer(FINALIZER), "never dropped silently");
        client.resources(Checkpoint.class).inNamespace(ns).withName("pre-deploy-1")
                .edit(x -> { x.removeFinalizer(FINALIZER); return x; });
    }

    @Test
    void theLockDateIsReadFromTheErrorWhenTheResultCarriesNone() {
        database("prod", true, spec -> spec.deletionPolicy = DeletionPolicy.Delete);
        String first = proveThenDelete("pre-deploy-1");
        // exactly what the CLI's delete prints for a locked checkpoint: a CommandError, no DeleteResult fields
        finish(first, false, Json.compact(io.pgcheckpoint.engine.CommandError.of("store.locked", "checkpoint 'pre-deploy-1' in "
                + "s3://checkpoints/prod/x/prod is under Object Lock until 2099-02-03T04:05:06Z: nothing was deleted; it can be "
                + "deleted after that date (retention and locks never fight: retry then)")));
        Checkpoint c = await("pre-deploy-1", x -> x.getStatus().cleanup.retryAt != null);
        assertEquals("2099-02-03T04:05:07Z", c.getStatus().cleanup.retryAt);
        assertEquals("ObjectsLocked", Conditions.find(c.getStatus().conditions, CheckpointStatus.OBJECTS_DELETED).getReason());
        assertTrue(c.hasFinalizer(FINALIZER));
        client.resources(Checkpoint.class).inNamespace(ns).withName("pre-deploy-1")
                .edit(x -> { x.removeFinalizer(FINALIZER); return x; });
    }

    @Test
    void aCleanupJobThatVanishedIsStartedAgain() {
        database("prod", true, spec -> spec.deletionPolicy = DeletionPolicy.Delete);
        String first = proveThenDelete("pre-deploy-1");
        client.batch().v1().jobs().inNamespace(ns).withName(first).delete();
        String second = await("pre-deploy-1", c -> !first.equals(c.getStatus().cleanup.job)).getStatus().cleanup.job;
        assertTrue(second.endsWith("-cleanup-2"), second);
        assertNotNull(get("pre-deploy-1"));
        finish(second, true, Json.compact(new DeleteResult(true, "pre-deploy-1", false, 0, null)));
        awaitGone("pre-deploy-1");
    }

    @Test
    void aCheckpointThatNeverDumpedIsReleasedWithoutTouchingTheBucket() {
        database("prod", true, spec -> spec.deletionPolicy = DeletionPolicy.Delete);
        checkpoint("first", "shared-tag");
        await("first", phase(Phase.Dumping));
        // a second Checkpoint with the same tag fails TagInUse: deleting it must not delete the first's objects
        checkpoint("second", "shared-tag");
        await("second", c -> c.getStatus().phase == Phase.Failed && "TagInUse".equals(c.getStatus().readyReason()));
        awaitMeta("second", c -> c.hasFinalizer(FINALIZER));
        client.resources(Checkpoint.class).inNamespace(ns).withName("second").delete();
        awaitGone("second");
        assertTrue(jobsWithRole("cleanup").isEmpty(), "nothing of its own was written: no delete --tag shared-tag");
    }

    @Test
    void jobEnvCarriesEncryptionLockAndVerifyKeyAndTheSigningKeyOnlyInTheDumpJob() {
        database("prod", true, spec -> {
            spec.store.serverSideEncryption = new DatabaseSpec.EncryptionSpec();
            spec.store.serverSideEncryption.algorithm = "aws:kms";
            spec.store.serverSideEncryption.kmsKeyId = "arn:aws:kms:eu-central-1:111122223333:key/abc";
            spec.store.objectLock = new DatabaseSpec.ObjectLockSpec();
            spec.store.objectLock.mode = DatabaseSpec.ObjectLockSpec.Mode.COMPLIANCE;
            spec.store.objectLock.retainDays = 7;
            spec.signing = signing();
        });
        checkpoint("pre-deploy-1", "pre-deploy-1");
        Job dump = job(dumpJobOf("pre-deploy-1"));
        var dumpPod = dump.getSpec().getTemplate().getSpec();
        var main = dumpPod.getContainers().get(0);
        assertEquals("aws:kms", env(main.getEnv(), "PGCHECKPOINT_SSE"));
        assertEquals("arn:aws:kms:eu-central-1:111122223333:key/abc", env(main.getEnv(), "PGCHECKPOINT_SSE_KMS_KEY_ID"));
        assertEquals("COMPLIANCE", env(main.getEnv(), "PGCHECKPOINT_OBJECT_LOCK_MODE"));
        assertEquals("7", env(main.getEnv(), "PGCHECKPOINT_OBJECT_LOCK_DAYS"));
        int at = main.getArgs().indexOf("--signing-key");
        assertTrue(at > 0, main.getArgs().toString());
        String keyFile = main.getArgs().get(at + 1);
        var volume = dumpPod.getVolumes().stream().filter(v -> v.getSecret() != null).findFirst().orElseThrow();
        assertEquals("prod-signing", volume.getSecret().getSecretName());
        assertEquals("private.pem", volume.getSecret().getItems().get(0).getKey());
        var mount = main.getVolumeMounts().stream().filter(m -> m.getName().equals(volume.getName())).findFirst().orElseThrow();
        assertTrue(mount.getReadOnly());
        assertEquals(keyFile, mount.getMountPath() + "/" + volume.getSecret().getItems().get(0).getPath());
        assertTrue(main.getEnv().stream().noneMatch(e -> e.getValueFrom() != null && e.getValueFrom().getSecretKeyRef() != null
                && "prod-signing".equals(e.getValueFrom().getSecretKeyRef().getName())), "the private key is never in an env var");

        // the seal reports its lock: the status shows it
        String sealed = JobSimulator.sealedResult("pre-deploy-1");
        finish(dump.getMetadata().getName(), true, sealed.substring(0, sealed.length() - 1)
                + ",\"retainUntil\":\"2026-12-03T10:00:00Z\",\"lockMode\":\"COMPLIANCE\",\"signed\":true}");
        Checkpoint c = await("pre-deploy-1", phase(Phase.Drilling));
        assertEquals("2026-12-03T10:00:00Z", c.getStatus().retainUntil);
        assertEquals("COMPLIANCE", c.getStatus().lockMode);

        Job drill = job(c.getStatus().drillJob);
        var drillMain = drill.getSpec().getTemplate().getSpec().getContainers().get(0);
        assertEquals(PUBLIC_KEY, env(drillMain.getEnv(), "PGCHECKPOINT_VERIFY_KEY"));
        assertEquals("aws:kms", env(drillMain.getEnv(), "PGCHECKPOINT_SSE"), "drill.json is encrypted as the rest");
        assertNull(env(drillMain.getEnv(), "PGCHECKPOINT_OBJECT_LOCK_MODE"));
        assertFalse(Json.compact(drill).contains("prod-signing"), "the signing key is for the dump Job only");
        assertFalse(drillMain.getArgs().contains("--signing-key"));
    }

    @Test
    void aMissingSigningSecretFailsTheCheckpointWithSecretMissing() {
        database("prod", true, spec -> spec.signing = signing());
        checkpoint("pre-deploy-1", "pre-deploy-1");
        Job dump = job(dumpJobOf("pre-deploy-1"));
        Pod pod = JobSimulator.createPod(client, dump);
        String now = Instant.now().truncatedTo(java.time.temporal.ChronoUnit.SECONDS).toString();
        // the kubelet's words when a Secret volume's Secret does not exist
        client.v1().events().inNamespace(ns).resource(new EventBuilder()
                .withNewMetadata().withName(pod.getMetadata().getName() + ".failedmount").withNamespace(ns).endMetadata()
                .withNewInvolvedObject().withApiVersion("v1").withKind("Pod").withName(pod.getMetadata().getName()).withNamespace(ns)
                .withUid(pod.getMetadata().getUid()).endInvolvedObject()
                .withType("Warning").withReason("FailedMount")
                .withMessage("MountVolume.SetUp failed for volume \"signing-key\" : secret \"prod-signing\" not found")
                .withFirstTimestamp(now).withLastTimestamp(now).withCount(1)
                .withNewSource().withComponent("kubelet").endSource().build()).create();
        Checkpoint c = await("pre-deploy-1", phase(Phase.Failed));
        assertEquals("SecretMissing", c.getStatus().readyReason());
        assertTrue(c.getStatus().message.contains("Secret 'prod-signing' (the signing key of Database 'prod'"), c.getStatus().message);
    }

    @Test
    void pruneJobResultDeletesTheRemovedTagsCheckpointsAndProtectsRunningOnes() {
        serviceAccount("pruner");
        database("prod", true, spec -> {
            spec.deletionPolicy = DeletionPolicy.Delete;
            spec.cleanupServiceAccountName = "pruner";
            spec.retention = new DatabaseSpec.RetentionSpec();
            spec.retention.keepLast = 1;
            spec.retention.maxAge = "30d";
            spec.signing = signing();
        });
        checkpoint("old-1", "old-1");
        checkpoint("running-2", "running-2");
        await("running-2", phase(Phase.Dumping));
        prove("old-1");
        awaitMeta("old-1", c -> c.hasFinalizer(FINALIZER));

        Database db = client.resources(Database.class).inNamespace(ns).withName("prod")
                .waitUntilCondition(d -> d.getStatus() != null && d.getStatus().retention != null
                        && d.getStatus().retention.pruneJob != null, 30, TimeUnit.SECONDS);
        String name = db.getStatus().retention.pruneJob;
        Job prune = job(name);
        var pod = prune.getSpec().getTemplate().getSpec();
        var main = pod.getContainers().get(0);
        assertEquals(List.of("prune", "--output", "json", "--keep-last", "1", "--max-age", "30d", "--protect", "running-2"),
                main.getArgs(), "the Checkpoint still dumping is protected; the Proven one is not");
        assertEquals("pruner", pod.getServiceAccountName());
        assertEquals("Database", prune.getMetadata().getOwnerReferences().get(0).getKind());
        assertEquals(PUBLIC_KEY, env(main.getEnv(), "PGCHECKPOINT_VERIFY_KEY"));
        assertFalse(Json.compact(prune).contains("prod-signing"));

        finish(name, true, Json.compact(new PruneResult(true, false,
                List.of(new PruneResult.Removed("old-1", Instant.parse("2026-10-01T00:00:00Z"))),
                List.of(new PruneResult.Kept("running-2", "protected", null),
                        new PruneResult.Kept("locked-0", "locked", Instant.parse("2099-01-01T00:00:00Z"))),
                List.of())));

        awaitGone("old-1");
        assertTrue(jobsWithRole("cleanup").isEmpty(), "the prune removed the objects: no second cleanup");
        assertNotNull(get("running-2"), "a protected Checkpoint stays");
        db = client.resources(Database.class).inNamespace(ns).withName("prod")
                .waitUntilCondition(d -> d.getStatus().retention.pruneJob == null, 30, TimeUnit.SECONDS);
        assertEquals(List.of("old-1"), db.getStatus().retention.removed);
        assertEquals("2099-01-01T00:00:01Z", db.getStatus().retention.lockedUntil);
        assertNotNull(db.getStatus().retention.lastPruneTime);
        List<String> pruned = eventually(() -> eventMessages("prod", "Pruned"), m -> !m.isEmpty());
        assertEquals(1, pruned.size(), pruned.toString());
        assertTrue(pruned.get(0).contains("removed 1 checkpoint(s) (old-1") && pruned.get(0).contains("1 locked")
                && pruned.get(0).contains("2099-01-01T00:00:00Z"), pruned.get(0));
        assertTrue(eventMessages("old-1", "ObjectsDeleted").stream().anyMatch(m -> m.contains("prune Job " + name)));
        String labels = "{database=\"prod\",namespace=\"" + ns + "\"} ";
        String scrape = eventually(registry::scrape, s -> !Double.isNaN(ReconcilerTest.sample(s, "pgcheckpoint_checkpoints_pruned_total" + labels)));
        assertEquals(1.0, ReconcilerTest.sample(scrape, "pgcheckpoint_checkpoints_pruned_total" + labels), scrape);

        // within the hour, another Proven checkpoint does not start another prune
        finish(dumpJobOf("running-2"), true, JobSimulator.sealedResult("running-2"));
        finish(drillJobOf("running-2"), true, JobSimulator.provenResult("running-2"));
        await("running-2", phase(Phase.Proven));
        assertEquals(1, jobsWithRole("prune").size(), "at most one prune an hour");
    }

    @Test
    void theApiServerRefusesInvalidLockEncryptionRetentionPolicyAndKeys() {
        String base = "apiVersion: pgcheckpoint.io/v1alpha1\nkind: Database\nmetadata: {name: bad}\nspec:\n"
                + "  connection: {secretName: c, key: uri}\n";
        Map<String, String> cases = new LinkedHashMap<>();
        cases.put("  store: {bucket: checkpoints, objectLock: {mode: FOREVER, retainDays: 7}}\n", "spec.store.objectLock.mode");
        cases.put("  store: {bucket: checkpoints, objectLock: {mode: COMPLIANCE, retainDays: 0}}\n", "spec.store.objectLock.retainDays");
        cases.put("  store: {bucket: checkpoints, objectLock: {mode: COMPLIANCE}}\n", "retainDays");
        cases.put("  store: {bucket: checkpoints, serverSideEncryption: {algorithm: DES}}\n", "spec.store.serverSideEncryption.algorithm");
        cases.put("  store: {bucket: checkpoints, serverSideEncryption: {algorithm: AES256, kmsKeyId: k}}\n",
                "kmsKeyId needs algorithm aws:kms");
        cases.put("  store: {bucket: checkpoints}\n  retention: {}\n", "retention needs keepLast, maxAge or both");
        cases.put("  store: {bucket: checkpoints}\n  retention: {keepLast: 0}\n", "spec.retention.keepLast");
        cases.put("  store: {bucket: checkpoints}\n  retention: {maxAge: 30 days}\n", "spec.retention.maxAge");
        cases.put("  store: {bucket: checkpoints}\n  deletionPolicy: Destroy\n", "spec.deletionPolicy");
        cases.put("  store: {bucket: checkpoints}\n  signing: {publicKey: not-a-key}\n", "publicKey must be a PEM Ed25519 public key");
        cases.put("  store: {bucket: checkpoints}\n  signing: {privateKeySecret: {name: s}}\n", "key");
        for (var e : cases.entrySet()) {
            var r = io.fabric8.kubernetes.client.utils.Serialization.unmarshal(base + e.getKey(),
                    io.fabric8.kubernetes.api.model.GenericKubernetesResource.class);
            r.getMetadata().setNamespace(ns);
            var error = org.junit.jupiter.api.Assertions.assertThrows(io.fabric8.kubernetes.client.KubernetesClientException.class,
                    () -> client.resource(r).dryRun().create(), e.getKey());
            assertTrue(error.getMessage().contains(e.getValue()), e.getKey() + " -> " + error.getMessage());
        }
        var checkpoint = io.fabric8.kubernetes.client.utils.Serialization.unmarshal("apiVersion: pgcheckpoint.io/v1alpha1\n"
                + "kind: Checkpoint\nmetadata: {name: bad}\nspec: {database: prod, deletionPolicy: Sometimes}\n",
                io.fabric8.kubernetes.api.model.GenericKubernetesResource.class);
        checkpoint.getMetadata().setNamespace(ns);
        var error = org.junit.jupiter.api.Assertions.assertThrows(io.fabric8.kubernetes.client.KubernetesClientException.class,
                () -> client.resource(checkpoint).dryRun().create());
        assertTrue(error.getMessage().contains("spec.deletionPolicy"), error.getMessage());
        // and a valid one is accepted; no default is filled in (an older operator reads Databases that set no new field)
        var ok = io.fabric8.kubernetes.client.utils.Serialization.unmarshal(base
                + "  store: {bucket: checkpoints, objectLock: {mode: GOVERNANCE, retainDays: 1},"
                + " serverSideEncryption: {algorithm: 'aws:kms', kmsKeyId: k}}\n  retention: {maxAge: 720h}\n"
                + "  signing: {privateKeySecret: {name: s, key: private.pem}, publicKey: '" + PUBLIC_KEY.replace("\n", "\\n") + "'}\n",
                io.fabric8.kubernetes.api.model.GenericKubernetesResource.class);
        ok.getMetadata().setNamespace(ns);
        var created = client.resource(ok).dryRun().create();
        assertFalse(((Map<?, ?>) created.getAdditionalProperties().get("spec")).containsKey("deletionPolicy"));
    }

    // --- helpers

    DatabaseSpec.SigningSpec signing() {
        DatabaseSpec.SigningSpec s = new DatabaseSpec.SigningSpec();
        s.privateKeySecret = new DatabaseSpec.SecretKey();
        s.privateKeySecret.name = "prod-signing";
        s.privateKeySecret.key = "private.pem";
        s.publicKey = PUBLIC_KEY;
        return s;
    }

    void serviceAccount(String name) {
        client.serviceAccounts().inNamespace(ns).resource(new ServiceAccountBuilder().withNewMetadata().withName(name).endMetadata()
                .build()).create();
    }

    /** A proven checkpoint under the Delete policy, then deleted: returns the name of its cleanup Job. */
    private String proveThenDelete(String name) {
        checkpoint(name, name);
        prove(name);
        awaitMeta(name, c -> c.hasFinalizer(FINALIZER));
        client.resources(Checkpoint.class).inNamespace(ns).withName(name).delete();
        return await(name, c -> c.getStatus().cleanup != null && c.getStatus().cleanup.job != null).getStatus().cleanup.job;
    }

    void checkpoint(String name, String tag, Consumer<Checkpoint> customize) {
        checkpoint(name, tag, "prod", customize);
    }

    void checkpoint(String name, String tag, String database, Consumer<Checkpoint> customize) {
        Checkpoint c = new Checkpoint();
        c.setMetadata(new io.fabric8.kubernetes.api.model.ObjectMetaBuilder().withName(name).withNamespace(ns).build());
        c.setSpec(new io.pgcheckpoint.api.CheckpointSpec());
        c.getSpec().database = database;
        c.getSpec().tag = tag;
        customize.accept(c);
        client.resource(c).create();
    }

    void prove(String name) {
        finish(dumpJobOf(name), true, JobSimulator.sealedResult(get(name).tag()));
        await(name, phase(Phase.Drilling));
        finish(drillJobOf(name), true, JobSimulator.provenResult(get(name).tag()));
        await(name, phase(Phase.Proven));
    }

    Checkpoint get(String name) {
        return client.resources(Checkpoint.class).inNamespace(ns).withName(name).get();
    }

    Checkpoint awaitMeta(String name, java.util.function.Predicate<Checkpoint> condition) {
        return client.resources(Checkpoint.class).inNamespace(ns).withName(name)
                .waitUntilCondition(c -> c != null && condition.test(c), 30, TimeUnit.SECONDS);
    }

    void awaitGone(String name) {
        client.resources(Checkpoint.class).inNamespace(ns).withName(name).waitUntilCondition(Objects::isNull, 30, TimeUnit.SECONDS);
    }

    List<Job> jobsWithRole(String role) {
        return client.batch().v1().jobs().inNamespace(ns).withLabel(Labels.ROLE, role).list().getItems();
    }

    List<String> eventMessages(String object, String reason) {
        return client.v1().events().inNamespace(ns).list().getItems().stream()
                .filter(e -> object.equals(e.getInvolvedObject().getName()) && reason.equals(e.getReason()))
                .map(Event::getMessage).toList();
    }

    static String env(List<EnvVar> env, String name) {
        return env.stream().filter(e -> e.getName().equals(name)).map(EnvVar::getValue).findFirst().orElse(null);
    }
}
