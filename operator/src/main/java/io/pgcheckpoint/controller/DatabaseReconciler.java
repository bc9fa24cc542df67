package io.pgcheckpoint.controller;

import io.fabric8.kubernetes.api.model.Secret;
import io.javaoperatorsdk.operator.api.reconciler.Context;
import io.javaoperatorsdk.operator.api.reconciler.ControllerConfiguration;
import io.javaoperatorsdk.operator.api.reconciler.Reconciler;
import io.javaoperatorsdk.operator.api.reconciler.UpdateControl;
import io.pgcheckpoint.api.Database;
import io.pgcheckpoint.api.DatabaseSpec;
import io.pgcheckpoint.api.DatabaseStatus;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * Checks that a Database's Secrets exist and hold the keys the Jobs will read, by key name
 * only: values are never looked at. Secrets change without touching the Database, so it looks
 * again every few minutes.
 */
@ControllerConfiguration(name = "database")
public class DatabaseReconciler implements Reconciler<Database> {
    static final Duration RECHECK = Duration.ofMinutes(5);

    @Override
    public UpdateControl<Database> reconcile(Database db, Context<Database> context) {
        DatabaseStatus before = db.getStatus();
        DatabaseStatus status = StatusPatch.editable(before, DatabaseStatus.class, DatabaseStatus::new);
        String ns = db.getMetadata().getNamespace();
        List<String> problems = new ArrayList<>();
        DatabaseSpec.Connection c = db.getSpec().connection;
        List<String> connectionKeys = c.key != null ? List.of(c.key) : List.of("host", "user", "password", "dbname");
        problems.addAll(missing(context, ns, c.secretName, connectionKeys, "connection"));
        if (db.getSpec().store.credentialsSecret != null) {
            problems.addAll(missing(context, ns, db.getSpec().store.credentialsSecret,
                    List.of("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"), "store credentials"));
        }
        status.observedGeneration = db.getMetadata().getGeneration();
        status.storeUri = JobFactory.storeUri(db);
        boolean ready = problems.isEmpty();
        status.message = ready ? "Secrets present; checkpoints go to " + status.storeUri : String.join("; ", problems);
        boolean wasReady = before != null && Conditions.isTrue(before.conditions, "Ready");
        Conditions.set(status.conditions, "Ready", ready, ready ? "SecretsPresent" : "SecretInvalid", status.message,
                status.observedGeneration);
        if (ready != wasReady || before == null) {
            Events.emit(context.getClient(), db, !ready, ready ? "Ready" : "SecretInvalid", status.message);
        }
        return StatusPatch.of(db, status, ready ? RECHECK : Duration.ofSeconds(15), Database::new);
    }

    private static List<String> missing(Context<Database> context, String ns, String name, List<String> keys, String what) {
        Secret secret = context.getClient().secrets().inNamespace(ns).withName(name).get();
        if (secret == null) {
            return List.of(what + " Secret '" + name + "' not found in namespace " + ns + ": create it");
        }
        Set<String> present = new HashSet<>();
        if (secret.getData() != null) {
            present.addAll(secret.getData().keySet());
        }
        if (secret.getStringData() != null) {
            present.addAll(secret.getStringData().keySet());
        }
        List<String> absent = keys.stream().filter(k -> !present.contains(k)).toList();
        return absent.isEmpty() ? List.of() : List.of(what + " Secret '" + name + "' lacks key(s) " + String.join(", ", absent));
    }
}
