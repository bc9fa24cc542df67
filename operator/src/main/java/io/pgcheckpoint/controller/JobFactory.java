package io.pgcheckpoint.controller;

import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.ContainerBuilder;
import io.fabric8.kubernetes.api.model.EnvVar;
import io.fabric8.kubernetes.api.model.EnvVarBuilder;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.OwnerReferenceBuilder;
import io.fabric8.kubernetes.api.model.PodSpecBuilder;
import io.fabric8.kubernetes.api.model.SecurityContextBuilder;
import io.fabric8.kubernetes.api.model.VolumeBuilder;
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
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;

/**
 * The Jobs that do the work. Credentials reach them only through secretKeyRef; the operator
 * never reads a Secret's values. Every pod runs non-root with a read-only root filesystem;
 * the result comes back through the main container's termination message.
 */
public final class JobFactory {
    public static final long DEFAULT_TIMEOUT_SECONDS = 3600;
    public static final int TTL_SECONDS_AFTER_FINISHED = 3600;
    private static final long NON_ROOT_UID = 65532;
    private final String image;
    private final String defaultDrillImage;

    public JobFactory(String image, String defaultDrillImage) {
        this.image = image;
        this.defaultDrillImage = defaultDrillImage;
    }

    /** The drill server's image when neither the Database nor the chart names one: the source's own major. */
    public static final String DEFAULT_DRILL_IMAGE = "postgres:{major}";
    static final String MAJOR = "{major}";

    public static JobFactory fromEnvironment() {
        String drillImage = System.getenv("PGCHECKPOINT_DRILL_IMAGE");
        return new JobFactory(System.getenv().getOrDefault("PGCHECKPOINT_IMAGE", "ghcr.io/pgcheckpoint/pgcheckpoint:0.1.0"),
                drillImage == null || drillImage.isBlank() ? DEFAULT_DRILL_IMAGE : drillImage);
    }

