package io.pgcheckpoint.controller;

import io.fabric8.kubernetes.api.model.EventBuilder;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import java.util.UUID;

/** Kubernetes Events on the resource, one per transition, as `kubectl describe` shows them. */
public final class Events {
    private Events() {
    }

    public static void emit(KubernetesClient client, HasMetadata about, boolean warning, String reason, String message) {
        String now = Conditions.now();
        try {
            client.v1().events().inNamespace(about.getMetadata().getNamespace()).resource(new EventBuilder()
                    .withNewMetadata().withName(about.getMetadata().getName() + "." + UUID.randomUUID().toString().substring(0, 8))
                    .withNamespace(about.getMetadata().getNamespace()).endMetadata()
                    .withNewInvolvedObject().withApiVersion(about.getApiVersion()).withKind(about.getKind())
                    .withName(about.getMetadata().getName()).withNamespace(about.getMetadata().getNamespace())
                    .withUid(about.getMetadata().getUid()).endInvolvedObject()
                    .withType(warning ? "Warning" : "Normal").withReason(reason)
                    .withMessage(message.length() > 1000 ? message.substring(0, 1000) : message)
                    .withFirstTimestamp(now).withLastTimestamp(now).withCount(1)
                    .withNewSource().withComponent("pgcheckpoint-operator").endSource()
                    .build()).create();
        } catch (KubernetesClientException e) {
            // An event is a courtesy; the status carries the truth.
        }
    }
}
