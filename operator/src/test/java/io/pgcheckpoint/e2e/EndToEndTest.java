package io.pgcheckpoint.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.fabric8.kubernetes.api.model.NamespaceBuilder;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodBuilder;
import io.fabric8.kubernetes.api.model.SecretBuilder;
import io.fabric8.kubernetes.client.Config;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import io.pgcheckpoint.api.Checkpoint;
import io.pgcheckpoint.api.CheckpointSpec;
import io.pgcheckpoint.api.CheckpointStatus.Phase;
import io.pgcheckpoint.api.Database;
import io.pgcheckpoint.api.DatabaseSpec;
import io.pgcheckpoint.api.Restore;
import io.pgcheckpoint.api.RestoreSpec;
import io.pgcheckpoint.api.RestoreStatus;
import io.pgcheckpoint.cli.Main;
import io.pgcheckpoint.api.Conditions;
import io.pgcheckpoint.engine.DbTarget;
import io.pgcheckpoint.engine.Fixtures;
import io.pgcheckpoint.engine.LocalPostgres;
import io.pgcheckpoint.engine.PgTools;
import io.pgcheckpoint.engine.Progress;
import io.pgcheckpoint.engine.TestS3;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import software.amazon.awssdk.services.s3.S3Client;
import io.fabric8.kubernetes.api.model.batch.v1.Job;
import io.pgcheckpoint.engine.Json;
import io.pgcheckpoint.engine.Manifest;

/**
 * End to end on the real single-node cluster built by testbed/ (PGCK_E2E_CLUSTER=testbed):
 * the operator installed with helm from helm/pgcheckpoint and the locally built image, a
 * PostgreSQL outside the cluster and one inside, an S3-compatible store reachable from pods.
 * Run by `make test` after testbed/up and testbed/build-image; there is no silent skip.
 */
@Tag("e2e")
class EndToEndTest {
    static final String NS = "e2e";
    static final String NS_QUOTA = "e2e-quota";
    static final String PASSWORD = "e2e-Secret-pw";
    static final String BUCKET = "checkpoints";
    static KubernetesClient k8s;
    static TestS3 s3;
    static LocalPostgres hostPg;
    static String hostFromPods;
    static Path repo = Path.of("..").toAbsolutePath().normalize();

    @BeforeAll
    static void cluster() throws Exception {
        String kubeconfig = System.getenv("KUBECONFIG");
        if (!"testbed".equals(System.getenv().getOrDefault("PGCK_E2E_CLUSTER", "testbed")) || kubeconfig == null
                || !Files.exists(Path.of(kubeconfig))) {
            throw new IllegalStateException("no test cluster: run testbed/up and source testbed/env (KUBECONFIG="
                    + kubeconfig + "); the end-to-end tests never pass without a cluster");
        }
        System.setProperty("kubeconfig", kubeconfig);
        hostFromPods = System.getenv().getOrDefault("PGCK_TESTBED_HOST_FROM_PODS", "10.244.0.1");
        k8s = new KubernetesClientBuilder().withConfig(Config.autoConfigure(null)).build();
        s3 = new TestS3(Files.createTempDirectory("e2e-s3"), "0.0.0.0");
        s3.createBucket(BUCKET);
        hostPg = LocalPostgres.start(Fixtures.TOOLS, Progress.SILENT, PASSWORD, true);
        Fixtures.sql(hostPg.target("postgres"), "CREATE DATABASE app");
        Fixtures.sql(hostPg.target("app"), """
                CREATE TABLE customers (id serial PRIMARY KEY, email text NOT NULL);
                CREATE TABLE orders (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, customer_id int REFERENCES customers, total numeric);
                INSERT INTO customers (email) SELECT 'c' || g || '@example.com' FROM generate_series(1, 1000) g;
                INSERT INTO orders (customer_id, total) SELECT 1 + g % 1000, g FROM generate_series(1, 20000) g;
                CREATE TABLE events (id bigint, payload text);
                INSERT INTO events SELECT g, md5(g::text) || md5((g + 1)::text) FROM generate_series(1, 2000000) g;
                """);
        Fixtures.sql(hostPg.target("postgres"), "CREATE DATABASE small");
        Fixtures.sql(hostPg.target("small"), "CREATE TABLE items (id int PRIMARY KEY); INSERT INTO items SELECT generate_series(1, 100);");
        k8s.namespaces().withName(NS).delete();
        k8s.namespaces().withName(NS).waitUntilCondition(n -> n == null, 120, TimeUnit.SECONDS);
        // every pod the operator creates must be admitted under Pod Security "restricted"
        k8s.namespaces().resource(restricted(NS)).create();
        // helm installs a chart's crds/ once and never upgrades them: the repository's CRDs are applied first
        run(List.of("kubectl", "apply", "--server-side", "--force-conflicts", "-f", repo.resolve("helm/pgcheckpoint/crds").toString()));
        helm("upgrade", "--install", "pgcheckpoint", repo.resolve("helm/pgcheckpoint").toString(), "-n", "pgcheckpoint-system",
                "--create-namespace", "--wait", "--timeout", "5m",
                "--set", "image.repository=" + image()[0], "--set", "image.tag=" + image()[1],
                "--set", "image.pullPolicy=Never", "--set-string", "drillImage=" + postgresImage("{major}"));
        // the image was just rebuilt under the same tag: an unchanged Deployment would keep running the old one
        run(List.of("kubectl", "-n", "pgcheckpoint-system", "rollout", "restart", "deployment/pgcheckpoint"));
        run(List.of("kubectl", "-n", "pgcheckpoint-system", "rollout", "status", "deployment/pgcheckpoint", "--timeout=5m"));
        secret("s3", Map.of("AWS_ACCESS_KEY_ID", TestS3.ACCESS_KEY, "AWS_SECRET_ACCESS_KEY", TestS3.SECRET_KEY));
        secret("host-db", Map.of("uri", "postgresql://postgres:" + PASSWORD + "@" + hostFromPods + ":" + hostPg.port() + "/app"));
        secret("wrong-db", Map.of("uri", "postgresql://postgres:not-the-password@" + hostFromPods + ":" + hostPg.port() + "/app"));
        secret("small-db", Map.of("uri", "postgresql://postgres:" + PASSWORD + "@" + hostFromPods + ":" + hostPg.port() + "/small"));
        database("host-db", "host-db");
        database("wrong-db", "wrong-db");
        database("small-db", "small-db");
        // its Secret is never created: the operator cannot know (it reads no Secret), the Job's pod says so
        database("no-secret-db", "no-such-secret");
    }

    static io.fabric8.kubernetes.api.model.Namespace restricted(String name) {
        return new NamespaceBuilder().withNewMetadata().withName(name)
                .addToLabels("pod-security.kubernetes.io/enforce", "restricted")
                .addToLabels("pod-security.kubernetes.io/enforce-version", "latest").endMetadata().build();
    }

    @AfterAll
    static void cleanup() throws Exception {
        if (k8s != null) {
            k8s.namespaces().withName(NS).delete();
            k8s.namespaces().withName(NS_QUOTA).delete();
            k8s.close();
        }
        if (hostPg != null) {
            hostPg.close();
        }
        if (s3 != null) {
            s3.close();
        }
    }

