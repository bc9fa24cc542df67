package io.pgcheckpoint.controller;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.fabric8.kubeapitest.KubeAPIServer;
import io.fabric8.kubernetes.api.model.EnvVar;
import io.fabric8.kubernetes.api.model.NamespaceBuilder;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.SecretBuilder;
import io.fabric8.kubernetes.api.model.ServiceAccountBuilder;
import io.fabric8.kubernetes.api.model.batch.v1.Job;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.javaoperatorsdk.operator.Operator;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.pgcheckpoint.api.Checkpoint;
import io.pgcheckpoint.api.Conditions;
import io.pgcheckpoint.api.CheckpointSpec;
import io.pgcheckpoint.api.CheckpointStatus.Phase;
import io.pgcheckpoint.api.Database;
import io.pgcheckpoint.api.DatabaseSpec;
import io.pgcheckpoint.api.Restore;
import io.pgcheckpoint.api.RestoreSpec;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Middle tier: the Checkpoint and Restore flows (see {@link MiddleTier}). */
class ReconcilerTest extends MiddleTier {
    static final String SEALED = JobSimulator.sealedResult("pre-deploy-1");
    static final String PROVEN = JobSimulator.provenResult("pre-deploy-1");

    @Test
    void checkpointGoesFromDumpingThroughSealedToProven() {
        database("prod", true);
        checkpoint("pre-deploy-1", "pre-deploy-1");
        Checkpoint c = await("pre-deploy-1", phase(Phase.Dumping));
        assertEquals(JobNames.dump(c), c.getStatus().dumpJob);
        assertTrue(c.getStatus().message.startsWith("pg_dump is streaming the archive to "), c.getStatus().message);

        Job dump = job(c.getStatus().dumpJob);
        var pod = dump.getSpec().getTemplate().getSpec();
        var main = pod.getContainers().get(0);
        // the seal stops itself 30 s before the Job's default 3600 s deadline
        // no spec.dump.compression: the seal's own default for its pg_dump
        assertEquals(List.of("seal", "--tag", "pre-deploy-1", "--output", "json", "--timeout", "3570s",
                "--lock-wait-timeout", "30s", "--commit", "4f3a9c1"), main.getArgs());
        assertEquals(new io.fabric8.kubernetes.api.model.Quantity("512Mi"), tmpLimit(dump), "one stream: /tmp holds only scratch files");
        assertTrue(main.getSecurityContext().getRunAsNonRoot() && main.getSecurityContext().getReadOnlyRootFilesystem());
        assertEquals("Checkpoint", dump.getMetadata().getOwnerReferences().get(0).getKind());
        assertEquals(0, dump.getSpec().getBackoffLimit());
        assertNotNull(dump.getSpec().getTtlSecondsAfterFinished());
        EnvVar uri = main.getEnv().stream().filter(e -> e.getName().equals("PGCHECKPOINT_DB_URI")).findFirst().orElseThrow();
        assertEquals("prod-conn", uri.getValueFrom().getSecretKeyRef().getName());
        assertTrue(main.getEnv().stream().noneMatch(e -> e.getValue() != null && e.getValue().contains("secret")),
                "no secret value is copied into the Job");
        assertEquals("s3://checkpoints/prod/" + ns + "/prod", main.getEnv().stream()
                .filter(e -> e.getName().equals("PGCHECKPOINT_STORE")).findFirst().orElseThrow().getValue());

        finish(dumpJobOf("pre-deploy-1"), true, SEALED);
        c = await("pre-deploy-1", phase(Phase.Drilling));
        assertTrue(Conditions.isTrue(c.getStatus().conditions, "Sealed"));
        assertEquals("412.3 MB", c.getStatus().archive.size);
        assertEquals(12, c.getStatus().ledger.tables);

        Job drill = job(drillJobOf("pre-deploy-1"));
        var sidecar = drill.getSpec().getTemplate().getSpec().getInitContainers().get(0);
        assertEquals("Always", sidecar.getRestartPolicy(), "the throwaway server is a native sidecar");
        assertEquals("localhost/postgres:15", sidecar.getImage(), "the operator's postgres:{major} for a 15.8 source");
        assertEquals(15, c.getStatus().archive.serverMajor);
        assertEquals("localhost/postgres:15", c.getStatus().drill.image);
        assertTrue(drill.getSpec().getTemplate().getSpec().getContainers().get(0).getArgs().contains("--target"));

        finish(drillJobOf("pre-deploy-1"), true, PROVEN);
        c = await("pre-deploy-1", phase(Phase.Proven));
        assertTrue(Conditions.isTrue(c.getStatus().conditions, "Proven"));
        assertTrue(Conditions.isTrue(c.getStatus().conditions, "Ready"));
        assertEquals(c.getMetadata().getGeneration(), Conditions.find(c.getStatus().conditions, "Proven").getObservedGeneration());
        assertEquals(12, c.getStatus().drill.tablesChecked);
        Set<String> expected = Set.of("Dumping", "Sealed", "Drilling", "Proven");
        Set<String> reasons = eventually(() -> Set.copyOf(client.v1().events().inNamespace(ns).list().getItems().stream()
                .filter(e -> e.getInvolvedObject().getName().equals("pre-deploy-1")).map(e -> e.getReason()).toList()),
                r -> r.containsAll(expected));
        assertTrue(reasons.containsAll(expected), reasons.toString());
        String metrics = registry.scrape();
        assertTrue(metrics.contains("pgcheckpoint_checkpoints{phase=\"Proven\"} 1.0"), metrics);
        assertTrue(metrics.contains("pgcheckpoint_archive_bytes_count"), metrics);
        // what the chart's alerts read: the Database from the informer cache, its newest Proven checkpoint
        String labels = "{database=\"prod\",namespace=\"" + ns + "\"} ";
        assertEquals(java.time.Instant.parse(c.getStatus().finishedAt).getEpochSecond(),
                sample(metrics, "pgcheckpoint_last_proven_timestamp_seconds" + labels), 0.001, metrics);
        Database db = client.resources(Database.class).inNamespace(ns).withName("prod").get();
        assertEquals(java.time.Instant.parse(db.getMetadata().getCreationTimestamp()).getEpochSecond(),
                sample(metrics, "pgcheckpoint_database_created_timestamp_seconds" + labels), 0.001, metrics);
        assertEquals(0.0, sample(metrics, "pgcheckpoint_oldest_unfinished_checkpoint_age_seconds{phase=\"Drilling\"} "), metrics);
    }

