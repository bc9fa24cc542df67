package io.pgcheckpoint.controller;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.EnvVar;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.fabric8.kubernetes.api.model.PodSpec;
import io.fabric8.kubernetes.api.model.Quantity;
import io.fabric8.kubernetes.api.model.Volume;
import io.fabric8.kubernetes.api.model.batch.v1.Job;
import io.pgcheckpoint.api.Checkpoint;
import io.pgcheckpoint.api.CheckpointSpec;
import io.pgcheckpoint.api.CheckpointStatus;
import io.pgcheckpoint.api.Database;
import io.pgcheckpoint.api.DatabaseSpec;
import io.pgcheckpoint.api.Restore;
import io.pgcheckpoint.api.RestoreSpec;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/** The Jobs' manifests, without an API server: every field the security review asked for. */
class JobFactoryTest {
    static final JobFactory FACTORY = new JobFactory("registry.example/pgcheckpoint:1", "postgres:15");
    static final Pattern DNS_LABEL = Pattern.compile("[a-z0-9]([-a-z0-9]*[a-z0-9])?");
    static final Pattern LABEL_VALUE = Pattern.compile("([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]");

    static Database database(String name) {
        Database db = new Database();
        db.setMetadata(new ObjectMetaBuilder().withName(name).withNamespace("shop").withUid(UUID.randomUUID().toString()).build());
        DatabaseSpec spec = new DatabaseSpec();
        spec.connection = new DatabaseSpec.Connection();
        spec.connection.secretName = name + "-conn";
        spec.connection.key = "uri";
        spec.store = new DatabaseSpec.StoreSpec();
        spec.store.bucket = "checkpoints";
        spec.store.credentialsSecret = name + "-s3";
        db.setSpec(spec);
        return db;
    }

    static Checkpoint checkpoint(String name, long archiveBytes) {
        Checkpoint c = new Checkpoint();
        c.setMetadata(new ObjectMetaBuilder().withName(name).withNamespace("shop").withUid(UUID.randomUUID().toString()).build());
        c.setSpec(new CheckpointSpec());
        c.getSpec().database = "prod";
        c.setStatus(new CheckpointStatus());
        c.getStatus().archive = new CheckpointStatus.Archive();
        c.getStatus().archive.bytes = archiveBytes;
        c.getStatus().archive.serverVersion = "15.8";
        return c;
    }

    static Restore restore(String target) {
        Restore r = new Restore();
        r.setMetadata(new ObjectMetaBuilder().withName("orders-back").withNamespace("shop").withUid(UUID.randomUUID().toString()).build());
        r.setSpec(new RestoreSpec());
        r.getSpec().checkpoint = "pre-deploy-1";
        r.getSpec().tables = List.of("public.orders");
        r.getSpec().target = target;
        return r;
    }

    static List<Job> allJobs(Database db) {
        Checkpoint c = checkpoint("pre-deploy-1", 3L << 30);
        if (db.getSpec().retention == null) {
            db.getSpec().retention = new DatabaseSpec.RetentionSpec();
            db.getSpec().retention.keepLast = 3;
        }
        return List.of(FACTORY.dump(c, db), FACTORY.drill(c, db), FACTORY.restore(restore(null), c, db, db),
                FACTORY.cleanup(c, db, 12), FACTORY.prune(db, List.of("pre-deploy-2"), 345));
    }

