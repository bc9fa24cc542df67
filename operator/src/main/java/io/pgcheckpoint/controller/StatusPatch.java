package io.pgcheckpoint.controller;

import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.fabric8.kubernetes.client.CustomResource;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.fabric8.kubernetes.client.dsl.base.PatchContext;
import io.fabric8.kubernetes.client.dsl.base.PatchType;
import io.javaoperatorsdk.operator.api.reconciler.Context;
import io.javaoperatorsdk.operator.api.reconciler.ErrorStatusUpdateControl;
import io.javaoperatorsdk.operator.api.reconciler.UpdateControl;
import io.javaoperatorsdk.operator.processing.event.ResourceID;
import io.pgcheckpoint.engine.Json;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The reconcilers' common frame: the status as it was when the reconcile began, the status
 * changed in place on JOSDK's copy of the resource, and at the end a patch only when it changed,
 * carrying nothing but name, namespace, the resource version the reconcile read, and status.
 *
 * <p>JOSDK may hand a reconcile a copy from its informer cache that predates the status the last
 * reconcile stored. Such a reconcile sees a finished Job as new and would announce it again
 * (an Event, a metric) and write its older view over the newer status. So the patch carries the
 * resource version (the API server refuses it with 409 when the resource moved on), what a
 * transition announces runs only once its status is stored ({@link #afterCommit}), and the stored
 * resource goes into JOSDK's cache so that the next reconcile starts from it.
 */
final class StatusPatch<S, R extends CustomResource<?, S>> {
    private static final Logger LOG = LoggerFactory.getLogger(StatusPatch.class);
    /** When a reconcile that read a stale copy looks again: the informer has the newer one by then. */
    static final Duration STALE_RETRY = Duration.ofSeconds(1);
    private final R resource;
    private final String before;
    private final Supplier<R> empty;
    private final List<Runnable> afterCommit = new ArrayList<>();

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

    /** Runs {@code announcement} (an Event, a metric) once the status is stored, never when it was refused. */
    void afterCommit(Runnable announcement) {
        afterCommit.add(announcement);
    }

    /**
     * Stores the status if it changed and the resource is still the version this reconcile read,
     * caches the result for the next reconcile, then runs the announcements.
     *
     * @param again when to reconcile again, or null to wait for an event
     */
    UpdateControl<R> end(Context<R> context, Duration again) {
        R stored;
        try {
            stored = commit(context.getClient(), context.getControllerConfiguration().fieldManager());
        } catch (StaleException e) {
            LOG.debug("{} {}/{} changed since this reconcile read it; reconciling again from the newer copy", resource.getKind(),
                    resource.getMetadata().getNamespace(), resource.getMetadata().getName());
            return UpdateControl.<R>noUpdate().rescheduleAfter(STALE_RETRY);
        }
        if (stored != null) {
            context.eventSourceRetriever().getControllerEventSource()
                    .handleRecentResourceUpdate(ResourceID.fromResource(resource), stored, resource);
        }
        UpdateControl<R> control = UpdateControl.noUpdate();
        return again == null ? control : control.rescheduleAfter(again);
    }

    /**
     * The patch (server-side apply of the status, as JOSDK's own field manager, with the resource
     * version read), then the announcements.
     *
     * @return the stored resource, or null when the status did not change
     * @throws StaleException when the resource changed since it was read: nothing stored, nothing announced
     */
    R commit(KubernetesClient client, String fieldManager) throws StaleException {
        R stored = null;
        if (!Objects.equals(before, Json.compact(resource.getStatus()))) {
            R patch = statusOnly(resource, resource.getStatus(), empty);
            patch.getMetadata().setResourceVersion(resource.getMetadata().getResourceVersion());
            try {
                stored = client.resource(patch).subresource("status").patch(new PatchContext.Builder()
                        .withPatchType(PatchType.SERVER_SIDE_APPLY).withFieldManager(fieldManager).withForce(true).build());
            } catch (KubernetesClientException e) {
                if (e.getCode() == 409) {
                    throw new StaleException();
                }
                throw e;
            }
        }
        afterCommit.forEach(Runnable::run);
        return stored;
    }

    /** The resource moved on since this reconcile read it. */
    static final class StaleException extends Exception {
        StaleException() {
            super(null, null, false, false);
        }
    }

    /**
     * What a failed reconcile reports its error on: the resource as stored (JOSDK's cached copy,
     * not the one the reconcile may have changed in place before it failed, whose transition was
     * never stored nor announced).
     */
    static <S, R extends CustomResource<?, S>> R stored(R resource, Context<R> context) {
        return context.getPrimaryCache().get(ResourceID.fromResource(resource)).orElse(resource);
    }

    /** The error's status patch, refused (409) if {@code stored} is not the latest version: a reconcile follows then anyway. */
    static <S, R extends CustomResource<?, S>> ErrorStatusUpdateControl<R> error(R stored, S status, Supplier<R> empty) {
        R patch = statusOnly(stored, status, empty);
        patch.getMetadata().setResourceVersion(stored.getMetadata().getResourceVersion());
        return ErrorStatusUpdateControl.patchStatus(patch);
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