    /** The value of the sample whose line starts with nameAndLabels (ending in a space), or NaN. */
    static double sample(String scrape, String nameAndLabels) {
        return scrape.lines().filter(l -> l.startsWith(nameAndLabels)).mapToDouble(l -> Double.parseDouble(l.substring(nameAndLabels.length())))
                .findFirst().orElse(Double.NaN);
    }

    @Test
    void createWaitExitsZeroWhenProvenOneWhenFailedTwoOnTimeout() throws Exception {
        java.nio.file.Path kubeconfig = java.nio.file.Files.createTempFile("kubeconfig", ".yaml");
        java.nio.file.Files.writeString(kubeconfig, server.getKubeConfigYaml());
        System.setProperty("kubeconfig", kubeconfig.toString());
        try {
            database("prod", true);
            assertEquals(2, io.pgcheckpoint.cli.Main.execute("create", "-n", ns, "--database", "prod", "--tag", "slow-1",
                    "--wait", "--timeout", "3s", "-q"), "a dump that does not finish in time: exit 2");

            var failing = java.util.concurrent.CompletableFuture.runAsync(() -> {
                await("fail-1", phase(Phase.Dumping));
                finish(dumpJobOf("fail-1"), false, "{\"ok\":false,\"error\":\"connection.refused\",\"message\":\"connection refused\"}");
            });
            assertEquals(1, io.pgcheckpoint.cli.Main.execute("create", "-n", ns, "--database", "prod", "--tag", "fail-1",
                    "--wait", "--timeout", "60s", "-q"), "Failed: exit 1");
            failing.join();

            var proving = java.util.concurrent.CompletableFuture.runAsync(() -> {
                await("ok-1", phase(Phase.Dumping));
                finish(dumpJobOf("ok-1"), true, JobSimulator.sealedResult("ok-1"));
                await("ok-1", phase(Phase.Drilling));
                finish(drillJobOf("ok-1"), true, JobSimulator.provenResult("ok-1"));
            });
            assertEquals(0, io.pgcheckpoint.cli.Main.execute("create", "-n", ns, "--database", "prod", "--tag", "ok-1",
                    "--wait", "--timeout", "60s", "-q"), "Proven: exit 0");
            proving.join();
        } finally {
            System.clearProperty("kubeconfig");
        }
    }

