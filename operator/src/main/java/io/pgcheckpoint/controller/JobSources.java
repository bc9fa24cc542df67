package io.pgcheckpoint.controller;

import io.fabric8.kubernetes.api.model.Event;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.batch.v1.Job;
import io.javaoperatorsdk.operator.api.config.informer.FieldSelector;
import io.javaoperatorsdk.operator.api.config.informer.InformerEventSourceConfiguration;
import io.javaoperatorsdk.operator.api.reconciler.EventSourceContext;
import io.javaoperatorsdk.operator.processing.event.ResourceID;
import io.javaoperatorsdk.operator.processing.event.source.informer.InformerEventSource;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;

/** The informers beside the Jobs: their pods (for termination messages and waiting reasons) and the Job controller's FailedCreate Events. */
final class JobSources {
    private JobSources() {
    }

    /** The operator's pods, mapped to their owner by the annotation the Job template carries (a label may not hold a long name). */
    static <P extends HasMetadata> InformerEventSource<Pod, P> pods(EventSourceContext<P> context, Class<P> owner, String ownerLabel) {
        return new InformerEventSource<>(InformerEventSourceConfiguration.from(Pod.class, owner).withName("pods")
                .withLabelSelector(Labels.SELECTOR + "," + ownerLabel)
                .withSecondaryToPrimaryMapper((Pod p) -> {
                    Map<String, String> annotations = p.getMetadata().getAnnotations();
                    String name = annotations == null ? null : annotations.get(Labels.OWNER);
                    return name == null ? Set.of() : Set.of(new ResourceID(name, p.getMetadata().getNamespace()));
                })
                .build(), context);
    }

    /**
     * The kubelet's Warning Events "FailedMount" about the operator's pods (the signing key's
     * Secret is missing, or lacks its key), mapped to the owner named on the pod.
     */
    static <P extends HasMetadata> InformerEventSource<Event, P> failedMountEvents(EventSourceContext<P> context,
                                                                                  InformerEventSource<Pod, P> pods, Class<P> owner) {
        return new InformerEventSource<>(InformerEventSourceConfiguration.from(Event.class, owner).withName("failed-mount-events")
                .withFieldSelector(new FieldSelector(new FieldSelector.Field("reason", "FailedMount"),
                        new FieldSelector.Field("involvedObject.kind", "Pod")))
                .withSecondaryToPrimaryMapper((Event e) -> pods.get(new ResourceID(e.getInvolvedObject().getName(),
                                e.getMetadata().getNamespace()))
                        .map(p -> p.getMetadata().getAnnotations() == null ? null : p.getMetadata().getAnnotations().get(Labels.OWNER))
                        .map(name -> Set.of(new ResourceID(name, e.getMetadata().getNamespace())))
                        .orElse(Set.of()))
                .build(), context);
    }

    /**
     * The Job controller's Warning Events "FailedCreate" (admission or quota refused the pod), mapped
     * to the owner of the Job they are about: no pod exists then, this is the only trace.
     */
    static <P extends HasMetadata> InformerEventSource<Event, P> failedCreateEvents(EventSourceContext<P> context,
                                                                                   InformerEventSource<Job, P> jobs, Class<P> owner) {
        String kind = HasMetadata.getKind(owner);
        return new InformerEventSource<>(InformerEventSourceConfiguration.from(Event.class, owner).withName("failed-create-events")
                .withFieldSelector(new FieldSelector(new FieldSelector.Field("reason", "FailedCreate"),
                        new FieldSelector.Field("involvedObject.kind", "Job")))
                .withSecondaryToPrimaryMapper((Event e) -> jobs.get(new ResourceID(e.getInvolvedObject().getName(),
                                e.getMetadata().getNamespace()))
                        .map(job -> job.getMetadata().getOwnerReferences().stream().filter(r -> kind.equals(r.getKind()))
                                .map(r -> new ResourceID(r.getName(), job.getMetadata().getNamespace())).collect(Collectors.toSet()))
                        .orElse(Set.of()))
                .build(), context);
    }
}
