package io.pgcheckpoint.controller;

import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.ContainerBuilder;
import io.fabric8.kubernetes.api.model.EnvVar;
import io.fabric8.kubernetes.api.model.EnvVarBuilder;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.OwnerReferenceBuilder;
import io.fabric8.kubernetes.api.model.PodSecurityContextBuilder;
import io.fabric8.kubernetes.api.model.PodSpecBuilder;
import io.fabric8.kubernetes.api.model.Quantity;
import io.fabric8.kubernetes.api.model.SecurityContext;
import io.fabric8.kubernetes.api.model.SecurityContextBuilder;
import io.fabric8.kubernetes.api.model.Volume;
import io.fabric8.kubernetes.api.model.VolumeBuilder;
import io.fabric8.kubernetes.api.model.VolumeMount;
import io.fabric8.kubernetes.api.model.VolumeMountBuilder;
import io.fabric8.kubernetes.api.model.batch.v1.Job;
import io.fabric8.kubernetes.api.model.batch.v1.JobBuilder;
import io.pgcheckpoint.api.Checkpoint;
import io.pgcheckpoint.api.Database;
import io.pgcheckpoint.api.DatabaseSpec;
import io.pgcheckpoint.api.CheckpointStatus;
import io.pgcheckpoint.api.Restore;
import io.pgcheckpoint.engine.CheckpointException;
import io.pgcheckpoint.engine.PgTools;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * The Jobs that do the work, as pure functions of their owner and its Database. Every pod is
 * admitted under Pod Security "restricted": non-root, all capabilities dropped, no privilege
 * escalation, seccomp RuntimeDefault, read-only root filesystems with size-limited emptyDirs
 * where something writes. Credentials reach the containers only through secretKeyRef (the
 * operator never reads a Secret); the ServiceAccount token only when the Database names one.
 * Images and targets come only from Databases.
 */
public final class JobFactory {
    public static final long DEFAULT_TIMEOUT_SECONDS = 3600;
    public static final int TTL_SECONDS_AFTER_FINISHED = 3600;
    static final long SEAL_DEADLINE_MARGIN_SECONDS = 30;
    /** The pgcheckpoint image's user. */
    static final long WORKER_UID = 65532;
    /** The postgres user of the official and Debian PostgreSQL images (it has a passwd entry, which initdb needs). */
    static final long POSTGRES_UID = 999;
    /** The drill server's socket directory, an emptyDir shared by the pod's two containers only. */
    static final String SOCKET_DIR = "/var/run/postgresql";
    static final String PGDATA_MOUNT = "/var/lib/postgresql/data";
    static final String DRILL_DATABASE = "drill";
    static final long MIB = 1024 * 1024;
    static final long GIB = 1024 * MIB;
    /** Room for the JVM and tools' scratch files besides any downloaded archive. */
    static final long SCRATCH = 512 * MIB;
    /** The dump Job's /tmp with parallel workers when neither spec.dump.scratchLimit nor an earlier archive size is known. */
    static final long DIRECTORY_SCRATCH = 4 * GIB;
    static final long CLEANUP_TIMEOUT_SECONDS = 1800;
    /** Where the dump Job finds the signing key: a Secret volume of one file. */
    static final String SIGNING_VOLUME = "signing-key";
    static final String SIGNING_DIR = "/var/run/pgcheckpoint/signing";
    static final String SIGNING_FILE = "private.pem";

    private final String image;
    private final String defaultDrillImage;
    /** The chart's cleanupServiceAccountName: the cleanup and prune Jobs' identity when a Database names none; may be null. */
    private final String defaultCleanupServiceAccount;

    public JobFactory(String image, String defaultDrillImage) {
        this(image, defaultDrillImage, null);
    }

    public JobFactory(String image, String defaultDrillImage, String defaultCleanupServiceAccount) {
        this.image = image;
        this.defaultDrillImage = defaultDrillImage;
        this.defaultCleanupServiceAccount = defaultCleanupServiceAccount == null || defaultCleanupServiceAccount.isBlank()
                ? null : defaultCleanupServiceAccount;
    }