    @Test
    void createSkipsAMissingDatabaseOnlyWhenAskedAsTheHelmHookDoesOnFirstInstall() throws Exception {
        java.nio.file.Path kubeconfig = java.nio.file.Files.createTempFile("kubeconfig", ".yaml");
        java.nio.file.Files.writeString(kubeconfig, server.getKubeConfigYaml());
        System.setProperty("kubeconfig", kubeconfig.toString());
        try {
            assertEquals(0, io.pgcheckpoint.cli.Main.execute("create", "-n", ns, "--database", "created-by-this-release",
                    "--tag", "first-install", "--skip-if-database-missing", "--wait", "--timeout", "60s", "-q"));
            assertNull(client.resources(Checkpoint.class).inNamespace(ns).withName("first-install").get(), "nothing created");
            assertEquals(2, io.pgcheckpoint.cli.Main.execute("create", "-n", ns, "--database", "created-by-this-release",
                    "--tag", "upgrade", "--wait", "--timeout", "3s", "-q"), "without the flag a missing Database is waited for");
        } finally {
            System.clearProperty("kubeconfig");
        }
    }

    @Test
    void failedDumpEndsFailedWithTheEnginesReason() {
        database("prod", true);
        checkpoint("pre-deploy-1", "pre-deploy-1");
        await("pre-deploy-1", phase(Phase.Dumping));
        finish(dumpJobOf("pre-deploy-1"), false, "{\"ok\":false,\"error\":\"connection.auth\",\"message\":\"authentication failed for user 'app'\"}");
        Checkpoint c = await("pre-deploy-1", phase(Phase.Failed));
        assertEquals("ConnectionAuth", Conditions.find(c.getStatus().conditions, "Ready").getReason());
        assertTrue(c.getStatus().message.contains("authentication failed for user 'app'"), c.getStatus().message);
        assertFalse(Conditions.isTrue(c.getStatus().conditions, "Proven"));
        assertNull(c.getStatus().drillJob, "no drill after a failed dump");
    }

    @Test
    void drillMismatchIsNeverProven() {
        database("prod", true);
        checkpoint("pre-deploy-1", "pre-deploy-1");
        await("pre-deploy-1", phase(Phase.Dumping));
        finish(dumpJobOf("pre-deploy-1"), true, SEALED);
        await("pre-deploy-1", phase(Phase.Drilling));
        finish(drillJobOf("pre-deploy-1"), false, "{\"ok\":false,\"tag\":\"pre-deploy-1\",\"restoreDrill\":\"failed\",\"tablesChecked\":12,"
                + "\"rowsChecked\":999,\"mismatchCount\":1,\"mismatches\":[\"public.orders: expected 1001 rows, found 1000\"]}");
        Checkpoint c = await("pre-deploy-1", phase(Phase.Failed));
        assertTrue(c.getStatus().message.contains("public.orders: expected 1001 rows, found 1000"), c.getStatus().message);
        assertTrue(Conditions.isTrue(c.getStatus().conditions, "Sealed"));
        assertFalse(Conditions.isTrue(c.getStatus().conditions, "Proven"));
    }

    @Test
    void restartedOperatorResumesWithoutASecondDump() {
        database("prod", true);
        checkpoint("pre-deploy-1", "pre-deploy-1");
        await("pre-deploy-1", phase(Phase.Dumping));
        String uid = job(dumpJobOf("pre-deploy-1")).getMetadata().getUid();
        operator.stop();
        startOperator();
        finish(dumpJobOf("pre-deploy-1"), true, SEALED);
        await("pre-deploy-1", phase(Phase.Drilling));
        assertEquals(uid, job(dumpJobOf("pre-deploy-1")).getMetadata().getUid(), "the same dump Job, never a second one");
        assertEquals(2, client.batch().v1().jobs().inNamespace(ns).list().getItems().size());
        operator.stop();
        startOperator();
        finish(drillJobOf("pre-deploy-1"), true, PROVEN);
        await("pre-deploy-1", phase(Phase.Proven));
    }