    /**
     * The drill server's image for a checkpoint: the template (Checkpoint, else Database, else the
     * operator's default) with {major} replaced by the source's major version.
     */
    public String drillImage(Checkpoint c, Database db) {
        DatabaseSpec.DrillSpec drill = db.getSpec().drill == null ? new DatabaseSpec.DrillSpec() : db.getSpec().drill;
        String template = c.getSpec().drillImage != null ? c.getSpec().drillImage
                : drill.image != null ? drill.image : defaultDrillImage;
        return drillImage(template, c.getStatus() == null ? null : sourceMajor(c.getStatus().archive));
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

    public static String dumpJobName(Checkpoint c) {
        return jobName(c.getMetadata().getName(), "dump");
    }

    public static String drillJobName(Checkpoint c) {
        return jobName(c.getMetadata().getName(), "drill");
    }

    public static String restoreJobName(Restore r) {
        return jobName(r.getMetadata().getName(), "restore");
    }

    /** Deterministic names: a second create of the same Job fails with 409, never runs twice. */
    private static String jobName(String owner, String role) {
        String name = owner.length() > 52 ? owner.substring(0, 52) : owner;
        return name + "-" + role;
    }

    static final long SEAL_DEADLINE_MARGIN_SECONDS = 30;

    public Job dump(Checkpoint c, Database db) {
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
        List<EnvVar> env = new ArrayList<>(storeEnv(db));
        env.addAll(connectionEnv(db.getSpec().connection));
        Container main = mainContainer(args, env, db);
        return job(c, dumpJobName(c), "dump", Labels.CHECKPOINT, deadline, List.of(), main);
    }

    public Job drill(Checkpoint c, Database db) {
        DatabaseSpec.DrillSpec drill = db.getSpec().drill == null ? new DatabaseSpec.DrillSpec() : db.getSpec().drill;
        String password = HexFormat.of().formatHex(new SecureRandom().generateSeed(16));
        String drillImage = drillImage(c, db);
        // The throwaway server: a native sidecar on localhost only, data in an emptyDir, durability off.
        Container postgres = new ContainerBuilder().withName("postgres").withImage(drillImage)
                .withImagePullPolicy("IfNotPresent").withRestartPolicy("Always")
                .withArgs("postgres", "-c", "listen_addresses=127.0.0.1", "-c", "fsync=off", "-c", "synchronous_commit=off",
                        "-c", "full_page_writes=off", "-c", "max_wal_size=4GB", "-c", "maintenance_work_mem=256MB")
                .withEnv(env("POSTGRES_PASSWORD", password), env("POSTGRES_USER", "postgres"), env("POSTGRES_DB", "drill"),
                        env("PGDATA", "/var/lib/postgresql/data/pgdata"))
                // No startup probe on purpose: the drill container starts at once and downloads the
                // archive while this server boots; `drill --target` waits for it to accept connections.
                .withResources(drill.resources)
                .withSecurityContext(new SecurityContextBuilder().withAllowPrivilegeEscalation(false).build())
                .withVolumeMounts(mount("pgdata", "/var/lib/postgresql/data"), mount("pgrun", "/var/run/postgresql"))
                .build();
        List<String> args = List.of("drill", "--tag", c.tag(), "--output", "json",
                "--jobs", String.valueOf(drill.jobs == null ? 2 : drill.jobs),
                "--target", "postgresql://postgres:" + password + "@127.0.0.1:5432/drill?sslmode=disable");
        List<EnvVar> env = new ArrayList<>(storeEnv(db));
        // named in the drill's messages, e.g. when the server is older than the source
        env.add(env("PGCHECKPOINT_DRILL_SERVER_IMAGE", drillImage));
        Container main = mainContainer(args, env, db);
        return job(c, drillJobName(c), "drill", Labels.CHECKPOINT, timeout(drill.timeoutSeconds), List.of(postgres), main);
    }

    public Job restore(Restore r, Checkpoint c, Database db) {
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
        List<EnvVar> env = new ArrayList<>(storeEnv(db));
        env.addAll(connectionEnv(r.getSpec().target != null ? r.getSpec().target : db.getSpec().connection));
        Container main = mainContainer(args, env, db);
        return job(r, restoreJobName(r), "restore", Labels.RESTORE, DEFAULT_TIMEOUT_SECONDS, List.of(), main);
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
                .withSecurityContext(new SecurityContextBuilder().withRunAsNonRoot(true).withRunAsUser(NON_ROOT_UID)
                        .withReadOnlyRootFilesystem(true).withAllowPrivilegeEscalation(false)
                        .withNewCapabilities().withDrop("ALL").endCapabilities()
                        .withNewSeccompProfile().withType("RuntimeDefault").endSeccompProfile().build())
                .withVolumeMounts(mount("tmp", "/tmp"))
                .build();
    }

    private static Job job(HasMetadata owner, String name, String role, String ownerLabel, long deadline,
                           List<Container> sidecars, Container main) {
        Map<String, String> labels = Map.of(Labels.MANAGED_BY, Labels.OPERATOR, ownerLabel, owner.getMetadata().getName(),
                Labels.ROLE, role);
        return new JobBuilder()
                .withNewMetadata().withName(name).withNamespace(owner.getMetadata().getNamespace()).withLabels(labels)
                .withOwnerReferences(new OwnerReferenceBuilder().withApiVersion(owner.getApiVersion()).withKind(owner.getKind())
                        .withName(owner.getMetadata().getName()).withUid(owner.getMetadata().getUid())
                        .withController(true).withBlockOwnerDeletion(true).build())
                .endMetadata()
                .withNewSpec().withBackoffLimit(0).withActiveDeadlineSeconds(deadline)
                .withTtlSecondsAfterFinished(TTL_SECONDS_AFTER_FINISHED)
                .withNewTemplate().withNewMetadata().withLabels(labels).endMetadata()
                .withSpec(new PodSpecBuilder().withRestartPolicy("Never").withAutomountServiceAccountToken(false)
                        .withEnableServiceLinks(false)
                        .withInitContainers(sidecars).withContainers(main)
                        .withVolumes(new VolumeBuilder().withName("tmp").withNewEmptyDir().endEmptyDir().build(),
                                new VolumeBuilder().withName("pgdata").withNewEmptyDir().endEmptyDir().build(),
                                new VolumeBuilder().withName("pgrun").withNewEmptyDir().endEmptyDir().build())
                        .build())
                .endTemplate().endSpec().build();
    }

    static List<EnvVar> storeEnv(Database db) {
        DatabaseSpec.StoreSpec s = db.getSpec().store;
        List<EnvVar> env = new ArrayList<>();
        env.add(env("PGCHECKPOINT_STORE", storeUri(db)));
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

    private static EnvVar env(String name, String value) {
        return new EnvVarBuilder().withName(name).withValue(value).build();
    }

    private static EnvVar secret(String name, String secret, String key, boolean optional) {
        return new EnvVarBuilder().withName(name).withNewValueFrom().withNewSecretKeyRef(key, secret, optional).endValueFrom().build();
    }

    private static io.fabric8.kubernetes.api.model.VolumeMount mount(String name, String path) {
        return new VolumeMountBuilder().withName(name).withMountPath(path).build();
    }
}