    /** The drill server's image when neither the Database nor the chart names one: the source's own major. */
    public static final String DEFAULT_DRILL_IMAGE = "postgres:{major}";
    static final String MAJOR = "{major}";

    public static JobFactory fromEnvironment() {
        String drillImage = System.getenv("PGCHECKPOINT_DRILL_IMAGE");
        return new JobFactory(System.getenv().getOrDefault("PGCHECKPOINT_IMAGE", "ghcr.io/pgcheckpoint/pgcheckpoint:0.1.0"),
                drillImage == null || drillImage.isBlank() ? DEFAULT_DRILL_IMAGE : drillImage,
                System.getenv("PGCHECKPOINT_CLEANUP_SERVICE_ACCOUNT"));
    }

    static String drillImage(String template, Integer major) {
        if (!template.contains(MAJOR)) {
            return template;
        }
        if (major == null) {
            throw new CheckpointException("drill.image", "the drill image " + template + " needs the source's major version, "
                    + "which the seal did not report: seal again with this operator's pgcheckpoint image");
        }
        return template.replace(MAJOR, String.valueOf(major));
    }

    /** The sealed source's major version, from the status the dump's result filled in. */
    static Integer sourceMajor(CheckpointStatus.Archive a) {
        if (a == null) {
            return null;
        }
        if (a.serverMajor != null) {
            return a.serverMajor;
        }
        try {
            return a.serverVersion == null || a.serverVersion.isBlank() ? null : PgTools.serverMajor(a.serverVersion);
        } catch (CheckpointException e) {
            return null;
        }
    }

    /** Where a Database's checkpoints live: {@code s3://bucket/prefix/<namespace>/<name>}. */
    public static String storeUri(Database db) {
        DatabaseSpec.StoreSpec s = db.getSpec().store;
        String prefix = s.prefix == null ? "" : s.prefix.replaceAll("^/+|/+$", "");
        return "s3://" + s.bucket + "/" + (prefix.isEmpty() ? "" : prefix + "/") + db.getMetadata().getNamespace()
                + "/" + db.getMetadata().getName();
    }

    public Job dump(Checkpoint c, Database db) {
        return dump(c, db, null);
    }