    @Test
    void deletedJobEndsFailed() {
        database("prod", true);
        checkpoint("pre-deploy-1", "pre-deploy-1");
        await("pre-deploy-1", phase(Phase.Dumping));
        client.batch().v1().jobs().inNamespace(ns).withName(dumpJobOf("pre-deploy-1")).delete();
        Checkpoint c = await("pre-deploy-1", phase(Phase.Failed));
        assertEquals("JobDeleted", Conditions.find(c.getStatus().conditions, "Ready").getReason());
    }

    @Test
    void reusedTagFailsWithoutTouchingTheFirst() {
        database("prod", true);
        checkpoint("first", "pre-deploy-1");
        await("first", phase(Phase.Dumping));
        checkpoint("second", "pre-deploy-1");
        Checkpoint second = await("second", phase(Phase.Failed));
        assertEquals("TagInUse", Conditions.find(second.getStatus().conditions, "Ready").getReason());
        assertNull(second.getStatus().dumpJob);
        assertEquals(1, client.batch().v1().jobs().inNamespace(ns).list().getItems().size());
        assertEquals(Phase.Dumping, client.resources(Checkpoint.class).inNamespace(ns).withName("first").get().getStatus().phase);
    }

    @Test
    void checkpointWaitsForItsDatabaseWhichNeverLooksAtItsSecrets() {
        checkpoint("early", "early");
        Checkpoint c = await("early", x -> x.getStatus().message != null && x.getStatus().message.contains("does not exist"));
        assertEquals(Phase.Pending, c.getStatus().phase);
        assertEquals("DatabaseNotFound", c.getStatus().readyReason());
        // no Secrets at all: the operator cannot tell (it may not read any); the Job's pod will
        database("prod", false);
        Database db = client.resources(Database.class).inNamespace(ns).withName("prod")
                .waitUntilCondition(d -> d.getStatus() != null && d.getStatus().message != null, 30, TimeUnit.SECONDS);
        assertTrue(Conditions.isTrue(db.getStatus().conditions, "Ready"));
        assertTrue(db.getStatus().message.contains("Secret 'prod-conn' (key 'uri') and Secret 'prod-s3'"), db.getStatus().message);
        assertEquals("s3://checkpoints/prod/" + ns + "/prod", db.getStatus().storeUri);
        await("early", phase(Phase.Dumping));
    }

    @Test
    void apiServerEnforcesTheSchemaAndCelRules() {
        database("prod", true);
        checkpoint("pre-deploy-1", "pre-deploy-1");
        KubernetesClientException immutable = assertThrows(KubernetesClientException.class, () ->
                client.resources(Checkpoint.class).inNamespace(ns).withName("pre-deploy-1").patch(
                        io.fabric8.kubernetes.client.dsl.base.PatchContext.of(io.fabric8.kubernetes.client.dsl.base.PatchType.JSON_MERGE),
                        "{\"spec\":{\"tag\":\"other\"}}"));
        assertTrue(immutable.getMessage().contains("spec.tag is immutable"), immutable.getMessage());

        Restore r = new Restore();
        r.setMetadata(new ObjectMetaBuilder().withName("r1").withNamespace(ns).build());
        RestoreSpec spec = new RestoreSpec();
        spec.checkpoint = "pre-deploy-1";
        spec.tables = List.of("public.orders");
        spec.mode = RestoreSpec.Mode.Replace;
        r.setSpec(spec);
        KubernetesClientException unconfirmed = assertThrows(KubernetesClientException.class, () -> client.resource(r).create());
        assertTrue(unconfirmed.getMessage().contains("spec.confirm"), unconfirmed.getMessage());

        Checkpoint badTag = new Checkpoint();
        badTag.setMetadata(new ObjectMetaBuilder().withName("bad").withNamespace(ns).build());
        badTag.setSpec(new CheckpointSpec());
        badTag.getSpec().database = "prod";
        badTag.getSpec().tag = "../escape";
        assertThrows(KubernetesClientException.class, () -> client.resource(badTag).create());
    }