    @Test
    void cleanupAndPruneJobsRunAsTheDatabasesCleanupAccountElseTheChartsElseTheJobsOwn() {
        Database db = database("prod");
        db.getSpec().serviceAccountName = "checkpoint-writer";
        db.getSpec().retention = new DatabaseSpec.RetentionSpec();
        db.getSpec().retention.maxAge = "30d";
        Checkpoint c = checkpoint("pre-deploy-1", 1);
        JobFactory chart = new JobFactory("registry.example/pgcheckpoint:1", "postgres:15", "bucket-pruner");
        assertEquals("checkpoint-writer", FACTORY.cleanup(c, db, 1).getSpec().getTemplate().getSpec().getServiceAccountName());
        assertEquals("bucket-pruner", chart.cleanup(c, db, 1).getSpec().getTemplate().getSpec().getServiceAccountName());
        assertEquals("bucket-pruner", chart.prune(db, List.of(), 1).getSpec().getTemplate().getSpec().getServiceAccountName());
        db.getSpec().cleanupServiceAccountName = "prod-pruner";
        assertEquals("prod-pruner", chart.cleanup(c, db, 1).getSpec().getTemplate().getSpec().getServiceAccountName());
        assertEquals("prod-pruner", FACTORY.prune(db, List.of(), 1).getSpec().getTemplate().getSpec().getServiceAccountName());
        assertEquals("checkpoint-writer", chart.dump(c, db).getSpec().getTemplate().getSpec().getServiceAccountName(),
                "the dump Job never runs as the identity that may delete");
        assertEquals(List.of("prune", "--output", "json", "--max-age", "30d"),
                FACTORY.prune(db, List.of(), 1).getSpec().getTemplate().getSpec().getContainers().get(0).getArgs());
    }

    static Stream<Container> containers(PodSpec pod) {
        return Stream.concat(pod.getInitContainers().stream(), pod.getContainers().stream());
    }

    @Test
    void everyPodMeetsPodSecurityRestrictedWithAReadOnlyRoot() {
        for (Job job : allJobs(database("prod"))) {
            PodSpec pod = job.getSpec().getTemplate().getSpec();
            String what = job.getMetadata().getName();
            assertEquals(Boolean.TRUE, pod.getSecurityContext().getRunAsNonRoot(), what);
            assertEquals("RuntimeDefault", pod.getSecurityContext().getSeccompProfile().getType(), what);
            assertNotNull(pod.getSecurityContext().getFsGroup(), what + ": emptyDirs writable by the containers' group");
            assertFalse(Boolean.TRUE.equals(pod.getHostNetwork()) || Boolean.TRUE.equals(pod.getHostPID()) || Boolean.TRUE.equals(pod.getHostIPC()));
            containers(pod).forEach(c -> {
                var sc = c.getSecurityContext();
                String where = what + "/" + c.getName();
                assertEquals(Boolean.FALSE, sc.getAllowPrivilegeEscalation(), where);
                assertEquals(List.of("ALL"), sc.getCapabilities().getDrop(), where);
                assertTrue(sc.getCapabilities().getAdd() == null || sc.getCapabilities().getAdd().isEmpty(), where);
                assertEquals(Boolean.TRUE, sc.getRunAsNonRoot(), where);
                assertTrue(sc.getRunAsUser() != null && sc.getRunAsUser() > 0, where);
                assertEquals(Boolean.TRUE, sc.getReadOnlyRootFilesystem(), where);
                assertNotEquals(Boolean.TRUE, sc.getPrivileged(), where);
                assertEquals("RuntimeDefault", sc.getSeccompProfile().getType(), where);
            });
            assertTrue(pod.getVolumes().stream().allMatch(v -> v.getEmptyDir() != null), what + ": emptyDirs only");
        }
    }