    /**
     * @param lastArchiveBytes size of this Database's newest sealed archive the operator knows of
     *     (another Checkpoint's status), or null: sizes /tmp when pg_dump writes a directory there
     */
    public Job dump(Checkpoint c, Database db, Long lastArchiveBytes) {
        DatabaseSpec.DumpSpec dump = db.getSpec().dump == null ? new DatabaseSpec.DumpSpec() : db.getSpec().dump;
        // The seal stops itself with a message 30 s before the Job's deadline would kill it without one.
        long deadline = timeout(dump.timeoutSeconds);
        List<String> args = new ArrayList<>(List.of("seal", "--tag", c.tag(), "--output", "json"));
        if (dump.compression != null) {
            // unset: the seal's own default for its pg_dump (auto)
            args.addAll(List.of("--compress", dump.compression.getIntVal() != null ? String.valueOf(dump.compression.getIntVal())
                    : dump.compression.getStrVal()));
        }
        args.addAll(List.of("--timeout", (deadline - SEAL_DEADLINE_MARGIN_SECONDS) + "s",
                "--lock-wait-timeout", (dump.lockWaitSeconds == null ? 30 : dump.lockWaitSeconds) + "s"));
        if (c.getSpec().commit != null) {
            args.addAll(List.of("--commit", c.getSpec().commit));
        }
        if (c.getSpec().reason != null) {
            args.addAll(List.of("--reason", c.getSpec().reason));
        }
        for (String schema : dump.excludeSchemas == null ? List.<String>of() : dump.excludeSchemas) {
            args.addAll(List.of("--exclude-schema", schema));
        }
        for (String table : dump.excludeTables == null ? List.<String>of() : dump.excludeTables) {
            args.addAll(List.of("--exclude-table", table));
        }
        int jobs = dump.jobs == null ? 1 : dump.jobs;
        if (jobs > 1) {
            // only when parallel: unset or 1 keeps the seal's single pg_dump -Fc stream and the arguments it always had
            args.addAll(List.of("--jobs", String.valueOf(jobs)));
        }
        List<EnvVar> env = new ArrayList<>(storeEnv(db));
        env.addAll(connectionEnv(db.getSpec().connection));
        DatabaseSpec.ObjectLockSpec lock = db.getSpec().store.objectLock;
        if (lock != null) {
            env.add(env("PGCHECKPOINT_OBJECT_LOCK_MODE", lock.mode.name()));
            env.add(env("PGCHECKPOINT_OBJECT_LOCK_DAYS", String.valueOf(lock.retainDays)));
        }
        // One stream (jobs 1): pg_dump streams to the bucket, /tmp holds nothing but small scratch
        // files. Parallel workers write pg_dump's directory to /tmp, each file uploaded, then removed.
        List<Volume> volumes = new ArrayList<>(List.of(jobs > 1
                ? new VolumeBuilder().withName("tmp").withNewEmptyDir().withSizeLimit(directoryScratch(dump, lastArchiveBytes))
                        .endEmptyDir().build()
                : emptyDir("tmp", SCRATCH)));
        DatabaseSpec.SecretKey signing = signingKey(db);
        if (signing != null) {
            // the private key: a file in this Job only, readable by the worker's group, never in an env var
            args.addAll(List.of("--signing-key", SIGNING_DIR + "/" + SIGNING_FILE));
            volumes.add(new VolumeBuilder().withName(SIGNING_VOLUME).withNewSecret().withSecretName(signing.name)
                    .addNewItem().withKey(signing.key).withPath(SIGNING_FILE).endItem()
                    .withDefaultMode(0440).withOptional(false).endSecret().build());
        }
        Container main = mainContainer(args, env, db);
        if (signing != null) {
            main.getVolumeMounts().add(new VolumeMountBuilder().withName(SIGNING_VOLUME).withMountPath(SIGNING_DIR)
                    .withReadOnly(true).build());
        }
        return job(c, JobNames.dump(c), "dump", Labels.CHECKPOINT, deadline, db, List.of(), main, volumes);
    }

    /**
     * The dump Job's /tmp with parallel workers. It holds the files pg_dump is writing and those
     * waiting for upload: at worst the whole archive. spec.dump.scratchLimit when set; else twice
     * the newest known archive (room for growth) plus the usual scratch, at least 1 GiB; else 4 GiB.
     * Too small, and the kubelet evicts the pod for exceeding it: the user sets scratchLimit.
     */
    static Quantity directoryScratch(DatabaseSpec.DumpSpec dump, Long lastArchiveBytes) {
        if (dump.scratchLimit != null) {
            return dump.scratchLimit;
        }
        if (lastArchiveBytes != null && lastArchiveBytes > 0) {
            return bytes(Math.max(GIB, 2 * lastArchiveBytes + SCRATCH));
        }
        return bytes(DIRECTORY_SCRATCH);
    }