    /** The drill image follows the source: the Database's template with {major}, and the compression spec is passed on. */
    @Test
    void drillImageTemplateTakesTheSourcesMajorAndCompressionIsPassedOn() {
        database("prod", true);
        Database db = client.resources(Database.class).inNamespace(ns).withName("prod").get();
        db.getSpec().drill = new DatabaseSpec.DrillSpec();
        db.getSpec().drill.image = "registry.example.com/pg/postgres:{major}-bookworm";
        db.getSpec().dump = new DatabaseSpec.DumpSpec();
        db.getSpec().dump.compression = new io.fabric8.kubernetes.api.model.IntOrString("zstd:3");
        db.getMetadata().setManagedFields(null);
        db.getMetadata().setResourceVersion(null);
        client.resource(db).serverSideApply();
        checkpoint("seventeen", "seventeen");
        await("seventeen", phase(Phase.Dumping));
        List<String> args = job(dumpJobOf("seventeen")).getSpec().getTemplate().getSpec().getContainers().get(0).getArgs();
        assertEquals(List.of("--compress", "zstd:3"), args.subList(args.indexOf("--compress"), args.indexOf("--compress") + 2));

        finish(dumpJobOf("seventeen"), true, JobSimulator.sealedResult("seventeen")
                .replace("\"serverVersion\":\"15.8\"", "\"serverVersion\":\"17.6 (Debian 17.6-1)\",\"serverMajor\":17")
                .replace("\"seconds\"", "\"compression\":\"zstd:3\",\"seconds\""));
        Checkpoint c = await("seventeen", phase(Phase.Drilling));
        assertEquals(17, c.getStatus().archive.serverMajor);
        assertEquals("zstd:3", c.getStatus().archive.compression);
        var pod = job(drillJobOf("seventeen")).getSpec().getTemplate().getSpec();
        assertEquals("registry.example.com/pg/postgres:17-bookworm", pod.getInitContainers().get(0).getImage());
        assertEquals("registry.example.com/pg/postgres:17-bookworm", pod.getContainers().get(0).getEnv().stream()
                .filter(e -> e.getName().equals("PGCHECKPOINT_DRILL_SERVER_IMAGE")).findFirst().orElseThrow().getValue(),
                "the drill names the image in its messages");
        assertTrue(c.getStatus().message.contains("registry.example.com/pg/postgres:17-bookworm"), c.getStatus().message);

        // a gzip level as an integer, as before, is still accepted and passed on
        db = client.resources(Database.class).inNamespace(ns).withName("prod").get();
        db.getSpec().dump.compression = new io.fabric8.kubernetes.api.model.IntOrString(1);
        db.getMetadata().setManagedFields(null);
        client.resource(db).update();
        await("seventeen", phase(Phase.Drilling));
    }

    static io.fabric8.kubernetes.api.model.Quantity tmpLimit(Job job) {
        return job.getSpec().getTemplate().getSpec().getVolumes().stream().filter(v -> v.getName().equals("tmp")).findFirst()
                .orElseThrow().getEmptyDir().getSizeLimit();
    }

