package io.pgcheckpoint.controller;

import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.fabric8.kubernetes.client.CustomResource;
import io.javaoperatorsdk.operator.api.reconciler.ErrorStatusUpdateControl;
import io.javaoperatorsdk.operator.api.reconciler.UpdateControl;
import io.pgcheckpoint.engine.Json;
import java.time.Duration;
import java.util.Objects;
import java.util.function.Supplier;

/**
 * The reconcilers' common frame: the status as it was when the reconcile began, the status
 * changed in place on JOSDK's copy of the resource, and at the end a patch only when it changed,
 * carrying nothing but name, namespace and status.
 */
final class StatusPatch<S, R extends CustomResource<?, S>> {
    private final R resource;
    private final String before;
    private final Supplier<R> empty;

    private StatusPatch(R resource, String before, Supplier<R> empty) {
        this.resource = resource;
        this.before = before;
        this.empty = empty;
    }

    /** Remembers the status and gives the resource one to change if it had none. */
    static <S, R extends CustomResource<?, S>> StatusPatch<S, R> begin(R resource, Supplier<S> emptyStatus, Supplier<R> empty) {
        String before = resource.getStatus() == null ? null : Json.compact(resource.getStatus());
        if (resource.getStatus() == null) {
            resource.setStatus(emptyStatus.get());
        }
        return new StatusPatch<>(resource, before, empty);
    }

    /** The status as it was, to compare transitions with. */
    S before(Class<S> type) {
        return before == null ? null : Json.read(before.getBytes(java.nio.charset.StandardCharsets.UTF_8), type);
    }

    /** @param again when to reconcile again, or null to wait for an event */
    UpdateControl<R> end(Duration again) {
        UpdateControl<R> control = Objects.equals(before, Json.compact(resource.getStatus()))
                ? UpdateControl.noUpdate() : UpdateControl.patchStatus(statusOnly(resource, resource.getStatus(), empty));
        return again == null ? control : control.rescheduleAfter(again);
    }

    static <S, R extends CustomResource<?, S>> ErrorStatusUpdateControl<R> error(R resource, S status, Supplier<R> empty) {
        return ErrorStatusUpdateControl.patchStatus(statusOnly(resource, status, empty));
    }

    /** A deep copy of a status, to change without touching the one given. */
    static <S> S copy(S status, Class<S> type, Supplier<S> empty) {
        return status == null ? empty.get() : Json.read(Json.bytes(status), type);
    }

    private static <S, R extends CustomResource<?, S>> R statusOnly(R resource, S status, Supplier<R> empty) {
        R fresh = empty.get();
        fresh.setMetadata(new ObjectMetaBuilder().withName(resource.getMetadata().getName())
                .withNamespace(resource.getMetadata().getNamespace()).build());
        fresh.setStatus(status);
        return fresh;
    }
}
