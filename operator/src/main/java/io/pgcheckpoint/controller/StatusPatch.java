package io.pgcheckpoint.controller;

import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.fabric8.kubernetes.client.CustomResource;
import io.javaoperatorsdk.operator.api.reconciler.UpdateControl;
import io.pgcheckpoint.engine.Json;
import java.time.Duration;
import java.util.Objects;
import java.util.function.Supplier;

/** The reconcilers' common ending: patch the status only when it changed, then look again when asked to. */
final class StatusPatch {
    private StatusPatch() {
    }

    /** A deep copy to change freely, so that it can be compared with what the cluster holds. */
    static <S> S editable(S status, Class<S> type, Supplier<S> empty) {
        return status == null ? empty.get() : Json.read(Json.bytes(status), type);
    }

    /**
     * @param again when to reconcile again, or null to wait for an event
     * @param empty a new, empty resource of the same kind: the patch carries only name, namespace and status
     */
    static <S, R extends CustomResource<?, S>> UpdateControl<R> of(R current, S updated, Duration again, Supplier<R> empty) {
        S before = current.getStatus();
        UpdateControl<R> control;
        if (before != null && Objects.equals(Json.compact(before), Json.compact(updated))) {
            control = UpdateControl.noUpdate();
        } else {
            R fresh = empty.get();
            fresh.setMetadata(new ObjectMetaBuilder().withName(current.getMetadata().getName())
                    .withNamespace(current.getMetadata().getNamespace()).build());
            fresh.setStatus(updated);
            control = UpdateControl.patchStatus(fresh);
        }
        return again == null ? control : control.rescheduleAfter(again);
    }
}