    public Job drill(Checkpoint c, Database db) {
        DatabaseSpec.DrillSpec drill = db.getSpec().drill == null ? new DatabaseSpec.DrillSpec() : db.getSpec().drill;
        long archiveBytes = c.getStatus() != null && c.getStatus().archive != null && c.getStatus().archive.bytes != null
                ? c.getStatus().archive.bytes : 0;
        String serverVersion = c.getStatus() != null && c.getStatus().archive != null ? c.getStatus().archive.serverVersion : null;
        String drillImage = drillImage(c, db, serverVersion);
        // The throwaway server: a native sidecar listening on a Unix socket only, in an emptyDir the two
        // containers share; trust there, so no password exists anywhere. Data in an emptyDir, durability off.
        Container postgres = new ContainerBuilder().withName(Labels.DRILL_SERVER_CONTAINER)
                .withImage(drillImage)
                .withImagePullPolicy("IfNotPresent").withRestartPolicy("Always")
                .withArgs("postgres", "-c", "listen_addresses=", "-c", "unix_socket_directories=" + SOCKET_DIR,
                        "-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off",
                        "-c", "max_wal_size=4GB", "-c", "maintenance_work_mem=256MB")
                .withEnv(env("POSTGRES_HOST_AUTH_METHOD", "trust"), env("POSTGRES_USER", "postgres"),
                        env("POSTGRES_DB", DRILL_DATABASE), env("PGDATA", PGDATA_MOUNT + "/pgdata"))
                // No startup probe on purpose: the drill container starts at once and downloads the
                // archive while this server boots; `drill --target` waits for it to accept connections.
                .withResources(drill.resources)
                .withSecurityContext(restricted(POSTGRES_UID))
                .withVolumeMounts(mount("pgdata", PGDATA_MOUNT), mount("pgrun", SOCKET_DIR), mount("pgtmp", "/tmp"))
                .build();
        List<String> args = List.of("drill", "--tag", c.tag(), "--output", "json",
                "--jobs", String.valueOf(drill.jobs == null ? 2 : drill.jobs),
                "--target", "postgresql://postgres@/" + DRILL_DATABASE + "?host=" + SOCKET_DIR + "&sslmode=disable");
        List<EnvVar> env = new ArrayList<>(storeEnv(db));
        env.addAll(verifyEnv(db));
        // named in the drill's messages, e.g. when the server is older than the source
        env.add(env("PGCHECKPOINT_DRILL_SERVER_IMAGE", drillImage));
        Container main = mainContainer(args, env, db);
        main.getVolumeMounts().add(mount("pgrun", SOCKET_DIR));
        Quantity dataLimit = drill.storageLimit != null ? drill.storageLimit : bytes(Math.max(GIB, 10 * archiveBytes));
        return job(c, JobNames.drill(c), "drill", Labels.CHECKPOINT, timeout(drill.timeoutSeconds), db, List.of(postgres), main,
                List.of(emptyDir("tmp", archiveBytes + SCRATCH), // the archive is downloaded here
                        new VolumeBuilder().withName("pgdata").withNewEmptyDir().withSizeLimit(dataLimit).endEmptyDir().build(),
                        emptyDir("pgrun", MIB), emptyDir("pgtmp", 64 * MIB)));
    }

    /**
     * The drill server's image: the Database's template, else the operator's default, with {major}
     * replaced by the source's major version (the seal's serverMajor, else parsed from its server
     * version), so that the archive is proven on the major it came from. The only place the choice is made.
     */
    String drillImage(Checkpoint c, Database db, String serverVersion) {
        DatabaseSpec.DrillSpec drill = db.getSpec().drill;
        String template = drill != null && drill.image != null ? drill.image : defaultDrillImage;
        Integer major = c.getStatus() == null ? null : sourceMajor(c.getStatus().archive);
        if (major == null && serverVersion != null && !serverVersion.isBlank()) {
            try {
                major = PgTools.serverMajor(serverVersion);
            } catch (CheckpointException e) {
                major = null;
            }
        }
        return drillImage(template, major);
    }

