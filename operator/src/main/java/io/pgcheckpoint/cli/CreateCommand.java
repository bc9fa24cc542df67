package io.pgcheckpoint.cli;

import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.fabric8.kubernetes.client.KubernetesClientTimeoutException;
import io.pgcheckpoint.api.Checkpoint;
import io.pgcheckpoint.api.CheckpointSpec;
import io.pgcheckpoint.api.CheckpointStatus.Phase;
import io.pgcheckpoint.engine.CheckpointException;
import io.pgcheckpoint.engine.Progress;
import io.pgcheckpoint.engine.Tags;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(name = "create", mixinStandardHelpOptions = true,
        description = {"Create a Checkpoint in the cluster and, with --wait, follow it until it is Proven or Failed.",
                "Exit codes with --wait: 0 Proven, 1 Failed (message printed), 2 timed out (or invalid usage)."})
final class CreateCommand extends ClusterCommand implements Callable<Integer> {
    static final int TIMED_OUT = 2;

    @Option(names = "--database", required = true, description = "Name of the Database resource.")
    String database;

    @Option(names = "--tag", required = true, description = "Checkpoint tag, also the resource's name (lowercased).")
    String tag;

    @Option(names = "--commit", description = "Commit about to deploy.")
    String commit;

    @Option(names = "--reason", description = "Why, e.g. 'pre-deploy'.")
    String reason;

    @Option(names = "--wait", description = "Wait until Proven or Failed.")
    boolean waitForIt;

    @Option(names = "--skip-if-database-missing", description = {"Exit 0 without creating anything when the Database does not exist",
            "(the Helm hook passes it on a release's first install, when a Database defined in the same release is not created yet)."})
    boolean skipIfDatabaseMissing;

    @Option(names = "--timeout", defaultValue = "30m", description = "How long --wait waits, e.g. 90s, 30m, 1h (default ${DEFAULT-VALUE}).")
    String timeout;

    @Override
    public Integer call() {
        Tags.check(tag);
        Duration limit = parseDuration(timeout);
        String name = Tags.resourceName(tag);
        Progress progress = output.progress();
        try (KubernetesClient client = client()) {
            String ns = namespace(client);
            if (skipIfDatabaseMissing && databaseMissing(client, ns)) {
                String why = "Database " + ns + "/" + database + " does not exist yet: nothing to checkpoint, nothing created";
                output.result(Map.of("ok", true, "skipped", true, "message", why), () -> System.out.println("skipped: " + why));
                return 0;
            }
            Checkpoint c = new Checkpoint();
            c.setMetadata(new ObjectMetaBuilder().withName(name).withNamespace(ns).build());
            CheckpointSpec spec = new CheckpointSpec();
            spec.database = database;
            spec.tag = tag;
            spec.commit = commit;
            spec.reason = reason;
            c.setSpec(spec);
            try {
                client.resource(c).create();
            } catch (KubernetesClientException e) {
                if (e.getCode() == 409) {
                    throw new CheckpointException("cluster.exists", "Checkpoint " + ns + "/" + name
                            + " already exists: tags are never reused; choose a new tag");
                }
                throw new CheckpointException("cluster.error", "cannot create Checkpoint " + ns + "/" + name + ": " + e.getMessage());
            }
            progress.step("created checkpoint " + ns + "/" + name + " for database " + database);
            if (!waitForIt) {
                output.result(Map.of("ok", true, "name", name, "namespace", ns), () -> System.out.println("checkpoint " + ns + "/" + name + " created"));
                return 0;
            }
            AtomicReference<String> last = new AtomicReference<>("");
            Checkpoint done;
            try {
                done = client.resources(Checkpoint.class).inNamespace(ns).withName(name).waitUntilCondition(x -> {
                    if (x == null || x.getStatus() == null) {
                        return false;
                    }
                    String line = x.getStatus().phase + ": " + x.getStatus().message;
                    if (!line.equals(last.getAndSet(line))) {
                        progress.step(line);
                    }
                    return x.getStatus().phase == Phase.Proven || x.getStatus().phase == Phase.Failed;
                }, limit.toMillis(), TimeUnit.MILLISECONDS);
            } catch (KubernetesClientTimeoutException e) {
                Map<String, Object> m = Map.of("ok", false, "error", "timeout", "name", name,
                        "message", "not Proven within " + timeout + " (last: " + last.get() + "); the checkpoint goes on in the cluster");
                output.result(m, () -> System.err.println("error: " + m.get("message")));
                return TIMED_OUT;
            }
            Map<String, Object> summary = summary(done);
            boolean proven = done.getStatus().phase == Phase.Proven;
            summary.put("ok", proven);
            output.result(summary, () -> System.out.println((proven ? "PROVEN " : "FAILED ") + ns + "/" + name + ": " + done.getStatus().message));
            return proven ? 0 : Main.FAILED;
        }
    }

    private boolean databaseMissing(KubernetesClient client, String ns) {
        try {
            return client.resources(io.pgcheckpoint.api.Database.class).inNamespace(ns).withName(database).get() == null;
        } catch (KubernetesClientException e) {
            throw new CheckpointException("cluster.error", "cannot check whether Database " + ns + "/" + database + " exists ("
                    + e.getCode() + "): --skip-if-database-missing needs permission to get databases.pgcheckpoint.io");
        }
    }

    /** Go-style durations as kubectl and Helm take them: 90s, 30m, 1h30m; a bare number is seconds. */
    static Duration parseDuration(String text) {
        try {
            return io.pgcheckpoint.engine.Durations.parse(text);
        } catch (IllegalArgumentException e) {
            throw new CheckpointException("usage.timeout", "invalid --timeout '" + text + "': use e.g. 90s, 30m or 1h30m");
        }
    }
}