    @Test
    void everyEmptyDirHasASizeLimitTheDrillsFromTheArchiveOrTheDatabase() {
        Database db = database("prod");
        for (Job job : allJobs(db)) {
            for (Volume v : job.getSpec().getTemplate().getSpec().getVolumes()) {
                assertNotNull(v.getEmptyDir().getSizeLimit(), job.getMetadata().getName() + "/" + v.getName());
            }
        }
        Checkpoint big = checkpoint("big-1", 3L << 30);
        Map<String, Quantity> limits = limits(FACTORY.drill(big, db));
        assertEquals(30L << 30, limits.get("pgdata").getNumericalAmount().longValue(), "ten times the archive");
        assertTrue(limits.get("tmp").getNumericalAmount().longValue() >= 3L << 30, "the archive is downloaded to /tmp");
        assertEquals(1L << 30, limits(FACTORY.drill(checkpoint("small-1", 1000), db)).get("pgdata").getNumericalAmount().longValue(),
                "at least 1Gi");
        db.getSpec().drill = new DatabaseSpec.DrillSpec();
        db.getSpec().drill.storageLimit = new Quantity("200Gi");
        assertEquals(new Quantity("200Gi"), limits(FACTORY.drill(big, db)).get("pgdata"));
        assertTrue(limits(FACTORY.restore(restore(null), big, db, db)).get("tmp").getNumericalAmount().longValue() >= 3L << 30);
    }

    static Map<String, Quantity> limits(Job job) {
        return job.getSpec().getTemplate().getSpec().getVolumes().stream()
                .collect(java.util.stream.Collectors.toMap(Volume::getName, v -> v.getEmptyDir().getSizeLimit()));
    }

    @Test
    void theDrillServerHasNoPasswordAndNoTcpListener() {
        Job drill = FACTORY.drill(checkpoint("pre-deploy-1", 1000), database("prod"));
        PodSpec pod = drill.getSpec().getTemplate().getSpec();
        Container server = pod.getInitContainers().get(0);
        Container main = pod.getContainers().get(0);
        assertEquals("Always", server.getRestartPolicy(), "a native sidecar");
        assertTrue(containers(pod).flatMap(c -> c.getEnv().stream()).noneMatch(e -> e.getName().contains("PASSWORD")),
                "no password anywhere in the pod spec");
        assertTrue(server.getArgs().contains("listen_addresses="), "no TCP listener: " + server.getArgs());
        assertTrue(server.getArgs().contains("unix_socket_directories=" + JobFactory.SOCKET_DIR), server.getArgs().toString());
        String target = main.getArgs().get(main.getArgs().indexOf("--target") + 1);
        assertEquals("postgresql://postgres@/drill?host=" + JobFactory.SOCKET_DIR + "&sslmode=disable", target);
        for (Container c : List.of(server, main)) {
            assertTrue(c.getVolumeMounts().stream().anyMatch(m -> m.getName().equals("pgrun") && m.getMountPath().equals(JobFactory.SOCKET_DIR)),
                    c.getName() + " shares the socket directory");
        }
        assertEquals(JobFactory.POSTGRES_UID, server.getSecurityContext().getRunAsUser(), "the image's postgres user, which initdb needs");
        assertTrue(server.getVolumeMounts().stream().anyMatch(m -> m.getMountPath().equals("/tmp")), "the entrypoint's temporary files");
    }

    @Test
    void credentialsOnlyByReferenceAndATokenOnlyForTheDatabasesServiceAccount() {
        Database db = database("prod");
        for (Job job : allJobs(db)) {
            PodSpec pod = job.getSpec().getTemplate().getSpec();
            assertNull(pod.getServiceAccountName(), "no ServiceAccount named: the namespace's default, without a token");
            assertEquals(Boolean.FALSE, pod.getAutomountServiceAccountToken());
            for (EnvVar e : pod.getContainers().get(0).getEnv()) {
                if (e.getName().startsWith("AWS_ACCESS") || e.getName().startsWith("AWS_SECRET") || e.getName().equals("PGCHECKPOINT_DB_URI")) {
                    assertNotNull(e.getValueFrom().getSecretKeyRef(), e.getName());
                    assertNull(e.getValue(), e.getName());
                }
            }
        }
        db.getSpec().serviceAccountName = "checkpoint-writer";
        for (Job job : allJobs(db)) {
            PodSpec pod = job.getSpec().getTemplate().getSpec();
            assertEquals("checkpoint-writer", pod.getServiceAccountName());
            assertEquals(Boolean.TRUE, pod.getAutomountServiceAccountToken(), "workload identity needs the projected token");
        }
    }