    /**
     * @param source the checkpoint's Database: its bucket, and the identity the Job runs with
     * @param target the Database restored into: the checkpoint's own, or another one in the namespace
     */
    public Job restore(Restore r, Checkpoint c, Database source, Database target) {
        List<String> args = new ArrayList<>(List.of("restore", "--tag", c.tag(), "--output", "json",
                "--mode", r.getSpec().mode == null ? "side-by-side" : switch (r.getSpec().mode) {
                    case SideBySide -> "side-by-side";
                    case Replace -> "replace";
                }));
        for (String table : r.getSpec().tables) {
            args.addAll(List.of("--table", table));
        }
        if (r.getSpec().confirm != null) {
            args.addAll(List.of("--confirm", r.getSpec().confirm));
        }
        if (r.getSpec().intoSchema != null) {
            args.addAll(List.of("--into-schema", r.getSpec().intoSchema));
        }
        if (Boolean.TRUE.equals(r.getSpec().plan)) {
            args.add("--plan");
        }
        List<EnvVar> env = new ArrayList<>(storeEnv(source));
        env.addAll(verifyEnv(source));
        env.addAll(connectionEnv(target.getSpec().connection));
        long archiveBytes = c.getStatus() != null && c.getStatus().archive != null && c.getStatus().archive.bytes != null
                ? c.getStatus().archive.bytes : 0;
        Container main = mainContainer(args, env, source);
        return job(r, JobNames.restore(r), "restore", Labels.RESTORE, DEFAULT_TIMEOUT_SECONDS, source, List.of(), main,
                List.of(emptyDir("tmp", archiveBytes + SCRATCH)));
    }

    /**
     * Removes every object of a deleted Checkpoint (deletionPolicy Delete). Runs as the cleanup
     * ServiceAccount. Deliberately not owned by the Checkpoint: its deletion, foreground or not,
     * must not take the Job with it; it points back with annotations, and goes by its TTL.
     *
     * @param attempt 1 for the first Job, one more for each retry (a Job is never run twice)
     */
    public Job cleanup(Checkpoint c, Database db, int attempt) {
        List<String> args = List.of("delete", "--tag", c.tag(), "--output", "json");
        List<EnvVar> env = new ArrayList<>(storeEnv(db));
        env.addAll(verifyEnv(db));
        Container main = mainContainer(args, env, db);
        Job job = job(c, JobNames.cleanup(c, attempt), "cleanup", Labels.CHECKPOINT, CLEANUP_TIMEOUT_SECONDS,
                cleanupServiceAccount(db), false, List.of(), main, List.of(emptyDir("tmp", SCRATCH)));
        job.getMetadata().getAnnotations().put(Labels.OWNER_UID, c.getMetadata().getUid());
        return job;
    }

    /**
     * Applies the Database's retention to its bucket. Runs as the cleanup ServiceAccount, owned by
     * the Database.
     *
     * @param protect tags of checkpoints still in progress here, which prune must not touch
     * @param number 1 for the Database's first prune Job, one more for each later one
     */
    public Job prune(Database db, List<String> protect, int number) {
        DatabaseSpec.RetentionSpec retention = db.getSpec().retention;
        List<String> args = new ArrayList<>(List.of("prune", "--output", "json"));
        if (retention.keepLast != null) {
            args.addAll(List.of("--keep-last", String.valueOf(retention.keepLast)));
        }
        if (retention.maxAge != null) {
            args.addAll(List.of("--max-age", retention.maxAge));
        }
        for (String tag : protect) {
            args.addAll(List.of("--protect", tag));
        }
        List<EnvVar> env = new ArrayList<>(storeEnv(db));
        env.addAll(verifyEnv(db));
        Container main = mainContainer(args, env, db);
        return job(db, JobNames.prune(db, number), "prune", Labels.DATABASE, CLEANUP_TIMEOUT_SECONDS, cleanupServiceAccount(db), true,
                List.of(), main, List.of(emptyDir("tmp", SCRATCH)));
    }

    /**
     * The identity that may delete from the bucket: the Database's cleanupServiceAccountName, else
     * the chart's, else the Database's serviceAccountName (the Jobs' own).
     */
    String cleanupServiceAccount(Database db) {
        if (db.getSpec().cleanupServiceAccountName != null) {
            return db.getSpec().cleanupServiceAccountName;
        }
        return defaultCleanupServiceAccount != null ? defaultCleanupServiceAccount : db.getSpec().serviceAccountName;
    }

