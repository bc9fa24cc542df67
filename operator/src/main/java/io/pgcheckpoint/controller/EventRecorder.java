package io.pgcheckpoint.controller;

import io.fabric8.kubernetes.api.model.Event;
import io.fabric8.kubernetes.api.model.EventBuilder;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.fabric8.kubernetes.client.dsl.base.PatchContext;
import io.fabric8.kubernetes.client.dsl.base.PatchType;
import io.pgcheckpoint.api.Conditions;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Kubernetes Events on the operator's resources, as `kubectl describe` shows them. An Event's name
 * is stable for its object, reason and message: telling the same thing again increments its count
 * and moves lastTimestamp instead of adding another Event.
 */
public final class EventRecorder {
    private static final Logger LOG = LoggerFactory.getLogger(EventRecorder.class);
    static final String COMPONENT = "pgcheckpoint-operator";
    static final int MESSAGE_LIMIT = 1000;

    public enum Type { Normal, Warning }

    /** Every reason an Event of this operator can have. */
    public enum Reason {
        Accepted, Pending, Waiting, Dumping, Sealed, Drilling, Proven, Running, Succeeded, Failed, ReconcileError,
        /** deletionPolicy Delete: the cleanup Job started, its objects were removed, are locked, or could not be removed. */
        DeletingObjects, ObjectsDeleted, ObjectsLocked, CleanupFailed,
        /** retention: what a prune Job removed and kept, or why it failed. */
        Pruned, PruneFailed
    }

    private final KubernetesClient client;

    public EventRecorder(KubernetesClient client) {
        this.client = client;
    }

    public void record(HasMetadata about, Type type, Reason reason, String message) {
        String ns = about.getMetadata().getNamespace();
        String text = message.length() > MESSAGE_LIMIT ? message.substring(0, MESSAGE_LIMIT) : message;
        String name = name(about, type, reason, text);
        String now = Conditions.now();
        try {
            try {
                client.v1().events().inNamespace(ns).resource(new EventBuilder()
                        .withNewMetadata().withName(name).withNamespace(ns).endMetadata()
                        .withNewInvolvedObject().withApiVersion(about.getApiVersion()).withKind(about.getKind())
                        .withName(about.getMetadata().getName()).withNamespace(ns)
                        .withUid(about.getMetadata().getUid()).endInvolvedObject()
                        .withType(type.name()).withReason(reason.name()).withMessage(text)
                        .withFirstTimestamp(now).withLastTimestamp(now).withCount(1)
                        .withNewSource().withComponent(COMPONENT).endSource()
                        .build()).create();
            } catch (KubernetesClientException e) {
                if (e.getCode() != 409) {
                    throw e;
                }
                Event existing = client.v1().events().inNamespace(ns).withName(name).get();
                int count = existing == null || existing.getCount() == null ? 1 : existing.getCount();
                client.v1().events().inNamespace(ns).withName(name).patch(PatchContext.of(PatchType.JSON_MERGE),
                        "{\"count\":" + (count + 1) + ",\"lastTimestamp\":\"" + now + "\"}");
            }
        } catch (KubernetesClientException e) {
            // An event is a courtesy; the status carries the truth.
            LOG.debug("cannot record event {} on {}/{}: {}", reason, ns, about.getMetadata().getName(), e.getMessage());
        }
    }

    /** {@code <object name>.<hash of uid, type, reason and message>}: the same report on the same object, the same Event. */
    static String name(HasMetadata about, Type type, Reason reason, String message) {
        String object = about.getMetadata().getName();
        if (object.length() > 200) {
            object = object.substring(0, 200);
        }
        return object + "." + JobNames.hash(about.getMetadata().getUid() + "/" + type + "/" + reason + "/" + message, 16);
    }
}