    @Test
    void parallelDumpsPassJobsAndSizeTmpFromScratchLimitOrTheNewestArchiveOfTheirDatabase() {
        database("prod", true, spec -> {
            spec.dump = new DatabaseSpec.DumpSpec();
            spec.dump.jobs = 4;
        });
        checkpoint("par-1", "par-1");
        assertTrue(await("par-1", phase(Phase.Dumping)).getStatus().message.startsWith("4 pg_dump workers are writing the archive's files"));
        Job first = job(dumpJobOf("par-1"));
        List<String> args = first.getSpec().getTemplate().getSpec().getContainers().get(0).getArgs();
        assertEquals(List.of("--jobs", "4"), args.subList(args.indexOf("--jobs"), args.indexOf("--jobs") + 2), args.toString());
        assertEquals(new io.fabric8.kubernetes.api.model.Quantity("4096Mi"), tmpLimit(first), "no archive of prod known yet");

        finish(dumpJobOf("par-1"), true, JobSimulator.sealedResult("par-1"));
        assertEquals(412_300_000L, await("par-1", phase(Phase.Drilling)).getStatus().archive.bytes);
        checkpoint("par-2", "par-2");
        // 2 x 412300000 bytes + 512Mi, in whole MiB rounded up
        assertEquals(new io.fabric8.kubernetes.api.model.Quantity("1299Mi"), tmpLimit(job(dumpJobOf("par-2"))),
                "twice the newest sealed archive of prod plus scratch");
        // too small after all: the kubelet evicts the pod, and the checkpoint says which field to raise
        JobSimulator.evicted(client, ns, dumpJobOf("par-2"), "Usage of EmptyDir volume \"tmp\" exceeds the limit \"1299Mi\". ",
                "pg_dump: dumping contents of table \"public.orders\"");
        Checkpoint failed = await("par-2", phase(Phase.Failed));
        assertEquals("PodEvicted", Conditions.find(failed.getStatus().conditions, "Ready").getReason());
        assertTrue(failed.getStatus().message.contains("exceeds the limit \"1299Mi\"")
                && failed.getStatus().message.contains("raise the Database's spec.dump.scratchLimit"), failed.getStatus().message);

        // another Database: prod's archives do not size its Jobs; its own scratchLimit does
        database("other", true, spec -> {
            spec.dump = new DatabaseSpec.DumpSpec();
            spec.dump.jobs = 2;
        });
        checkpoint("other-1", "other-1", "other");
        assertEquals(new io.fabric8.kubernetes.api.model.Quantity("4096Mi"), tmpLimit(job(dumpJobOf("other-1"))));
        database("limited", true, spec -> {
            spec.dump = new DatabaseSpec.DumpSpec();
            spec.dump.jobs = 16;
            spec.dump.scratchLimit = new io.fabric8.kubernetes.api.model.Quantity("50Gi");
        });
        checkpoint("limited-1", "limited-1", "limited");
        Job limited = job(dumpJobOf("limited-1"));
        assertEquals(new io.fabric8.kubernetes.api.model.Quantity("50Gi"), tmpLimit(limited));
        assertTrue(limited.getSpec().getTemplate().getSpec().getContainers().get(0).getArgs().containsAll(List.of("--jobs", "16")));
    }

    @Test
    void dumpJobsIsValidatedByTheApiServerAndNotFilledIn() {
        String base = "apiVersion: pgcheckpoint.io/v1alpha1\nkind: Database\nmetadata: {name: jobs}\nspec:\n"
                + "  connection: {secretName: c, key: uri}\n  store: {bucket: checkpoints}\n";
        Map<String, String> refused = Map.of("  dump: {jobs: 0}\n", "should be greater than or equal to 1",
                "  dump: {jobs: 17}\n", "should be less than or equal to 16",
                "  dump: {jobs: two}\n", "spec.dump.jobs");
        for (var e : refused.entrySet()) {
            var r = io.fabric8.kubernetes.client.utils.Serialization.unmarshal(base + e.getKey(),
                    io.fabric8.kubernetes.api.model.GenericKubernetesResource.class);
            r.getMetadata().setNamespace(ns);
            KubernetesClientException error = assertThrows(KubernetesClientException.class, () -> client.resource(r).dryRun().create(),
                    e.getKey());
            assertTrue(error.getMessage().contains("spec.dump.jobs") && error.getMessage().contains(e.getValue()),
                    e.getKey() + " -> " + error.getMessage());
        }
        for (String good : List.of("  dump: {jobs: 1}\n", "  dump: {jobs: 16, scratchLimit: 20Gi}\n", "  dump: {timeoutSeconds: 600}\n")) {
            var r = io.fabric8.kubernetes.client.utils.Serialization.unmarshal(base + good,
                    io.fabric8.kubernetes.api.model.GenericKubernetesResource.class);
            r.getMetadata().setNamespace(ns);
            var created = client.resource(r).dryRun().create();
            Map<?, ?> dump = (Map<?, ?>) ((Map<?, ?>) created.getAdditionalProperties().get("spec")).get("dump");
            if (good.contains("timeoutSeconds")) {
                // no default filled in: an older operator, which does not know the field, still reads this Database
                assertFalse(dump.containsKey("jobs"), dump.toString());
            }
        }
    }