    static DatabaseSpec.SecretKey signingKey(Database db) {
        return db.getSpec().signing == null ? null : db.getSpec().signing.privateKeySecret;
    }

    /** The public key that every reading Job verifies manifests with; nothing when the Database signs nothing. */
    static List<EnvVar> verifyEnv(Database db) {
        DatabaseSpec.SigningSpec signing = db.getSpec().signing;
        return signing == null || signing.publicKey == null ? List.of() : List.of(env("PGCHECKPOINT_VERIFY_KEY", signing.publicKey));
    }

    private static long timeout(Long seconds) {
        return seconds == null ? DEFAULT_TIMEOUT_SECONDS : seconds;
    }

    private Container mainContainer(List<String> args, List<EnvVar> env, Database db) {
        List<EnvVar> all = new ArrayList<>(env);
        all.add(env("PGCHECKPOINT_RESULT_FILE", "/dev/termination-log"));
        all.add(env("JAVA_OPTS", "-Xmx200m -XX:+UseSerialGC -XX:TieredStopAtLevel=1"));
        all.add(env("TMPDIR", "/tmp"));
        return new ContainerBuilder().withName(Labels.MAIN_CONTAINER).withImage(image).withImagePullPolicy("IfNotPresent")
                .withArgs(args).withEnv(all)
                .withTerminationMessagePath("/dev/termination-log").withTerminationMessagePolicy("FallbackToLogsOnError")
                .withResources(db.getSpec().jobResources)
                .withSecurityContext(restricted(WORKER_UID))
                .withVolumeMounts(new ArrayList<>(List.of(mount("tmp", "/tmp"))))
                .build();
    }

    /** What Pod Security "restricted" asks of every container, and a read-only root filesystem. */
    static SecurityContext restricted(long uid) {
        return new SecurityContextBuilder().withRunAsNonRoot(true).withRunAsUser(uid).withRunAsGroup(uid)
                .withReadOnlyRootFilesystem(true).withAllowPrivilegeEscalation(false)
                .withNewCapabilities().withDrop("ALL").endCapabilities()
                .withNewSeccompProfile().withType("RuntimeDefault").endSeccompProfile().build();
    }

    private static Job job(HasMetadata owner, String name, String role, String ownerLabel, long deadline, Database db,
                           List<Container> sidecars, Container main, List<Volume> volumes) {
        return job(owner, name, role, ownerLabel, deadline, db.getSpec().serviceAccountName, true, sidecars, main, volumes);
    }

    private static Job job(HasMetadata owner, String name, String role, String ownerLabel, long deadline, String serviceAccount,
                           boolean owned, List<Container> sidecars, Container main, List<Volume> volumes) {
        Map<String, String> labels = Map.of(Labels.MANAGED_BY, Labels.OPERATOR,
                ownerLabel, JobNames.labelValue(owner.getMetadata().getName()), Labels.ROLE, role);
        Map<String, String> annotations = Map.of(Labels.OWNER, owner.getMetadata().getName());
        return new JobBuilder()
                .withNewMetadata().withName(name).withNamespace(owner.getMetadata().getNamespace()).withLabels(labels)
                .withAnnotations(new java.util.HashMap<>(annotations))
                .withOwnerReferences(owned ? List.of(new OwnerReferenceBuilder().withApiVersion(owner.getApiVersion()).withKind(owner.getKind())
                        .withName(owner.getMetadata().getName()).withUid(owner.getMetadata().getUid())
                        .withController(true).withBlockOwnerDeletion(true).build()) : List.of())
                .endMetadata()
                .withNewSpec().withBackoffLimit(0).withActiveDeadlineSeconds(deadline)
                .withTtlSecondsAfterFinished(TTL_SECONDS_AFTER_FINISHED)
                .withNewTemplate().withNewMetadata().withLabels(labels).withAnnotations(annotations).endMetadata()
                .withSpec(new PodSpecBuilder().withRestartPolicy("Never")
                        // workload identity to the bucket (IRSA, GKE): only the Database's own ServiceAccount gets a token
                        .withServiceAccountName(serviceAccount).withAutomountServiceAccountToken(serviceAccount != null)
                        .withEnableServiceLinks(false)
                        .withSecurityContext(new PodSecurityContextBuilder().withRunAsNonRoot(true).withRunAsUser(WORKER_UID)
                                .withRunAsGroup(WORKER_UID).withFsGroup(WORKER_UID)
                                .withNewSeccompProfile().withType("RuntimeDefault").endSeccompProfile().build())
                        .withInitContainers(sidecars).withContainers(main).withVolumes(volumes)
                        .build())
                .endTemplate().endSpec().build();
    }

