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

    @Test
    void sideBySideRestoreBringsBackADroppedTable() throws Exception {
        Fixtures.sql(hostPg.target("app"), "CREATE TABLE audit_log AS SELECT g AS id, 'event ' || g AS what FROM generate_series(1, 1000) g");
        checkpoint("before-drop", "host-db");
        assertEquals(Phase.Proven, terminal("before-drop").getStatus().phase);
        Fixtures.sql(hostPg.target("app"), "DROP TABLE audit_log");
        Restore r = new Restore();
        r.setMetadata(new ObjectMetaBuilder().withName("customers-back").withNamespace(NS).build());
        r.setSpec(new RestoreSpec());
        r.getSpec().checkpoint = "before-drop";
        r.getSpec().tables = List.of("public.audit_log");
        k8s.resource(r).create();
        Restore done = k8s.resources(Restore.class).inNamespace(NS).withName("customers-back").waitUntilCondition(
                x -> x != null && x.getStatus() != null && (x.getStatus().phase == RestoreStatus.Phase.Succeeded
                        || x.getStatus().phase == RestoreStatus.Phase.Failed), 600, TimeUnit.SECONDS);
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

    /** List helpers without a dependency. */
    static final class Stream {
        static List<String> concat(String first, String... rest) {
            List<String> all = new java.util.ArrayList<>(List.of(first));
            all.addAll(List.of(rest));
            return all;
        }
    }
}