    @Test
    void imagesAndRestoreTargetsComeOnlyFromDatabases() {
        assertThrows(NoSuchFieldException.class, () -> CheckpointSpec.class.getField("drillImage"));
        assertEquals(String.class, assertDoesNotThrow(() -> RestoreSpec.class.getField("target")).getType());
        Database db = database("prod");
        Checkpoint c = checkpoint("pre-deploy-1", 1000);
        assertEquals("postgres:15", FACTORY.drill(c, db).getSpec().getTemplate().getSpec().getInitContainers().get(0).getImage());
        db.getSpec().drill = new DatabaseSpec.DrillSpec();
        db.getSpec().drill.image = "registry.example/postgres:17";
        assertEquals("registry.example/postgres:17", FACTORY.drill(c, db).getSpec().getTemplate().getSpec().getInitContainers().get(0).getImage());

        Database staging = database("staging");
        Job restore = FACTORY.restore(restore("staging"), c, db, staging);
        Map<String, EnvVar> env = new java.util.HashMap<>();
        restore.getSpec().getTemplate().getSpec().getContainers().get(0).getEnv().forEach(e -> env.put(e.getName(), e));
        assertEquals("staging-conn", env.get("PGCHECKPOINT_DB_URI").getValueFrom().getSecretKeyRef().getName(), "writes into the target");
        assertEquals("prod-s3", env.get("AWS_ACCESS_KEY_ID").getValueFrom().getSecretKeyRef().getName(), "reads the source's bucket");
        assertTrue(env.get("PGCHECKPOINT_STORE").getValue().endsWith("/shop/prod"));
    }

    static <T> T assertDoesNotThrow(org.junit.jupiter.api.function.ThrowingSupplier<T> s) {
        return org.junit.jupiter.api.Assertions.assertDoesNotThrow(s);
    }

    @Test
    void jobNamesAndLabelValuesAreValidAndUniqueForAnyName() {
        String stem = "pre-deploy-api-" + "0123456789".repeat(3) + "0123456";
        List<String> names = List.of("pre-deploy-1", stem + "-one", stem + "-two", "a".repeat(253),
                "release.2026.11.26-" + "x".repeat(100), "x", "9-lives", "a." + "b".repeat(60) + ".c");
        Set<String> jobNames = new HashSet<>();
        for (String name : names) {
            Checkpoint c = checkpoint(name, 1000);
            Database db = database("prod");
            for (Job job : List.of(FACTORY.dump(c, db), FACTORY.drill(c, db))) {
                String jobName = job.getMetadata().getName();
                assertTrue(jobName.length() <= 63 - 6 && DNS_LABEL.matcher(jobName).matches(), jobName);
                assertTrue(jobNames.add(jobName), "unique: " + jobName);
                job.getMetadata().getLabels().values().forEach(v -> assertTrue(v.length() <= 63 && LABEL_VALUE.matcher(v).matches(), v));
                assertEquals(name, job.getMetadata().getAnnotations().get(Labels.OWNER));
                assertEquals(name, job.getSpec().getTemplate().getMetadata().getAnnotations().get(Labels.OWNER));
            }
        }
        // the same name again, as a new object: new Jobs
        Checkpoint again = checkpoint("pre-deploy-1", 1000);
        assertFalse(jobNames.contains(JobNames.dump(again)));
        assertNotEquals(JobNames.labelValue("a".repeat(64)), JobNames.labelValue("a".repeat(65)));
    }

