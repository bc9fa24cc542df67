package io.pgcheckpoint.controller;

import io.fabric8.kubernetes.api.model.ContainerStatus;
import io.fabric8.kubernetes.api.model.Event;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.batch.v1.Job;
import io.fabric8.kubernetes.api.model.batch.v1.JobCondition;
import io.javaoperatorsdk.operator.api.reconciler.Context;
import io.pgcheckpoint.api.Database;
import io.pgcheckpoint.api.DatabaseSpec;
import io.pgcheckpoint.api.Reasons;
import io.pgcheckpoint.engine.CommandError;
import io.pgcheckpoint.engine.CommandResult;
import io.pgcheckpoint.engine.Json;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashSet;
import java.util.Set;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * Turns a Job, its pod and the Job controller's Events into a {@link JobOutcome}, from the
 * informer caches. Reads the command's result with Jackson into the record the CLI wrote.
 */
final class JobObserver {
    /** The kubelet's words when a container's environment names a Secret that does not exist. */
    static final Pattern SECRET_NOT_FOUND = Pattern.compile("secrets? \"([^\"]+)\" not found");
    /** ... or a key the Secret lacks. */
    static final Pattern KEY_NOT_FOUND = Pattern.compile("couldn't find key (\\S+) in Secret ([^/\\s]+)/(\\S+)");
    /** ... or, for a Secret volume, a key the Secret lacks. */
    static final Pattern MOUNT_KEY_NOT_FOUND = Pattern.compile("non-existent secret key: (\\S+)");
    static final List<String> IMAGE_INVALID = List.of("InvalidImageName", "ErrImageNeverPull");
    static final List<String> IMAGE_BACK_OFF = List.of("ErrImagePull", "ImagePullBackOff");
    /** The kubelet's words for a Secret or ConfigMap it has not read into its cache yet: it retries. */
    static final Pattern CACHE_NOT_SYNCED = Pattern.compile("failed to sync \\w+ cache");

    private JobObserver() {
    }

    /**
     * @param databases the Databases whose Secrets the Job reads, to say which Secret is which
     */
    static <T extends CommandResult> JobOutcome<T> observe(Context<?> context, HasMetadata owner, String jobName, Class<T> type,
                                                           List<Database> databases) {
        Optional<Job> cached = context.getSecondaryResources(Job.class).stream()
                .filter(j -> jobName.equals(j.getMetadata().getName())).findFirst();
        // a Job created moments ago may not be in the cache yet: then one direct read
        Job job = cached.orElseGet(() -> context.getClient().batch().v1().jobs()
                .inNamespace(owner.getMetadata().getNamespace()).withName(jobName).get());
        if (job == null) {
            return JobOutcome.missing();
        }
        if (!job.hasOwnerReferenceFor(owner.getMetadata().getUid())
                && !Objects.equals(owner.getMetadata().getUid(), annotation(job, Labels.OWNER_UID))) {
            return JobOutcome.blocked(Reasons.JOB_CONFLICT, "a Job named " + jobName + " exists but belongs to another object");
        }
        List<Pod> pods = context.getSecondaryResources(Pod.class).stream().filter(p -> ownedBy(p, job)).toList();
        // the Job controller's Events about the Job, and the kubelet's about its pod (a volume it cannot mount)
        Set<String> about = new HashSet<>();
        about.add(job.getMetadata().getUid());
        pods.forEach(p -> about.add(p.getMetadata().getUid()));
        List<Event> events = context.getSecondaryResources(Event.class).stream()
                .filter(e -> e.getInvolvedObject() != null && about.contains(e.getInvolvedObject().getUid()))
                .toList();
        return outcome(job, pods, events, type, databases);
    }

    /**
     * The kubelet evicted the Job's pod: an emptyDir over its sizeLimit, the pod over its
     * ephemeral-storage limit, or the node short of memory or disk. The container's last words
     * (its log's tail, or an error about a signal) do not say so; the pod's status does. With the
     * Database field that raises the limit, for the two emptyDirs a Database sizes.
     */
    static CommandError evicted(Job job, Collection<Pod> pods) {
        for (Pod pod : pods) {
            if (pod.getStatus() == null || !"Evicted".equals(pod.getStatus().getReason())) {
                continue;
            }
            String why = pod.getStatus().getMessage() == null ? "" : pod.getStatus().getMessage().strip().replaceAll("\\.$", "");
            String role = job.getMetadata().getLabels() == null ? null : job.getMetadata().getLabels().get(Labels.ROLE);
            String fix;
            if ("dump".equals(role) && why.contains("\"tmp\"")) {
                fix = "the dump Job's /tmp holds pg_dump's directory when spec.dump.jobs is above 1: raise the Database's "
                        + "spec.dump.scratchLimit (or lower spec.dump.jobs), then create a new Checkpoint";
            } else if ("drill".equals(role) && why.contains("\"pgdata\"")) {
                fix = "raise the Database's spec.drill.storageLimit, then create a new Checkpoint";
            } else {
                fix = "check the node's free memory and disk and the pod's Events, then try again";
            }
            return CommandError.of("pod.evicted", "the kubelet evicted the Job's pod" + (why.isEmpty() ? "" : " (" + why + ")")
                    + ": " + fix);
        }
        return null;
    }

