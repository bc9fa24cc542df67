package io.pgcheckpoint.api;

import io.fabric8.kubernetes.api.model.Condition;
import io.fabric8.kubernetes.api.model.ConditionBuilder;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.List;
import java.util.Objects;

/** Standard Kubernetes conditions: lastTransitionTime moves only when the status does. */
public final class Conditions {
    private Conditions() {
    }

    public static void set(List<Condition> conditions, String type, boolean status, String reason, String message, Long generation) {
        String value = status ? "True" : "False";
        Condition existing = find(conditions, type);
        String transition = existing != null && value.equals(existing.getStatus()) ? existing.getLastTransitionTime() : now();
        Condition updated = new ConditionBuilder().withType(type).withStatus(value).withReason(reason)
                .withMessage(message).withObservedGeneration(generation).withLastTransitionTime(transition).build();
        conditions.removeIf(c -> type.equals(c.getType()));
        conditions.add(updated);
    }

    public static Condition find(List<Condition> conditions, String type) {
        return conditions.stream().filter(c -> type.equals(c.getType())).findFirst().orElse(null);
    }

    public static boolean isTrue(List<Condition> conditions, String type) {
        Condition c = find(conditions, type);
        return c != null && Objects.equals("True", c.getStatus());
    }

    public static String now() {
        return Instant.now().truncatedTo(ChronoUnit.SECONDS).toString();
    }
}