    /** The testbed's PostgreSQL image of a major ("{major}" for the template the operator fills in). */
    static String postgresImage(String major) {
        return System.getenv().getOrDefault("PGCK_TESTBED_POSTGRES_IMAGES", "localhost/postgres:{major}").replace("{major}", major);
    }

    static String[] image() {
        String ref = System.getenv().getOrDefault("PGCK_TESTBED_IMAGE", "localhost/pgcheckpoint:dev");
        int colon = ref.lastIndexOf(':');
        return new String[] {ref.substring(0, colon), ref.substring(colon + 1)};
    }

    static void helm(String... args) throws Exception {
        run(Stream.concat("helm", args));
    }

    static String run(List<String> command) throws Exception {
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes());
        if (!p.waitFor(10, TimeUnit.MINUTES) || p.exitValue() != 0) {
            throw new AssertionError(String.join(" ", command) + " failed:\n" + out);
        }
        return out;
    }

    static void secret(String name, Map<String, String> data) {
        k8s.secrets().inNamespace(NS).resource(new SecretBuilder().withNewMetadata().withName(name).endMetadata()
                .withStringData(data).build()).serverSideApply();
    }

    static void database(String name, String secretName) {
        database(NS, name, secretName, spec -> { });
    }

    static void database(String name, String secretName, java.util.function.Consumer<DatabaseSpec> customize) {
        database(NS, name, secretName, customize);
    }

    static void database(String ns, String name, String secretName) {
        database(ns, name, secretName, spec -> { });
    }

    static void database(String ns, String name, String secretName, java.util.function.Consumer<DatabaseSpec> customize) {
        Database db = new Database();
        db.setMetadata(new ObjectMetaBuilder().withName(name).withNamespace(ns).build());
        DatabaseSpec spec = new DatabaseSpec();
        spec.connection = new DatabaseSpec.Connection();
        spec.connection.secretName = secretName;
        spec.connection.key = "uri";
        spec.connection.sslmode = "disable";
        spec.store = new DatabaseSpec.StoreSpec();
        spec.store.bucket = BUCKET;
        spec.store.prefix = "e2e";
        spec.store.region = "us-east-1";
        spec.store.endpoint = "http://" + hostFromPods + ":" + s3.port();
        spec.store.pathStyle = true;
        spec.store.credentialsSecret = "s3";
        customize.accept(spec);
        db.setSpec(spec);
        k8s.resource(db).serverSideApply();
        k8s.resources(Database.class).inNamespace(ns).withName(name).waitUntilCondition(
                d -> d != null && d.getStatus() != null && Conditions.isTrue(d.getStatus().conditions, "Ready"), 120, TimeUnit.SECONDS);
    }

    static Checkpoint checkpoint(String name, String database) {
        return checkpoint(NS, name, database);
    }

    static Checkpoint checkpoint(String ns, String name, String database) {
        Checkpoint c = new Checkpoint();
        c.setMetadata(new ObjectMetaBuilder().withName(name).withNamespace(ns).build());
        c.setSpec(new CheckpointSpec());
        c.getSpec().database = database;
        c.getSpec().commit = "4f3a9c1";
        return k8s.resource(c).create();
    }

    static Checkpoint await(String name, Predicate<Checkpoint> condition, int seconds) {
        return k8s.resources(Checkpoint.class).inNamespace(NS).withName(name)
                .waitUntilCondition(c -> c != null && c.getStatus() != null && condition.test(c), seconds, TimeUnit.SECONDS);
    }

    static Checkpoint terminal(String name) {
        return await(name, c -> c.getStatus().phase == Phase.Proven || c.getStatus().phase == Phase.Failed, 600);
    }

    static String describe(Checkpoint c) {
        return c.getStatus().phase + ": " + c.getStatus().message;
    }

    /**
     * deletionPolicy (issue 13): deleting a Checkpoint whose policy is Delete runs a cleanup Job
     * ({@code pgcheckpoint delete --tag}) and its objects leave the e2e store before the resource
     * goes; with Retain (the default) the resource goes at once and every object stays.
     */
    @Test
    void deletionPolicyDeleteRemovesTheObjectsAndRetainKeepsThem() throws Exception {
        database("small-delete", "small-db", spec -> spec.deletionPolicy = io.pgcheckpoint.api.DeletionPolicy.Delete);
        checkpoint("delete-me", "small-delete");
        checkpoint("keep-me", "small-db");
        for (String name : List.of("delete-me", "keep-me")) {
            Checkpoint c = terminal(name);
            assertEquals(Phase.Proven, c.getStatus().phase, describe(c));
        }
        List<String> doomed = objects("small-delete", "delete-me");
        List<String> kept = objects("small-db", "keep-me");
        assertTrue(doomed.containsAll(List.of("archive.dump", "manifest.json", "drill.json")), doomed.toString());
        assertTrue(kept.containsAll(List.of("archive.dump", "manifest.json", "drill.json")), kept.toString());
        assertTrue(k8s.resources(Checkpoint.class).inNamespace(NS).withName("delete-me").get().hasFinalizer("pgcheckpoint.io/delete-objects"));
        assertTrue(!k8s.resources(Checkpoint.class).inNamespace(NS).withName("keep-me").get().hasFinalizer("pgcheckpoint.io/delete-objects"));

        k8s.resources(Checkpoint.class).inNamespace(NS).withName("keep-me").delete();
        k8s.resources(Checkpoint.class).inNamespace(NS).withName("delete-me").delete();
        try {
            awaitGone("keep-me", 60);
            assertEquals(kept, objects("small-db", "keep-me"), "Retain: the bucket is untouched");
            awaitGone("delete-me", 300);
            assertEquals(List.of(), objects("small-delete", "delete-me"), "Delete: every object of the tag is gone");
        } finally {
            // a failed run must not leave a finalizer behind: it would hold the namespace's deletion
            var left = k8s.resources(Checkpoint.class).inNamespace(NS).withName("delete-me");
            try {
                if (left.get() != null) {
                    left.edit(c -> {
                        c.removeFinalizer("pgcheckpoint.io/delete-objects");
                        return c;
                    });
                }
            } catch (io.fabric8.kubernetes.client.KubernetesClientException gone) {
                // deleted meanwhile
            }
        }
    }

    /** The names of a checkpoint's objects in the e2e store (below its tag). */
    static List<String> objects(String database, String tag) {
        String prefix = "e2e/" + NS + "/" + database + "/" + tag + "/";
        try (S3Client client = s3.client()) {
            return client.listObjectsV2Paginator(b -> b.bucket(BUCKET).prefix(prefix)).contents().stream()
                    .map(o -> o.key().substring(prefix.length())).sorted().toList();
        }
    }

    /** Waits until the Checkpoint is gone; else fails with what its status says (a lock, a failed cleanup Job). */
    static void awaitGone(String name, int seconds) throws InterruptedException {
        long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
        Checkpoint c = null;
        while (System.nanoTime() < until) {
            c = k8s.resources(Checkpoint.class).inNamespace(NS).withName(name).get();
            if (c == null) {
                return;
            }
            Thread.sleep(1000);
        }
        throw new AssertionError("Checkpoint " + name + " still exists after " + seconds + " s: "
                + (c == null || c.getStatus() == null ? "no status" : describe(c)));
    }

    @Test
    void outsideDatabaseIsProvenAndItsArchiveRestoresWithPlainPgRestore() throws Exception {
        checkpoint("outside-1", "host-db");
        // kubectl wait returns exactly when Proven is set
        run(List.of("kubectl", "-n", NS, "wait", "--for=condition=Proven", "checkpoint/outside-1", "--timeout=600s"));
        Checkpoint c = k8s.resources(Checkpoint.class).inNamespace(NS).withName("outside-1").get();
        assertEquals(Phase.Proven, c.getStatus().phase, describe(c));
        assertTrue(c.getStatus().ledger.tables >= 3 && c.getStatus().ledger.totalRows >= 2_021_000L, describe(c));
        // the host's PostgreSQL 15: dumped by the image's pg_dump 15, proven on a postgres:15 sidecar
        assertEquals(15, c.getStatus().archive.serverMajor, describe(c));
        assertTrue(c.getStatus().archive.pgDumpVersion.contains("(PostgreSQL) 15."), c.getStatus().archive.pgDumpVersion);
        assertEquals("gzip:1", c.getStatus().archive.compression, "pg_dump 15 cannot do better than gzip");
        assertEquals(postgresImage("15"), c.getStatus().drill.image);
        assertTrue(c.getStatus().drill.serverVersion.startsWith("15."), c.getStatus().drill.serverVersion);

        Path dump = Files.createTempFile("e2e", ".dump");
        try (S3Client client = s3.client()) {
            client.getObject(b -> b.bucket(BUCKET).key("e2e/" + NS + "/host-db/outside-1/archive.dump"),
                    software.amazon.awssdk.core.sync.ResponseTransformer.toFile(dump.toFile().toPath().resolveSibling("e2e-restore.dump")));
        }
        Path file = dump.resolveSibling("e2e-restore.dump");
        Fixtures.sql(hostPg.target("postgres"), "CREATE DATABASE plain_restore");
        DbTarget target = hostPg.target("plain_restore");
        PgTools.Result r = PgTools.run(List.of(Fixtures.TOOLS.path("pg_restore"), "--no-owner", "-d", "plain_restore", file.toString()),
                target.libpqEnv());
        assertEquals(0, r.exitCode(), r.stderr());
        assertEquals(20_000L, Fixtures.count(target, "SELECT count(*) FROM orders"));
        assertEquals(2_000_000L, Fixtures.count(target, "SELECT count(*) FROM events"));
        Files.deleteIfExists(file);
    }

    @Test
    void insideDatabaseIsProvenThroughCreateWait() throws Exception {
        Pod pg = k8s.pods().inNamespace(NS).resource(new PodBuilder().withNewMetadata().withName("inside-pg").endMetadata()
                .withNewSpec().withNewSecurityContext().withRunAsNonRoot(true).withRunAsUser(999L).withFsGroup(999L)
                .withNewSeccompProfile().withType("RuntimeDefault").endSeccompProfile().endSecurityContext()
                .addNewContainer().withName("postgres")
                .withNewSecurityContext().withAllowPrivilegeEscalation(false).withNewCapabilities().withDrop("ALL").endCapabilities()
                .endSecurityContext()
                .withImage(System.getenv().getOrDefault("PGCK_TESTBED_POSTGRES_IMAGE", "localhost/postgres:15")).withImagePullPolicy("Never")
                .addNewEnv().withName("POSTGRES_PASSWORD").withValue(PASSWORD).endEnv()
                .addNewEnv().withName("POSTGRES_DB").withValue("shop").endEnv()
                .withNewReadinessProbe().withNewExec().withCommand("pg_isready", "-h", "127.0.0.1", "-U", "postgres").endExec()
                .withPeriodSeconds(1).endReadinessProbe()
                .endContainer().endSpec().build()).create();
        pg = k8s.pods().inNamespace(NS).withName("inside-pg").waitUntilReady(180, TimeUnit.SECONDS);
        String ip = pg.getStatus().getPodIP();
        DbTarget inside = DbTarget.parse("postgresql://postgres:" + PASSWORD + "@" + ip + ":5432/shop?sslmode=disable", Map.of());
        Fixtures.sql(inside, "CREATE TABLE items (id int PRIMARY KEY, name text); INSERT INTO items SELECT g, 'i' || g FROM generate_series(1, 5000) g;");
        secret("inside-db", Map.of("uri", "postgresql://postgres:" + PASSWORD + "@" + ip + ":5432/shop"));
        database("inside-db", "inside-db");

        int exit = Main.execute("create", "-n", NS, "--database", "inside-db", "--tag", "inside-1", "--commit", "abc", "--wait",
                "--timeout", "10m", "-q");
        Checkpoint c = k8s.resources(Checkpoint.class).inNamespace(NS).withName("inside-1").get();
        assertEquals(0, exit, describe(c));
        assertEquals(Phase.Proven, c.getStatus().phase);
        assertEquals(5000L, c.getStatus().ledger.totalRows);
    }

    /** A PostgreSQL of one major in a pod, with a database "shop"; returns its pod IP. */
    static String insidePostgres(String pod, int major) {
        // the namespace enforces Pod Security "restricted": the images run postgres as uid 999
        k8s.pods().inNamespace(NS).resource(new PodBuilder().withNewMetadata().withName(pod).endMetadata()
                .withNewSpec().withNewSecurityContext().withRunAsNonRoot(true).withRunAsUser(999L).withFsGroup(999L)
                .withNewSeccompProfile().withType("RuntimeDefault").endSeccompProfile().endSecurityContext()
                .addNewContainer().withName("postgres")
                .withNewSecurityContext().withAllowPrivilegeEscalation(false).withNewCapabilities().withDrop("ALL").endCapabilities()
                .endSecurityContext()
                .withImage(postgresImage(String.valueOf(major))).withImagePullPolicy("Never")
                .addNewEnv().withName("POSTGRES_PASSWORD").withValue(PASSWORD).endEnv()
                .addNewEnv().withName("POSTGRES_DB").withValue("shop").endEnv()
                .withNewReadinessProbe().withNewExec().withCommand("pg_isready", "-h", "127.0.0.1", "-U", "postgres").endExec()
                .withPeriodSeconds(1).endReadinessProbe()
                .endContainer().endSpec().build()).create();
        return k8s.pods().inNamespace(NS).withName(pod).waitUntilReady(180, TimeUnit.SECONDS).getStatus().getPodIP();
    }

    /**
     * The version matrix: PostgreSQL 17 and 18 sources (15 is the outside one above) are sealed by the
     * image's pg_dump of the same major and proven on a sidecar of that major, chosen from the chart's
     * postgres:{major}, with exact counts; 18 also with zstd:3. A Database whose drill image is older
     * than its source fails before anything is downloaded, saying which versions and what image to use.
     */
    @Test
    void eachMajorIsProvenOnASidecarOfItsOwnMajorAndAnOlderSidecarIsRefused() throws Exception {
        String sql = """
                CREATE TABLE items (id int PRIMARY KEY, name text NOT NULL);
                INSERT INTO items SELECT g, 'i' || g FROM generate_series(1, 7000) g;
                CREATE TABLE item_events (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, item int REFERENCES items, at timestamptz);
                INSERT INTO item_events (item, at) SELECT 1 + g % 7000, now() FROM generate_series(1, 43000) g;
                """;
        for (int major : List.of(17, 18)) {
            String ip = insidePostgres("pg" + major, major);
            Fixtures.sql(DbTarget.parse("postgresql://postgres:" + PASSWORD + "@" + ip + ":5432/shop?sslmode=disable", Map.of()), sql);
            secret("pg" + major, Map.of("uri", "postgresql://postgres:" + PASSWORD + "@" + ip + ":5432/shop"));
            database("pg" + major, "pg" + major, spec -> {
                if (major == 18) {
                    spec.dump = new DatabaseSpec.DumpSpec();
                    spec.dump.compression = new io.fabric8.kubernetes.api.model.IntOrString("zstd:3");
                }
            });
            checkpoint("matrix-" + major, "pg" + major);
        }
        database("pg18-old-drill", "pg18", spec -> {
            spec.drill = new DatabaseSpec.DrillSpec();
            spec.drill.image = postgresImage("15");
        });
        checkpoint("older-sidecar", "pg18-old-drill");

        for (int major : List.of(17, 18)) {
            Checkpoint c = terminal("matrix-" + major);
            assertEquals(Phase.Proven, c.getStatus().phase, describe(c));
            assertEquals(50_000L, c.getStatus().ledger.totalRows, describe(c));
            assertEquals(2, c.getStatus().ledger.tables);
            assertEquals(50_000L, c.getStatus().drill.rowsChecked);
            assertEquals(0, c.getStatus().drill.mismatchCount);
            assertEquals(major, c.getStatus().archive.serverMajor);
            assertTrue(c.getStatus().archive.pgDumpVersion.contains("(PostgreSQL) " + major + "."), c.getStatus().archive.pgDumpVersion);
            assertEquals(postgresImage(String.valueOf(major)), c.getStatus().drill.image, "the sidecar was chosen from the source's major");
            assertTrue(c.getStatus().drill.serverVersion.startsWith(major + "."), c.getStatus().drill.serverVersion);
            assertEquals(major == 18 ? "zstd:3" : io.pgcheckpoint.engine.Compression.MODERN_DEFAULT, c.getStatus().archive.compression);
            // the evidence docs/versions.md quotes
            System.out.printf("matrix: source PostgreSQL %s, %s, %s, %s; drill image %s, server %s; %d rows proven%n",
                    c.getStatus().archive.serverVersion, c.getStatus().archive.pgDumpVersion, c.getStatus().archive.compression,
                    c.getStatus().archive.size, c.getStatus().drill.image, c.getStatus().drill.serverVersion, c.getStatus().drill.rowsChecked);
        }

        Checkpoint old = terminal("older-sidecar");
        assertEquals(Phase.Failed, old.getStatus().phase, describe(old));
        assertEquals("DrillVersion", Conditions.find(old.getStatus().conditions, "Ready").getReason(), describe(old));
        String m = old.getStatus().message;
        assertTrue(m.contains("(image " + postgresImage("15") + ") runs PostgreSQL 15.") && m.contains("comes from PostgreSQL 18.")
                && m.contains("nothing was downloaded") && m.contains("postgres:{major}"), m);
        assertTrue(Conditions.isTrue(old.getStatus().conditions, "Sealed"), "sealed, but not proven");
        System.out.println("older sidecar: " + m);
        String logs = k8s.pods().inNamespace(NS).withLabel("job-name", old.getStatus().drillJob).list().getItems().stream()
                .map(p -> k8s.pods().inNamespace(NS).withName(p.getMetadata().getName()).inContainer("pgcheckpoint").getLog())
                .reduce("", String::concat);
        assertTrue(logs.contains("runs PostgreSQL 15") && !logs.contains("downloading"),
                "refused before the download (Job " + old.getStatus().drillJob + "):\n" + logs);
    }

    @Test
    void wrongPasswordFailsAtDumpingWithAClearMessage() {
        checkpoint("wrong-1", "wrong-db");
        Checkpoint c = terminal("wrong-1");
        assertEquals(Phase.Failed, c.getStatus().phase, describe(c));
        assertEquals("ConnectionAuth", Conditions.find(c.getStatus().conditions, "Ready").getReason());
        assertTrue(c.getStatus().message.contains("authentication failed"), c.getStatus().message);
        assertTrue(!Conditions.isTrue(c.getStatus().conditions, "Sealed"));
    }

    @Test
    void drillAgainstATamperedArchiveFails() throws Exception {
        checkpoint("tampered-1", "host-db");
        // The manifest is written last: once it exists the seal is over, and the drill pod is still
        // seconds away (dump pod exit, Job status, operator, drill pod start). Damage the stored
        // object in that window, behind the store's back, as bit rot or a bad actor would.
        String prefix = "e2e/" + NS + "/host-db/tampered-1/";
        Path manifest = s3.objectFile(BUCKET, prefix + "manifest.json");
        long deadline = System.currentTimeMillis() + 600_000;
        while (!Files.exists(manifest) && System.currentTimeMillis() < deadline) {
            Thread.sleep(5);
        }
        assertTrue(Files.exists(manifest), "the seal never finished");
        try (java.io.RandomAccessFile archive = new java.io.RandomAccessFile(s3.objectFile(BUCKET, prefix + "archive.dump").toFile(), "rw")) {
            long middle = archive.length() / 2;
            archive.seek(middle);
            int b = archive.read();
            archive.seek(middle);
            archive.write(b ^ 0x01);
        }
        Checkpoint c = terminal("tampered-1");
        assertEquals(Phase.Failed, c.getStatus().phase, describe(c));
        assertEquals("ArchiveChecksum", Conditions.find(c.getStatus().conditions, "Ready").getReason(), describe(c));
        assertTrue(Conditions.isTrue(c.getStatus().conditions, "Sealed"));
    }

    @Test
    void operatorKilledMidDumpStillEndsProvenWithOneDumpJob() throws Exception {
        checkpoint("restart-1", "host-db");
        await("restart-1", c -> c.getStatus().phase == Phase.Dumping, 120);
        run(List.of("kubectl", "-n", "pgcheckpoint-system", "delete", "pod", "-l", "app.kubernetes.io/name=pgcheckpoint", "--wait=false"));
        Checkpoint c = terminal("restart-1");
        assertEquals(Phase.Proven, c.getStatus().phase, describe(c));
        assertEquals(1, k8s.batch().v1().jobs().inNamespace(NS)
                .withLabel("pgcheckpoint.io/checkpoint", "restart-1").withLabel("pgcheckpoint.io/role", "dump").list().getItems().size());
    }

    /**
     * spec.dump.jobs (issue 14): the dump Job runs pg_dump's directory format with parallel workers
     * under Pod Security "restricted" (read-only root, /tmp an emptyDir sized for it); every file
     * lands under the tag's archive/ with its own sha256, the drill Job proves it, and a Restore
     * brings a table back from it.
     */
    @Test
    void parallelDumpIsProvenFromItsDirectoryArchiveAndATableComesBackFromIt() throws Exception {
        database("host-db-parallel", "host-db", spec -> {
            spec.dump = new DatabaseSpec.DumpSpec();
            spec.dump.jobs = 2;
        });
        checkpoint("parallel-1", "host-db-parallel");
        Checkpoint c = terminal("parallel-1");
        assertEquals(Phase.Proven, c.getStatus().phase, describe(c));
        assertTrue(c.getStatus().ledger.totalRows >= 2_021_000L, describe(c));
        Job dump = k8s.batch().v1().jobs().inNamespace(NS).withLabel("pgcheckpoint.io/checkpoint", "parallel-1").list().getItems()
                .stream().filter(j -> j.getSpec().getTemplate().getSpec().getContainers().get(0).getArgs().contains("seal"))
                .findFirst().orElseThrow();
        List<String> args = dump.getSpec().getTemplate().getSpec().getContainers().get(0).getArgs();
        assertEquals("2", args.get(args.indexOf("--jobs") + 1), args.toString());
        String prefix = "e2e/" + NS + "/host-db-parallel/parallel-1/";
        try (S3Client client = s3.client()) {
            Manifest m = Json.read(client.getObjectAsBytes(b -> b.bucket(BUCKET).key(prefix + "manifest.json")).asByteArray(),
                    Manifest.class);
            assertEquals("directory", m.archive().format());
            assertEquals(m.archive().bytes(), (long) c.getStatus().archive.bytes);
            List<String> stored = client.listObjectsV2(b -> b.bucket(BUCKET).prefix(prefix + "archive/")).contents().stream()
                    .map(o -> o.key().substring((prefix + "archive/").length())).sorted().toList();
            assertEquals(m.archive().files().stream().map(Manifest.ArchiveFile::name).sorted().toList(), stored);
        }

        Restore done = restoreSideBySide("parallel-back", "parallel-1", "public.orders");
        assertEquals(RestoreStatus.Phase.Succeeded, done.getStatus().phase, done.getStatus().message);
        assertEquals(20_000L, Fixtures.count(hostPg.target("app"), "SELECT count(*) FROM restored_parallel_1.orders"));
    }

    /** A Restore of one table beside the original (the default mode), once it has succeeded or failed. */
    static Restore restoreSideBySide(String name, String checkpoint, String table) {
        Restore r = new Restore();
        r.setMetadata(new ObjectMetaBuilder().withName(name).withNamespace(NS).build());
        r.setSpec(new RestoreSpec());
        r.getSpec().checkpoint = checkpoint;
        r.getSpec().tables = List.of(table);
        k8s.resource(r).create();
        return k8s.resources(Restore.class).inNamespace(NS).withName(name).waitUntilCondition(
                x -> x != null && x.getStatus() != null && (x.getStatus().phase == RestoreStatus.Phase.Succeeded
                        || x.getStatus().phase == RestoreStatus.Phase.Failed), 600, TimeUnit.SECONDS);
    }

    @Test
    void sideBySideRestoreBringsBackADroppedTable() throws Exception {
        Fixtures.sql(hostPg.target("app"), "CREATE TABLE audit_log AS SELECT g AS id, 'event ' || g AS what FROM generate_series(1, 1000) g");
        checkpoint("before-drop", "host-db");
        assertEquals(Phase.Proven, terminal("before-drop").getStatus().phase);
        Fixtures.sql(hostPg.target("app"), "DROP TABLE audit_log");
        Restore done = restoreSideBySide("customers-back", "before-drop", "public.audit_log");
        assertEquals(RestoreStatus.Phase.Succeeded, done.getStatus().phase, done.getStatus().message);
        assertEquals(1000L, done.getStatus().tables.get(0).restoredRows);
        assertEquals(1000L, Fixtures.count(hostPg.target("app"), "SELECT count(*) FROM restored_before_drop.audit_log"));
    }

    @Test
    void aMissingSecretFailsTheCheckpointInSecondsWithSecretMissing() {
        long started = System.currentTimeMillis();
        checkpoint("no-secret-1", "no-secret-db");
        Checkpoint c = await("no-secret-1", x -> x.getStatus().phase == Phase.Failed, 120);
        assertEquals("SecretMissing", Conditions.find(c.getStatus().conditions, "Ready").getReason(), describe(c));
        assertTrue(c.getStatus().message.contains("Secret 'no-such-secret'") && c.getStatus().message.contains("'uri'"), describe(c));
        assertTrue(System.currentTimeMillis() - started < 120_000, "within seconds of the pod's report, not at the Job's deadline");
        assertTrue(k8s.batch().v1().jobs().inNamespace(NS).withName(c.getStatus().dumpJob).waitUntilCondition(j -> j == null,
                60, TimeUnit.SECONDS) == null, "the Job that could never run is gone");
    }

    @Test
    void podsThatCannotBeCreatedFailTheCheckpointInSeconds() throws Exception {
        k8s.namespaces().withName(NS_QUOTA).delete();
        k8s.namespaces().withName(NS_QUOTA).waitUntilCondition(n -> n == null, 120, TimeUnit.SECONDS);
        k8s.namespaces().resource(restricted(NS_QUOTA)).create();
        k8s.resourceQuotas().inNamespace(NS_QUOTA).resource(new io.fabric8.kubernetes.api.model.ResourceQuotaBuilder()
                .withNewMetadata().withName("no-pods").endMetadata().withNewSpec()
                .addToHard("pods", new io.fabric8.kubernetes.api.model.Quantity("0")).endSpec().build()).create();
        for (var s : List.of("s3", "small-db")) {
            var copy = k8s.secrets().inNamespace(NS).withName(s).get();
            k8s.secrets().inNamespace(NS_QUOTA).resource(new SecretBuilder().withNewMetadata().withName(s).endMetadata()
                    .withData(copy.getData()).build()).create();
        }
        database(NS_QUOTA, "small-db", "small-db");
        checkpoint(NS_QUOTA, "no-room-1", "small-db");
        Checkpoint c = k8s.resources(Checkpoint.class).inNamespace(NS_QUOTA).withName("no-room-1").waitUntilCondition(
                x -> x != null && x.getStatus() != null && x.getStatus().phase == Phase.Failed, 180, TimeUnit.SECONDS);
        assertEquals("PodCreateFailed", Conditions.find(c.getStatus().conditions, "Ready").getReason(), describe(c));
        assertTrue(c.getStatus().message.contains("exceeded quota"), describe(c));
    }

    @Test
    void longAndCollidingNamesEachGetTheirOwnJobsAndAreProven() {
        String stem = "pre-deploy-api-" + "0123456789".repeat(3) + "0123456"; // 52 characters
        List<String> names = List.of(stem + "-one", stem + "-two", "release-2026-11-26." + "x".repeat(70));
        for (int i = 0; i < names.size(); i++) {
            Checkpoint c = new Checkpoint();
            c.setMetadata(new ObjectMetaBuilder().withName(names.get(i)).withNamespace(NS).build());
            c.setSpec(new CheckpointSpec());
            c.getSpec().database = "small-db";
            c.getSpec().tag = "names-" + i;
            k8s.resource(c).create();
        }
        java.util.Set<String> dumpJobs = new java.util.HashSet<>();
        for (String name : names) {
            Checkpoint c = terminal(name);
            assertEquals(Phase.Proven, c.getStatus().phase, describe(c));
            assertEquals(100L, c.getStatus().ledger.totalRows);
            assertTrue(dumpJobs.add(c.getStatus().dumpJob), "its own dump Job: " + c.getStatus().dumpJob);
            assertEquals(c.getMetadata().getUid(), k8s.batch().v1().jobs().inNamespace(NS).withName(c.getStatus().drillJob).get()
                    .getMetadata().getOwnerReferences().get(0).getUid());
        }
    }

    // ---- ways in: the HTTP API with curl, the GitHub Action over it, the Helm hook ----------------

    static final String API_SERVICE_NAMESPACE = "pgcheckpoint-system";
    static final com.fasterxml.jackson.databind.ObjectMapper JSON = new com.fasterxml.jackson.databind.ObjectMapper();

    /** The operator's API as a deploy sees it: its URL, a token that may create checkpoints and one that may not. */
    record Api(String url, String deployerToken, String viewerToken) {
    }

    record Answer(int status, String body) {
        com.fasterxml.jackson.databind.JsonNode json() throws Exception {
            return JSON.readTree(body);
        }
    }

    record Exit(int code, String output) {
    }

    static Api api;

    /**
     * Once per run: the ServiceAccount "deployer" bound to the chart's pgcheckpoint-deployer
     * ClusterRole, "viewer" with a Role that may only read checkpoints, their tokens from
     * `kubectl create token`, and a pod "api-client" (the project image, which has curl) with
     * examples/curl/checkpoint.sh mounted, admitted under the namespace's restricted Pod Security.
     * The API is the chart's Service, at its ClusterIP: kube-proxy routes it from this host too.
     */
    static synchronized Api api() throws Exception {
        if (api != null) {
            return api;
        }
        for (String sa : List.of("deployer", "viewer")) {
            k8s.serviceAccounts().inNamespace(NS).resource(new io.fabric8.kubernetes.api.model.ServiceAccountBuilder()
                    .withNewMetadata().withName(sa).endMetadata().build()).serverSideApply();
        }
        k8s.rbac().roleBindings().inNamespace(NS).resource(new io.fabric8.kubernetes.api.model.rbac.RoleBindingBuilder()
                .withNewMetadata().withName("deploy-checkpoints").endMetadata()
                .withNewRoleRef().withApiGroup("rbac.authorization.k8s.io").withKind("ClusterRole").withName("pgcheckpoint-deployer").endRoleRef()
                .addNewSubject().withKind("ServiceAccount").withName("deployer").withNamespace(NS).endSubject().build()).serverSideApply();
        k8s.rbac().roles().inNamespace(NS).resource(new io.fabric8.kubernetes.api.model.rbac.RoleBuilder()
                .withNewMetadata().withName("read-checkpoints").endMetadata()
                .addNewRule().withApiGroups("pgcheckpoint.io").withResources("checkpoints", "databases").withVerbs("get", "list", "watch").endRule()
                .build()).serverSideApply();
        k8s.rbac().roleBindings().inNamespace(NS).resource(new io.fabric8.kubernetes.api.model.rbac.RoleBindingBuilder()
                .withNewMetadata().withName("viewer-reads").endMetadata()
                .withNewRoleRef().withApiGroup("rbac.authorization.k8s.io").withKind("Role").withName("read-checkpoints").endRoleRef()
                .addNewSubject().withKind("ServiceAccount").withName("viewer").withNamespace(NS).endSubject().build()).serverSideApply();
        k8s.configMaps().inNamespace(NS).resource(new io.fabric8.kubernetes.api.model.ConfigMapBuilder()
                .withNewMetadata().withName("curl-example").endMetadata()
                .addToData("checkpoint.sh", Files.readString(repo.resolve("examples/curl/checkpoint.sh"))).build()).serverSideApply();
        String[] image = image();
        k8s.pods().inNamespace(NS).resource(new PodBuilder().withNewMetadata().withName("api-client").endMetadata()
                .withNewSpec().withAutomountServiceAccountToken(false).withTerminationGracePeriodSeconds(0L)
                .withNewSecurityContext().withRunAsNonRoot(true).withRunAsUser(65532L)
                .withNewSeccompProfile().withType("RuntimeDefault").endSeccompProfile().endSecurityContext()
                .addNewContainer().withName("curl").withImage(image[0] + ":" + image[1]).withImagePullPolicy("Never")
                .withCommand("sleep", "infinity")
                .withNewSecurityContext().withAllowPrivilegeEscalation(false).withReadOnlyRootFilesystem(true)
                .withNewCapabilities().withDrop("ALL").endCapabilities().endSecurityContext()
                .addNewVolumeMount().withName("examples").withMountPath("/examples").endVolumeMount()
                .addNewVolumeMount().withName("tmp").withMountPath("/tmp").endVolumeMount()
                .endContainer()
                .addNewVolume().withName("examples").withNewConfigMap().withName("curl-example").withDefaultMode(0555).endConfigMap().endVolume()
                .addNewVolume().withName("tmp").withNewEmptyDir().endEmptyDir().endVolume()
                .endSpec().build()).create();
        var service = k8s.services().inNamespace(API_SERVICE_NAMESPACE).withName("pgcheckpoint").get().getSpec();
        int port = service.getPorts().stream().filter(p -> "api".equals(p.getName())).findFirst()
                .orElseThrow(() -> new AssertionError("the chart's Service has no port 'api': " + service.getPorts())).getPort();
        String deployer = run(List.of("kubectl", "create", "token", "deployer", "-n", NS, "--duration=1h")).trim();
        String viewer = run(List.of("kubectl", "create", "token", "viewer", "-n", NS, "--duration=1h")).trim();
        k8s.pods().inNamespace(NS).withName("api-client").waitUntilReady(120, TimeUnit.SECONDS);
        api = new Api("http://" + service.getClusterIP() + ":" + port, deployer, viewer);
        return api;
    }

    /** curl from this host; the token (if any) as a Bearer header. */
    static Answer curl(String token, String method, String path, String body) throws Exception {
        List<String> command = new java.util.ArrayList<>(List.of("curl", "-sS", "--max-time", "120", "-o", "-", "-w", "\n%{http_code}", "-X", method));
        if (token != null) {
            command.addAll(List.of("-H", "Authorization: Bearer " + token));
        }
        if (body != null) {
            command.addAll(List.of("-H", "Content-Type: application/json", "--data", body));
        }
        command.add(api().url() + path);
        String out = run(command);
        int nl = out.lastIndexOf('\n');
        return new Answer(Integer.parseInt(out.substring(nl + 1).trim()), out.substring(0, nl));
    }

    static Exit exit(List<String> command, Map<String, String> env) throws Exception {
        ProcessBuilder pb = new ProcessBuilder(command).redirectErrorStream(true);
        pb.environment().putAll(env);
        Process p = pb.start();
        String out = new String(p.getInputStream().readAllBytes());
        if (!p.waitFor(10, TimeUnit.MINUTES)) {
            p.destroyForcibly();
            throw new AssertionError(String.join(" ", command) + " did not end in 10 minutes:\n" + out);
        }
        return new Exit(p.exitValue(), out);
    }

    /** examples/curl/checkpoint.sh in the pod "api-client", through the Service's ClusterIP from inside the cluster. */
    static Exit checkpointShInPod(String token, String database, String tag) throws Exception {
        return exit(List.of("kubectl", "exec", "-n", NS, "api-client", "--", "env", "PGCHECKPOINT_API=" + api().url(), "TOKEN=" + token,
                "NAMESPACE=" + NS, "DATABASE=" + database, "TAG=" + tag, "COMMIT=4f3a9c1", "DEADLINE=600", "WAIT=5m",
                "sh", "/examples/checkpoint.sh"), Map.of());
    }

    static void assertProvenAnswer(com.fasterxml.jackson.databind.JsonNode a, String tag, long rows) {
        String text = a.toString();
        assertTrue(a.path("ok").asBoolean(), text);
        assertEquals(tag, a.path("tag").asText(), text);
        assertEquals("Proven", a.path("phase").asText(), text);
        assertEquals("proven", a.path("restore_drill").asText(), text);
        assertEquals(rows, a.path("rows").asLong(), text);
        assertTrue(a.path("tables").asInt() >= 1 && a.path("bytes").asLong() > 0 && !a.path("size").asText().isEmpty(), text);
        assertTrue(!a.path("sealed_at").asText().isEmpty() && !a.path("proven_at").asText().isEmpty(), text);
    }

    /**
     * One curl: examples/curl/checkpoint.sh from this host answers only when the checkpoint is
     * Proven; the same tag POSTed from a pod while it runs waits on the same Checkpoint; no token
     * is 401, a token without the permission 403 naming it (from the host and from the pod).
     */
    @Test
    void httpApiWithCurlFromTheHostAndFromAPodWithKubernetesTokens() throws Exception {
        Api a = api();
        String collection = "/api/v1/namespaces/" + NS + "/checkpoints";
        Answer none = curl(null, "POST", collection, "{\"database\": \"small-db\", \"tag\": \"api-no-token\"}");
        assertEquals(401, none.status(), none.body());
        assertEquals("auth.missing", none.json().path("error").asText(), none.body());

        Answer denied = curl(a.viewerToken(), "POST", collection, "{\"database\": \"small-db\", \"tag\": \"api-viewer\"}");
        assertEquals(403, denied.status(), denied.body());
        assertTrue(denied.json().path("message").asText().contains(
                "system:serviceaccount:" + NS + ":viewer may not create checkpoints.pgcheckpoint.io in namespace " + NS), denied.body());
        assertEquals(200, curl(a.viewerToken(), "GET", collection + "?database=small-db", null).status(), "the viewer may read");
        Exit podDenied = checkpointShInPod(a.viewerToken(), "small-db", "api-viewer");
        assertEquals(1, podDenied.code(), podDenied.output());
        assertTrue(podDenied.output().contains("may not create checkpoints.pgcheckpoint.io"), podDenied.output());
        Answer unknown = curl(a.deployerToken(), "POST", collection, "{\"database\": \"no-such-db\", \"tag\": \"api-unknown\"}");
        assertEquals(404, unknown.status(), unknown.body());
        for (String tag : List.of("api-no-token", "api-viewer", "api-unknown")) {
            assertEquals(null, k8s.resources(Checkpoint.class).inNamespace(NS).withName(tag).get(), "nothing was created for " + tag);
        }

        long started = System.nanoTime();
        // the token goes through the environment, not argv
        ProcessBuilder script = new ProcessBuilder("sh", repo.resolve("examples/curl/checkpoint.sh").toString());
        script.environment().putAll(Map.of("PGCHECKPOINT_API", a.url(), "TOKEN", a.deployerToken(), "NAMESPACE", NS,
                "DATABASE", "small-db", "TAG", "api-1", "COMMIT", "4f3a9c1", "REASON", "e2e: one curl", "DEADLINE", "600", "WAIT", "5m"));
        Path hostOut = Files.createTempFile("checkpoint-sh", ".out");
        Process host = script.redirectErrorStream(true).redirectOutput(hostOut.toFile()).start();
        k8s.resources(Checkpoint.class).inNamespace(NS).withName("api-1").waitUntilCondition(c -> c != null, 60, TimeUnit.SECONDS);
        Checkpoint running = k8s.resources(Checkpoint.class).inNamespace(NS).withName("api-1").get();
        Phase when = running.getStatus() == null ? Phase.Pending : running.getStatus().phase;
        assertTrue(when != Phase.Proven && when != Phase.Failed, "still running when the pod's POST of the same tag is sent: " + when);
        Exit pod = checkpointShInPod(a.deployerToken(), "small-db", "api-1");
        assertTrue(host.waitFor(10, TimeUnit.MINUTES), "checkpoint.sh on the host ended");
        String hostAnswer = Files.readString(hostOut);
        System.out.printf("one curl: checkpoint.sh answered after %.1f s: %s", (System.nanoTime() - started) / 1e9, hostAnswer);
        assertEquals(0, host.exitValue(), hostAnswer);
        assertEquals(0, pod.code(), pod.output());
        assertProvenAnswer(JSON.readTree(hostAnswer), "api-1", 100);
        assertProvenAnswer(JSON.readTree(pod.output()), "api-1", 100);
        assertEquals(JSON.readTree(hostAnswer).path("proven_at"), JSON.readTree(pod.output()).path("proven_at"), "the same checkpoint");

        List<Checkpoint> same = k8s.resources(Checkpoint.class).inNamespace(NS).list().getItems().stream()
                .filter(c -> "api-1".equals(c.tag())).toList();
        assertEquals(1, same.size(), "one Checkpoint for the tag");
        assertEquals("system:serviceaccount:" + NS + ":deployer", same.get(0).getMetadata().getAnnotations().get("pgcheckpoint.io/requested-by"));
        assertEquals(1, k8s.batch().v1().jobs().inNamespace(NS).withLabel("pgcheckpoint.io/checkpoint", "api-1")
                .withLabel("pgcheckpoint.io/role", "dump").list().getItems().size(), "one dump");
        // once Proven, the same POST answers at once
        Answer again = curl(a.deployerToken(), "POST", collection, "{\"database\": \"small-db\", \"tag\": \"api-1\", \"commit\": \"4f3a9c1\"}");
        assertEquals(200, again.status(), again.body());
        assertProvenAnswer(again.json(), "api-1", 100);
    }

    /**
     * The GitHub Action that needs no Java and no Docker: examples/github-actions/api/action.yml's
     * steps run as a runner would (bash, a clean environment, inputs through env:) against the
     * operator's API; a proven checkpoint sets the tag output, a token without the permission and
     * an unknown Database fail the step.
     */
    @Test
    void githubActionOverTheApiProvesACheckpointAndFailsTheStepOtherwise() throws Exception {
        Api a = api();
        ActionRunner action = new ActionRunner(repo.resolve("examples/github-actions/api/action.yml"));
        String sha = "0a1b2c3d4e5f60718293a4b5c6d7e8f901234567";
        ActionRunner.Result ok = action.run(Map.of("api-url", a.url(), "token", a.deployerToken(), "namespace", NS,
                "database", "small-db", "timeout", "10m"), sha);
        assertEquals(0, ok.exitCode(), ok.log());
        assertEquals("pre-deploy-0a1b2c3", ok.outputs().get("tag"), ok.log());
        assertProvenAnswer(JSON.readTree(ok.outputs().get("result")), "pre-deploy-0a1b2c3", 100);
        Checkpoint c = k8s.resources(Checkpoint.class).inNamespace(NS).withName("pre-deploy-0a1b2c3").get();
        assertEquals(Phase.Proven, c.getStatus().phase, describe(c));
        assertEquals(sha, c.getSpec().commit);

        ActionRunner.Result denied = action.run(Map.of("api-url", a.url(), "token", a.viewerToken(), "namespace", NS,
                "database", "small-db", "tag", "gha-denied"), sha);
        assertTrue(denied.exitCode() != 0, denied.log());
        assertTrue(denied.log().contains("may not create checkpoints.pgcheckpoint.io in namespace " + NS), denied.log());
        ActionRunner.Result missing = action.run(Map.of("api-url", a.url(), "token", a.deployerToken(), "namespace", NS,
                "database", "no-such-db", "tag", "gha-missing"), sha);
        assertTrue(missing.exitCode() != 0, missing.log());
        assertTrue(missing.log().contains("no Database 'no-such-db'"), missing.log());
        assertEquals(null, k8s.resources(Checkpoint.class).inNamespace(NS).withName("gha-denied").get());
        assertEquals(null, k8s.resources(Checkpoint.class).inNamespace(NS).withName("gha-missing").get());
    }

    /**
     * The Helm hook: examples/helm-app (pgcheckpoint-hook as a dependency, a pre-upgrade migration
     * Job with a later weight). Its first install skips the checkpoint (the Database does not exist
     * yet); an upgrade seals and proves one before the migration Job is even created; with the
     * Database's password Secret broken the upgrade fails, the migration never runs and Helm says why.
     */
    @Test
    void helmUpgradeRunsTheMigrationOnlyAfterAProvenCheckpoint() throws Exception {
        Fixtures.sql(hostPg.target("postgres"), "CREATE DATABASE shop");
        Fixtures.sql(hostPg.target("shop"), "CREATE TABLE orders (id int PRIMARY KEY); INSERT INTO orders SELECT generate_series(1, 500);");
        String good = "postgresql://postgres:" + PASSWORD + "@" + hostFromPods + ":" + hostPg.port() + "/shop";
        secret("shop-db", Map.of("uri", good));
        Path chart = repo.resolve("examples/helm-app");
        run(List.of("helm", "dependency", "update", "--skip-refresh", chart.toString()));
        String[] image = image();
        java.util.function.Function<String, List<String>> upgrade = version -> Stream.concat("helm", "upgrade", "--install", "shop-api",
                chart.toString(), "-n", NS, "--timeout", "5m", "--set", "version=" + version, "--set-string", "global.commit=4f3a9c1e",
                "--set", "pgcheckpoint-hook.image.repository=" + image[0], "--set", "pgcheckpoint-hook.image.tag=" + image[1],
                "--set", "pgcheckpoint-hook.image.pullPolicy=Never", "--set", "migration.image=" + postgresImage("15"),
                "--set", "migration.pullPolicy=Never");
        long t0 = System.nanoTime();
        // first install: the Database does not exist yet, the hook skips, the migration creates its table
        run(upgrade.apply("1.0.0"));
        assertEquals(1L, Fixtures.count(hostPg.target("shop"), "SELECT count(*) FROM schema_migrations WHERE version = '1.0.0'"));
        database("shop-db", "shop-db");
        long t1 = System.nanoTime();

        String out = run(upgrade.apply("1.1.0"));
        long t2 = System.nanoTime();
        List<Checkpoint> made = k8s.resources(Checkpoint.class).inNamespace(NS).list().getItems().stream()
                .filter(c -> "shop-db".equals(c.getSpec().database)).toList();
        assertEquals(1, made.size(), "one checkpoint, made by the upgrade");
        Checkpoint c = made.get(0);
        assertEquals(Phase.Proven, c.getStatus().phase, describe(c));
        assertTrue(c.tag().startsWith("pre-deploy-4f3a9c1-"), c.tag());
        assertEquals(501L, c.getStatus().ledger.totalRows, "500 orders and 1.0.0's row: taken before the 1.1.0 migration");
        var migration = k8s.batch().v1().jobs().inNamespace(NS).withName("shop-api-migrate").get();
        java.time.Instant proven = java.time.Instant.parse(c.getStatus().finishedAt);
        java.time.Instant migrationCreated = java.time.Instant.parse(migration.getMetadata().getCreationTimestamp());
        assertTrue(!migrationCreated.isBefore(proven.truncatedTo(java.time.temporal.ChronoUnit.SECONDS)),
                "the migration Job (" + migrationCreated + ") was created after the checkpoint was Proven (" + proven + ")");
        assertEquals(1, migration.getStatus().getSucceeded(), out);
        assertEquals(1L, Fixtures.count(hostPg.target("shop"), "SELECT count(*) FROM schema_migrations WHERE version = '1.1.0'"));
        assertEquals("1.1.0", k8s.configMaps().inNamespace(NS).withName("shop-api").get().getData().get("version"));

        // the password in the Secret is wrong now: the checkpoint fails, so does the upgrade, before the migration
        secret("shop-db", Map.of("uri", good.replace(PASSWORD, "not-the-password")));
        String migrationUid = migration.getMetadata().getUid();
        Exit failed = exit(upgrade.apply("1.2.0"), Map.of());
        long t3 = System.nanoTime();
        assertTrue(failed.code() != 0, failed.output());
        assertTrue(failed.output().contains("pre-upgrade hooks failed") && failed.output().contains("shop-api-pgcheckpoint-hook-checkpoint"),
                failed.output());
        // the hook's log, printed by helm upgrade (helm.sh/hook-output-log-policy: hook-failed), says why
        assertTrue(failed.output().contains("FAILED " + NS + "/") && failed.output().contains("authentication failed"), failed.output());
        Checkpoint broken = k8s.resources(Checkpoint.class).inNamespace(NS).list().getItems().stream()
                .filter(x -> "shop-db".equals(x.getSpec().database) && !x.getMetadata().getName().equals(c.getMetadata().getName()))
                .findFirst().orElseThrow();
        assertEquals(Phase.Failed, broken.getStatus().phase, describe(broken));
        assertEquals("ConnectionAuth", Conditions.find(broken.getStatus().conditions, "Ready").getReason(), describe(broken));
        assertEquals(migrationUid, k8s.batch().v1().jobs().inNamespace(NS).withName("shop-api-migrate").get().getMetadata().getUid(),
                "the 1.2.0 migration Job was never created (before-hook-creation would have replaced 1.1.0's)");
        assertEquals(0L, Fixtures.count(hostPg.target("shop"), "SELECT count(*) FROM schema_migrations WHERE version = '1.2.0'"));
        assertEquals("1.1.0", k8s.configMaps().inNamespace(NS).withName("shop-api").get().getData().get("version"));
        var status = JSON.readTree(run(List.of("helm", "status", "shop-api", "-n", NS, "-o", "json"))).path("info");
        assertEquals("failed", status.path("status").asText(), status.toString());
        assertTrue(status.path("description").asText().contains("shop-api-pgcheckpoint-hook-checkpoint failed"), status.toString());
        // and the failed hook Job stays, its log naming the checkpoint's failure
        String hookLog = run(List.of("kubectl", "logs", "-n", NS, "job/shop-api-pgcheckpoint-hook-checkpoint"));
        assertTrue(hookLog.contains(broken.getMetadata().getName()) && hookLog.contains("authentication failed"), hookLog);
        System.out.printf("helm: install (hook skipped) %.1f s, upgrade with a proven checkpoint %.1f s, refused upgrade %.1f s; "
                + "helm status: %s%n", (t1 - t0) / 1e9, (t2 - t1) / 1e9, (t3 - t2) / 1e9, status.path("description").asText());
    }

    /** List helpers without a dependency. */
    static final class Stream {
        static List<String> concat(String first, String... rest) {
            List<String> all = new java.util.ArrayList<>(List.of(first));
            all.addAll(List.of(rest));
            return all;
        }
    }
}