    private static String annotation(HasMetadata object, String key) {
        return object.getMetadata().getAnnotations() == null ? null : object.getMetadata().getAnnotations().get(key);
    }

    static boolean ownedBy(Pod pod, Job job) {
        return pod.getMetadata().getOwnerReferences() != null && pod.getMetadata().getOwnerReferences().stream()
                .anyMatch(r -> Objects.equals(r.getUid(), job.getMetadata().getUid()));
    }

    static <T extends CommandResult> JobOutcome<T> outcome(Job job, Collection<Pod> pods, Collection<Event> events, Class<T> type,
                                                           List<Database> databases) {
        String text = pods.stream().map(JobObserver::terminationMessage).filter(Objects::nonNull).findFirst().orElse(null);
        CommandError error = null;
        T result = null;
        if (text != null) {
            // every line has "ok"; a failure also "error" (a stable code) and "message"
            CommandError header = read(text, CommandError.class);
            if (header == null) {
                // FallbackToLogsOnError: the last log lines, not JSON; keep them as the message
                error = CommandError.of("job.output", text);
            } else {
                result = read(text, type);
                error = header.ok() ? null : header;
            }
        }
        Instant started = job.getStatus() == null || job.getStatus().getStartTime() == null ? null
                : Instant.parse(job.getStatus().getStartTime());
        if (job.getStatus() != null && job.getStatus().getConditions() != null) {
            for (JobCondition c : job.getStatus().getConditions()) {
                if (!"True".equals(c.getStatus())) {
                    continue;
                }
                Instant at = c.getLastTransitionTime() == null ? Instant.now() : Instant.parse(c.getLastTransitionTime());
                if ("Complete".equals(c.getType())) {
                    return new JobOutcome<>(JobOutcome.State.SUCCEEDED, result, error, null, null, started, at);
                }
                if ("Failed".equals(c.getType())) {
                    CommandError evicted = evicted(job, pods);
                    return new JobOutcome<>(JobOutcome.State.FAILED, result, evicted != null ? evicted : error, c.getReason(),
                            c.getMessage(), started, at);
                }
            }
        }
        for (Pod pod : pods) {
            for (ContainerStatus cs : containerStatuses(pod)) {
                if (cs.getState() == null || cs.getState().getWaiting() == null || cs.getState().getWaiting().getReason() == null) {
                    continue;
                }
                String why = cs.getState().getWaiting().getReason();
                String what = cs.getState().getWaiting().getMessage() == null ? why : cs.getState().getWaiting().getMessage();
                if ("CreateContainerConfigError".equals(why) && CACHE_NOT_SYNCED.matcher(what).find()) {
                    return new JobOutcome<>(JobOutcome.State.WAITING, null, null, Reasons.CONTAINER_CONFIG_PENDING,
                            "container " + cs.getName() + " is not started yet (" + what + "); the kubelet keeps trying", started, null);
                }
                if ("CreateContainerConfigError".equals(why)) {
                    String secret = secretProblem(what, databases);
                    return JobOutcome.blocked(secret != null ? Reasons.SECRET_MISSING : Reasons.CONTAINER_CONFIG_ERROR,
                            secret != null ? secret : "container " + cs.getName() + " cannot start: " + what);
                }
                if (IMAGE_INVALID.contains(why)) {
                    return JobOutcome.blocked(Reasons.IMAGE_PULL_FAILED, "container " + cs.getName() + " cannot start: " + what);
                }
                if (IMAGE_BACK_OFF.contains(why)) {
                    return new JobOutcome<>(JobOutcome.State.WAITING, null, null, Reasons.IMAGE_PULL_BACK_OFF,
                            "the image of container " + cs.getName() + " cannot be pulled (" + what + "); the Job keeps trying", started, null);
                }
            }
        }
        Optional<Event> unmountable = events.stream().filter(e -> "FailedMount".equals(e.getReason()) && e.getMessage() != null)
                .findFirst();
        if (unmountable.isPresent()) {
            String secret = mountProblem(unmountable.get().getMessage(), databases);
            if (secret != null) {
                return JobOutcome.blocked(Reasons.SECRET_MISSING, secret);
            }
        }
        Optional<Event> refused = events.stream().filter(e -> "FailedCreate".equals(e.getReason())).findFirst();
        if (refused.isPresent() && pods.isEmpty()) {
            return JobOutcome.blocked(Reasons.POD_CREATE_FAILED, "the Job's pod cannot be created: " + refused.get().getMessage());
        }
        return new JobOutcome<>(JobOutcome.State.RUNNING, result, error, null, null, started, null);
    }