    @Test
    void theDumpJobCarriesTheSealsArgumentsAndOwner() {
        Checkpoint c = checkpoint("pre-deploy-1", 0);
        c.getSpec().commit = "4f3a9c1";
        Job dump = FACTORY.dump(c, database("prod"));
        assertEquals(List.of("seal", "--tag", "pre-deploy-1", "--output", "json", "--timeout", "3570s",
                "--lock-wait-timeout", "30s", "--commit", "4f3a9c1"), dump.getSpec().getTemplate().getSpec().getContainers().get(0).getArgs());
        var owner = dump.getMetadata().getOwnerReferences().get(0);
        assertEquals(List.of("Checkpoint", c.getMetadata().getUid(), true), List.of(owner.getKind(), owner.getUid(), owner.getController()));
        assertEquals(0, dump.getSpec().getBackoffLimit());
        assertEquals(JobFactory.TTL_SECONDS_AFTER_FINISHED, dump.getSpec().getTtlSecondsAfterFinished());
        assertEquals("Never", dump.getSpec().getTemplate().getSpec().getRestartPolicy());
        assertEquals(Boolean.FALSE, dump.getSpec().getTemplate().getSpec().getEnableServiceLinks());
    }

    static List<String> args(Job job) {
        return job.getSpec().getTemplate().getSpec().getContainers().get(0).getArgs();
    }

    @Test
    void oneDumpJobStreamsWithoutJobsAndA512MiTmp() {
        Database db = database("prod");
        Checkpoint c = checkpoint("pre-deploy-1", 0);
        for (Integer jobs : java.util.Arrays.asList(null, 1)) {
            db.getSpec().dump = new DatabaseSpec.DumpSpec();
            db.getSpec().dump.jobs = jobs;
            // scratchLimit is for pg_dump's directory only: one stream keeps its small /tmp
            db.getSpec().dump.scratchLimit = new Quantity("20Gi");
            for (Job dump : List.of(FACTORY.dump(c, db), FACTORY.dump(c, db, 3L << 30))) {
                assertFalse(args(dump).contains("--jobs"), jobs + ": " + args(dump));
                assertEquals(new Quantity("512Mi"), limits(dump).get("tmp"), "jobs " + jobs);
            }
        }
    }

    @Test
    void parallelDumpJobsPassJobsAndSizeTmpForPgDumpsDirectory() {
        Database db = database("prod");
        Checkpoint c = checkpoint("pre-deploy-1", 0);
        db.getSpec().dump = new DatabaseSpec.DumpSpec();
        db.getSpec().dump.jobs = 4;
        db.getSpec().dump.excludeTables = List.of("public.audit");
        Job dump = FACTORY.dump(c, db);
        assertEquals(List.of("seal", "--tag", "pre-deploy-1", "--output", "json", "--timeout", "3570s", "--lock-wait-timeout", "30s",
                "--exclude-table", "public.audit", "--jobs", "4"), args(dump));
        assertEquals(new Quantity("4096Mi"), limits(dump).get("tmp"), "no earlier archive known: the documented 4Gi");
        // twice the newest known archive plus the usual 512Mi scratch: 2 x 3Gi + 512Mi
        assertEquals(new Quantity("6656Mi"), limits(FACTORY.dump(c, db, 3L << 30)).get("tmp"));
        assertEquals(new Quantity("1024Mi"), limits(FACTORY.dump(c, db, 1000L)).get("tmp"), "at least 1Gi");
        assertEquals(new Quantity("4096Mi"), limits(FACTORY.dump(c, db, 0L)).get("tmp"), "an empty size is not a size");
        db.getSpec().dump.scratchLimit = new Quantity("20Gi");
        assertEquals(new Quantity("20Gi"), limits(FACTORY.dump(c, db, 3L << 30)).get("tmp"), "the Database's scratchLimit wins");
        assertEquals(List.of("--jobs", "4"), args(FACTORY.dump(c, db)).subList(args(dump).size() - 2, args(dump).size()));
        assertTrue(dump.getSpec().getTemplate().getSpec().getContainers().get(0).getVolumeMounts().stream()
                .anyMatch(m -> m.getName().equals("tmp") && m.getMountPath().equals("/tmp")), "pg_dump's directory goes under $TMPDIR");
    }
}
