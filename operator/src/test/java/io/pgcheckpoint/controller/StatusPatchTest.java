package io.pgcheckpoint.controller;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.fabric8.kubernetes.api.model.NamespaceBuilder;
import io.pgcheckpoint.api.Database;
import io.pgcheckpoint.api.DatabaseStatus;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The status patch that ends every reconcile, against the real API server. JOSDK may start a
 * reconcile from a cached copy older than the status the previous reconcile stored; that one
 * must neither overwrite the newer status nor announce a transition a second time (the prune
 * Event and metric were once recorded twice that way).
 */
class StatusPatchTest extends MiddleTier {
    private static final String MANAGER = "statuspatchtest";

    @Test
    void aReconcileFromAStaleCopyStoresNothingAndAnnouncesNothing() throws Exception {
        String other = unwatchedNamespace();
        Database read = createDatabase(other);
        Database staleCopy = client.resources(Database.class).inNamespace(other).withName("prod").get();
        List<String> announced = new ArrayList<>();

        var first = StatusPatch.begin(read, DatabaseStatus::new, Database::new);
        read.getStatus().message = "the prune Job prod-prune-1 removed 1 checkpoint(s)";
        first.afterCommit(() -> announced.add("first"));
        Database stored = first.commit(client, MANAGER);
        assertEquals("the prune Job prod-prune-1 removed 1 checkpoint(s)", stored.getStatus().message);
        assertEquals(List.of("first"), announced);

        var second = StatusPatch.begin(staleCopy, DatabaseStatus::new, Database::new);
        staleCopy.getStatus().message = "the prune Job prod-prune-1 removed 1 checkpoint(s) (seen again)";
        second.afterCommit(() -> announced.add("second"));
        assertThrows(StatusPatch.StaleException.class, () -> second.commit(client, MANAGER));
        assertEquals(List.of("first"), announced, "a refused patch announces nothing");
        assertEquals("the prune Job prod-prune-1 removed 1 checkpoint(s)", get(other).getStatus().message,
                "the newer status stays");
    }

    @Test
    void aFieldTheReconcileClearsIsRemovedAndAnUnchangedStatusIsNotPatched() throws Exception {
        String other = unwatchedNamespace();
        Database read = createDatabase(other);
        var start = StatusPatch.begin(read, DatabaseStatus::new, Database::new);
        read.getStatus().retention = new DatabaseStatus.Retention();
        read.getStatus().retention.pruneJob = "prod-prune-1";
        read.getStatus().retention.prunes = 1;
        Database stored = start.commit(client, MANAGER);
        assertEquals("prod-prune-1", get(other).getStatus().retention.pruneJob);

        var finish = StatusPatch.begin(stored, DatabaseStatus::new, Database::new);
        stored.getStatus().retention.pruneJob = null;
        finish.commit(client, MANAGER);
        Database now = get(other);
        assertNull(now.getStatus().retention.pruneJob, "the prune Job's name goes once it is observed");
        assertEquals(1, now.getStatus().retention.prunes);

        List<String> announced = new ArrayList<>();
        var unchanged = StatusPatch.begin(now, DatabaseStatus::new, Database::new);
        unchanged.afterCommit(() -> announced.add("unchanged"));
        assertNull(unchanged.commit(client, MANAGER), "nothing to store");
        assertEquals(List.of("unchanged"), announced);
        assertEquals(now.getMetadata().getResourceVersion(), get(other).getMetadata().getResourceVersion());
    }

    /** A namespace the operator of this test does not watch: only the test writes these statuses. */
    private String unwatchedNamespace() {
        String other = ns + "-unwatched";
        client.namespaces().resource(new NamespaceBuilder().withNewMetadata().withName(other).endMetadata().build()).create();
        return other;
    }

    private Database createDatabase(String namespace) {
        String watched = ns;
        ns = namespace;
        try {
            database("prod", false);
        } finally {
            ns = watched;
        }
        return get(namespace);
    }

    private static Database get(String namespace) {
        return client.resources(Database.class).inNamespace(namespace).withName("prod").get();
    }
}