    private static List<ContainerStatus> containerStatuses(Pod pod) {
        if (pod.getStatus() == null) {
            return List.of();
        }
        List<ContainerStatus> all = new ArrayList<>();
        Stream.of(pod.getStatus().getInitContainerStatuses(), pod.getStatus().getContainerStatuses())
                .filter(Objects::nonNull).forEach(all::addAll);
        return all;
    }

    /** The kubelet's CreateContainerConfigError about a Secret, as a sentence naming the Secret, the key and their role. */
    static String secretProblem(String kubeletMessage, List<Database> databases) {
        String missing = secretMissing(kubeletMessage, databases);
        if (missing != null) {
            return missing;
        }
        Matcher key = KEY_NOT_FOUND.matcher(kubeletMessage);
        return key.find() ? keyMissing(key.group(3), key.group(1), databases) : null;
    }

    /** The kubelet's FailedMount about the signing key's Secret volume, as a sentence naming the Secret and the key. */
    static String mountProblem(String kubeletMessage, List<Database> databases) {
        String missing = secretMissing(kubeletMessage, databases);
        if (missing != null) {
            return missing;
        }
        Matcher key = MOUNT_KEY_NOT_FOUND.matcher(kubeletMessage);
        if (key.find()) {
            for (Database db : databases) {
                DatabaseSpec.SecretKey signing = JobFactory.signingKey(db);
                if (signing != null && signing.key.equals(key.group(1))) {
                    return keyMissing(signing.name, key.group(1), databases);
                }
            }
        }
        return null;
    }

    /** "Secret 'x' (its role) does not exist: create it" when the kubelet says a Secret is not found, else null. */
    private static String secretMissing(String kubeletMessage, List<Database> databases) {
        Matcher missing = SECRET_NOT_FOUND.matcher(kubeletMessage);
        if (!missing.find()) {
            return null;
        }
        String name = missing.group(1);
        return "Secret '" + name + "'" + role(name, null, databases) + " does not exist: create it";
    }

    private static String keyMissing(String secret, String key, List<Database> databases) {
        return "Secret '" + secret + "'" + role(secret, key, databases) + " has no key '" + key + "': add it";
    }

    private static String role(String secret, String missingKey, List<Database> databases) {
        List<String> roles = new ArrayList<>();
        for (Database db : databases) {
            DatabaseSpec spec = db.getSpec();
            String of = " of Database '" + db.getMetadata().getName() + "'";
            if (secret.equals(spec.connection.secretName)) {
                String keys = spec.connection.key != null ? "key '" + spec.connection.key + "'" : "keys host, user, password, dbname";
                roles.add("the connection" + of + (missingKey == null ? ", " + keys : ""));
            }
            DatabaseSpec.SecretKey signing = JobFactory.signingKey(db);
            if (signing != null && secret.equals(signing.name)) {
                roles.add("the signing key" + of + (missingKey == null ? ", key '" + signing.key + "'" : ""));
            }
            if (secret.equals(spec.store.credentialsSecret)) {
                roles.add("the store credentials" + of + (missingKey == null ? ", keys 'AWS_ACCESS_KEY_ID' and 'AWS_SECRET_ACCESS_KEY'" : ""));
            }
        }
        return roles.isEmpty() ? "" : " (" + String.join("; ", roles) + ")";
    }

    private static String terminationMessage(Pod pod) {
        if (pod.getStatus() == null || pod.getStatus().getContainerStatuses() == null) {
            return null;
        }
        for (ContainerStatus cs : pod.getStatus().getContainerStatuses()) {
            if (Labels.MAIN_CONTAINER.equals(cs.getName()) && cs.getState() != null && cs.getState().getTerminated() != null) {
                String text = cs.getState().getTerminated().getMessage();
                return text == null || text.isBlank() ? null : text.strip();
            }
        }
        return null;
    }

    private static <R> R read(String text, Class<R> type) {
        if (!text.startsWith("{")) {
            return null;
        }
        try {
            return Json.MAPPER.readValue(text, type);
        } catch (Exception e) {
            return null;
        }
    }
}