    @Test
    void compressionSpecIsValidatedByTheApiServer() {
        for (Object bad : List.of("brotli", "zstd:23", "gzip:0", 10, -1)) {
            Database db = new Database();
            db.setMetadata(new ObjectMetaBuilder().withName("bad-compression").withNamespace(ns).build());
            DatabaseSpec spec = new DatabaseSpec();
            spec.connection = new DatabaseSpec.Connection();
            spec.connection.secretName = "x";
            spec.store = new DatabaseSpec.StoreSpec();
            spec.store.bucket = "checkpoints";
            spec.dump = new DatabaseSpec.DumpSpec();
            spec.dump.compression = bad instanceof Integer i ? new io.fabric8.kubernetes.api.model.IntOrString(i)
                    : new io.fabric8.kubernetes.api.model.IntOrString((String) bad);
            db.setSpec(spec);
            KubernetesClientException e = assertThrows(KubernetesClientException.class, () -> client.resource(db).dryRun().create(),
                    bad.toString());
            assertTrue(e.getMessage().contains("compression must be auto, none, zstd"), e.getMessage());
        }
        for (Object good : List.of("auto", "zstd", "zstd:19", "lz4:1", "gzip:9", "none", 0, 9)) {
            Database db = new Database();
            db.setMetadata(new ObjectMetaBuilder().withName("good-compression").withNamespace(ns).build());
            DatabaseSpec spec = new DatabaseSpec();
            spec.connection = new DatabaseSpec.Connection();
            spec.connection.secretName = "x";
            spec.store = new DatabaseSpec.StoreSpec();
            spec.store.bucket = "checkpoints";
            spec.dump = new DatabaseSpec.DumpSpec();
            spec.dump.compression = good instanceof Integer i ? new io.fabric8.kubernetes.api.model.IntOrString(i)
                    : new io.fabric8.kubernetes.api.model.IntOrString((String) good);
            db.setSpec(spec);
            client.resource(db).dryRun().create();
        }
    }

    @Test
    void restoreRunsAJobAndReportsRowsAgainstTheLedger() {
        database("prod", true);
        checkpoint("pre-deploy-1", "pre-deploy-1");
        await("pre-deploy-1", phase(Phase.Dumping));
        finish(dumpJobOf("pre-deploy-1"), true, SEALED);
        await("pre-deploy-1", phase(Phase.Drilling));
        finish(drillJobOf("pre-deploy-1"), true, PROVEN);
        await("pre-deploy-1", phase(Phase.Proven));

        Restore r = new Restore();
        r.setMetadata(new ObjectMetaBuilder().withName("orders-back").withNamespace(ns).build());
        RestoreSpec spec = new RestoreSpec();
        spec.checkpoint = "pre-deploy-1";
        spec.tables = List.of("public.orders");
        r.setSpec(spec);
        client.resource(r).create();
        Restore running = client.resources(Restore.class).inNamespace(ns).withName("orders-back").waitUntilCondition(
                x -> x.getStatus() != null && x.getStatus().phase == io.pgcheckpoint.api.RestoreStatus.Phase.Running, 30, TimeUnit.SECONDS);
        Job job = job(running.getStatus().job);
        assertTrue(job.getSpec().getTemplate().getSpec().getContainers().get(0).getArgs()
                .containsAll(List.of("restore", "--tag", "pre-deploy-1", "--mode", "side-by-side", "--table", "public.orders")));
        finish(running.getStatus().job, true, "{\"ok\":true,\"tag\":\"pre-deploy-1\",\"mode\":\"side-by-side\",\"tables\":[{\"table\":\"public.orders\","
                + "\"restoredAs\":\"restored_pre_deploy_1.orders\",\"ledgerRows\":5000,\"restoredRows\":5000,\"matches\":true}]}");
        Restore done = client.resources(Restore.class).inNamespace(ns).withName("orders-back").waitUntilCondition(
                x -> x.getStatus() != null && x.getStatus().phase == io.pgcheckpoint.api.RestoreStatus.Phase.Succeeded, 30, TimeUnit.SECONDS);
        assertEquals(5000L, done.getStatus().tables.get(0).restoredRows);
        assertEquals("restored_pre_deploy_1.orders", done.getStatus().tables.get(0).restoredAs);
        assertNotNull(running.getStatus().job);
    }

