package io.pgcheckpoint.controller;

import io.fabric8.kubernetes.api.model.DeletionPropagation;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.batch.v1.Job;
import io.javaoperatorsdk.operator.api.reconciler.Context;
import io.javaoperatorsdk.operator.api.reconciler.dependent.GarbageCollected;
import io.javaoperatorsdk.operator.processing.dependent.Creator;
import io.javaoperatorsdk.operator.processing.dependent.kubernetes.KubernetesDependentResource;
import io.javaoperatorsdk.operator.processing.dependent.kubernetes.KubernetesDependentResourceConfigBuilder;
import io.javaoperatorsdk.operator.processing.event.ResourceID;
import java.util.function.BiFunction;
import java.util.function.Function;

/**
 * A Job the operator creates once and never changes (a Job's pod template is immutable): a
 * {@link Creator} without an updater, {@link GarbageCollected} through its owner reference, so it
 * goes when its Checkpoint or Restore goes. Reconciled explicitly, at the step that needs it; its
 * name is known without building it, so finding it costs nothing.
 */
final class JobDependent<P extends HasMetadata> extends KubernetesDependentResource<Job, P>
        implements Creator<Job, P>, GarbageCollected<P> {
    private final Function<P, String> name;
    private final BiFunction<P, Context<P>, Job> build;

    JobDependent(String role, Function<P, String> name, BiFunction<P, Context<P>, Job> build) {
        super(Job.class, role);
        this.name = name;
        this.build = build;
        // a plain create: a second create of the same name fails instead of changing anything
        configureWith(new KubernetesDependentResourceConfigBuilder<Job>().withUseSSA(false).build());
    }

    @Override
    protected Job desired(P primary, Context<P> context) {
        return build.apply(primary, context);
    }

    @Override
    protected ResourceID targetSecondaryResourceID(P primary, Context<P> context) {
        return new ResourceID(name.apply(primary), primary.getMetadata().getNamespace());
    }

    /**
     * Deletes the Job (and through it its pod) if it is this owner's and has not finished: for an
     * owner that failed because the Job can never run, so that it does not start later, when a
     * missing Secret appears, and act under a failed resource.
     */
    void stopUnfinished(P primary, Context<P> context) {
        stopUnfinished(primary, context, DeletionPropagation.BACKGROUND);
    }

    /**
     * As {@link #stopUnfinished(HasMetadata, Context)}, with the given propagation: FOREGROUND keeps
     * the Job until its pod is gone, for a caller that must wait until nothing runs any more.
     *
     * @return whether an unfinished Job of this owner was there
     */
    boolean stopUnfinished(P primary, Context<P> context, DeletionPropagation propagation) {
        String jobName = name.apply(primary);
        return context.getSecondaryResources(Job.class).stream()
                .filter(j -> jobName.equals(j.getMetadata().getName()) && j.hasOwnerReferenceFor(primary))
                .filter(j -> j.getStatus() == null || j.getStatus().getConditions() == null || j.getStatus().getConditions().stream()
                        .noneMatch(c -> "True".equals(c.getStatus()) && ("Complete".equals(c.getType()) || "Failed".equals(c.getType()))))
                .findFirst()
                .map(j -> {
                    if (j.getMetadata().getDeletionTimestamp() == null) {
                        context.getClient().resource(j).withPropagationPolicy(propagation).delete();
                    }
                    return true;
                }).orElse(false);
    }

    /** Creates the Job unless it exists; returns its name. */
    String ensure(P primary, Context<P> context) {
        reconcile(primary, context);
        return name.apply(primary);
    }
}