    static List<EnvVar> storeEnv(Database db) {
        DatabaseSpec.StoreSpec s = db.getSpec().store;
        List<EnvVar> env = new ArrayList<>();
        env.add(env("PGCHECKPOINT_STORE", storeUri(db)));
        if (s.serverSideEncryption != null) {
            // every object any Job writes (archive, manifest, drill report) is encrypted the same way
            env.add(env("PGCHECKPOINT_SSE", s.serverSideEncryption.algorithm));
            if (s.serverSideEncryption.kmsKeyId != null) {
                env.add(env("PGCHECKPOINT_SSE_KMS_KEY_ID", s.serverSideEncryption.kmsKeyId));
            }
        }
        if (s.region != null) {
            env.add(env("AWS_REGION", s.region));
        }
        if (s.endpoint != null) {
            env.add(env("AWS_ENDPOINT_URL_S3", s.endpoint));
        }
        env.add(env("PGCHECKPOINT_S3_PATH_STYLE", String.valueOf(Boolean.TRUE.equals(s.pathStyle))));
        if (s.credentialsSecret != null) {
            env.add(secret("AWS_ACCESS_KEY_ID", s.credentialsSecret, "AWS_ACCESS_KEY_ID", false));
            env.add(secret("AWS_SECRET_ACCESS_KEY", s.credentialsSecret, "AWS_SECRET_ACCESS_KEY", false));
        }
        return env;
    }

    static List<EnvVar> connectionEnv(DatabaseSpec.Connection c) {
        List<EnvVar> env = new ArrayList<>();
        if (c.key != null) {
            env.add(secret("PGCHECKPOINT_DB_URI", c.secretName, c.key, false));
        } else {
            env.add(secret("PGHOST", c.secretName, "host", false));
            env.add(secret("PGPORT", c.secretName, "port", true));
            env.add(secret("PGUSER", c.secretName, "user", false));
            env.add(secret("PGPASSWORD", c.secretName, "password", false));
            env.add(secret("PGDATABASE", c.secretName, "dbname", false));
        }
        env.add(env("PGSSLMODE", c.sslmode == null ? "prefer" : c.sslmode));
        return env;
    }

    private static Volume emptyDir(String name, long limitBytes) {
        return new VolumeBuilder().withName(name).withNewEmptyDir().withSizeLimit(bytes(limitBytes)).endEmptyDir().build();
    }

    /** A size in whole MiB, rounded up. */
    static Quantity bytes(long n) {
        return new Quantity(((n + MIB - 1) / MIB) + "Mi");
    }

    private static EnvVar env(String name, String value) {
        return new EnvVarBuilder().withName(name).withValue(value).build();
    }

    private static EnvVar secret(String name, String secret, String key, boolean optional) {
        return new EnvVarBuilder().withName(name).withNewValueFrom().withNewSecretKeyRef(key, secret, optional).endValueFrom().build();
    }

    private static VolumeMount mount(String name, String path) {
        return new VolumeMountBuilder().withName(name).withMountPath(path).build();
    }
}