    @Test
    void restorePlanRunsTheJobWithPlanAndReportsThePlanWithoutChangingAnything() {
        database("prod", true);
        checkpoint("pre-deploy-1", "pre-deploy-1");
        await("pre-deploy-1", phase(Phase.Dumping));
        finish(dumpJobOf("pre-deploy-1"), true, SEALED);
        await("pre-deploy-1", phase(Phase.Drilling));
        finish(drillJobOf("pre-deploy-1"), true, PROVEN);
        await("pre-deploy-1", phase(Phase.Proven));

        Restore r = new Restore();
        r.setMetadata(new ObjectMetaBuilder().withName("orders-plan").withNamespace(ns).build());
        RestoreSpec spec = new RestoreSpec();
        spec.checkpoint = "pre-deploy-1";
        spec.tables = List.of("public.orders");
        spec.mode = RestoreSpec.Mode.Replace;
        spec.confirm = "pre-deploy-1";
        spec.plan = true;
        r.setSpec(spec);
        client.resource(r).create();
        String planJob = client.resources(Restore.class).inNamespace(ns).withName("orders-plan").waitUntilCondition(
                x -> x.getStatus() != null && x.getStatus().phase == io.pgcheckpoint.api.RestoreStatus.Phase.Running, 30, TimeUnit.SECONDS)
                .getStatus().job;
        List<String> args = job(planJob).getSpec().getTemplate().getSpec().getContainers().get(0).getArgs();
        assertTrue(args.containsAll(List.of("--plan", "--mode", "replace", "--confirm", "pre-deploy-1")), args.toString());
        finish(planJob, true, "{\"ok\":true,\"plan\":true,\"tag\":\"pre-deploy-1\",\"mode\":\"replace\",\"actions\":["
                + "{\"what\":\"empty and refill\",\"object\":\"public.orders\",\"detail\":\"5000 rows\"},"
                + "{\"what\":\"move sequence\",\"object\":\"public.orders_id_seq\",\"detail\":\"next value 1 -> 5001\"}],"
                + "\"warnings\":[\"not restored: view public.big_orders\"],\"blockers\":[]}");
        Restore planned = client.resources(Restore.class).inNamespace(ns).withName("orders-plan").waitUntilCondition(
                x -> x.getStatus() != null && x.getStatus().phase == io.pgcheckpoint.api.RestoreStatus.Phase.Succeeded, 30, TimeUnit.SECONDS);
        assertEquals(List.of("empty and refill public.orders: 5000 rows", "move sequence public.orders_id_seq: next value 1 -> 5001"),
                planned.getStatus().plan);
        assertEquals(List.of("not restored: view public.big_orders"), planned.getStatus().warnings);
        assertTrue(planned.getStatus().message.contains("nothing changed"), planned.getStatus().message);

        Restore blocked = new Restore();
        blocked.setMetadata(new ObjectMetaBuilder().withName("customers-plan").withNamespace(ns).build());
        RestoreSpec blockedSpec = new RestoreSpec();
        blockedSpec.checkpoint = "pre-deploy-1";
        blockedSpec.tables = List.of("public.customers");
        blockedSpec.mode = RestoreSpec.Mode.Replace;
        blockedSpec.confirm = "pre-deploy-1";
        blockedSpec.plan = true;
        blocked.setSpec(blockedSpec);
        client.resource(blocked).create();
        String blockedJob = client.resources(Restore.class).inNamespace(ns).withName("customers-plan").waitUntilCondition(
                x -> x.getStatus() != null && x.getStatus().phase == io.pgcheckpoint.api.RestoreStatus.Phase.Running, 30, TimeUnit.SECONDS)
                .getStatus().job;
        finish(blockedJob, false, "{\"ok\":false,\"plan\":true,\"tag\":\"pre-deploy-1\",\"mode\":\"replace\","
                + "\"error\":\"restore.blocked\",\"message\":\"public.customers cannot be emptied: public.orders references it\","
                + "\"actions\":[],\"warnings\":[],\"blockers\":[\"public.customers cannot be emptied: public.orders references it\"]}");
        Restore refused = client.resources(Restore.class).inNamespace(ns).withName("customers-plan").waitUntilCondition(
                x -> x.getStatus() != null && x.getStatus().phase == io.pgcheckpoint.api.RestoreStatus.Phase.Failed, 30, TimeUnit.SECONDS);
        assertTrue(refused.getStatus().message.contains("would be refused") && refused.getStatus().message.contains("public.orders"),
                refused.getStatus().message);
    }
}
