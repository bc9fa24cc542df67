package io.pgcheckpoint.api;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.pgcheckpoint.api.CheckpointStatus.Phase;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Phase, message and conditions move together, through the status types' own methods. */
class StatusTransitionsTest {
    static Checkpoint checkpoint() {
        Checkpoint c = new Checkpoint();
        c.setMetadata(new ObjectMetaBuilder().withName("pre-deploy-1").withGeneration(3L).build());
        c.setSpec(new CheckpointSpec());
        return c;
    }

    static String reason(CheckpointStatus s, String type) {
        return Conditions.find(s.conditions, type).getReason();
    }

    @Test
    void aCheckpointGoesFromPendingToProven() {
        CheckpointStatus s = new CheckpointStatus();
        s.observe(checkpoint());
        assertEquals(Phase.Pending, s.phase);
        assertEquals("pre-deploy-1", s.tag);
        assertEquals(3L, Conditions.find(s.conditions, CheckpointStatus.READY).getObservedGeneration());
        s.dumping("job-a", "s3://b/p/ns/prod");
        assertEquals("job-a", s.dumpJob);
        assertEquals(Reasons.DUMPING, reason(s, CheckpointStatus.SEALED));
        CheckpointStatus.Archive a = new CheckpointStatus.Archive();
        a.uri = "s3://b/p/ns/prod/pre-deploy-1/archive.dump";
        a.size = "1 MB";
        CheckpointStatus.LedgerSummary l = new CheckpointStatus.LedgerSummary();
        l.tables = 2;
        l.totalRows = 10L;
        s.sealed(a, l);
        assertTrue(Conditions.isTrue(s.conditions, CheckpointStatus.SEALED));
        assertFalse(Conditions.isTrue(s.conditions, CheckpointStatus.READY));
        s.drilling("job-b");
        CheckpointStatus.Drill d = new CheckpointStatus.Drill();
        d.tablesChecked = 2;
        d.rowsChecked = 10L;
        s.proven(d);
        assertTrue(s.isDone());
        assertTrue(Conditions.isTrue(s.conditions, CheckpointStatus.PROVEN) && Conditions.isTrue(s.conditions, CheckpointStatus.READY));
        assertTrue(s.message.startsWith("proven:"), s.message);
    }

    @Test
    void aFailureKeepsWhatWasSealed() {
        CheckpointStatus s = new CheckpointStatus();
        s.observe(checkpoint());
        s.fail(Reasons.SECRET_MISSING, "Secret 'x' does not exist");
        assertEquals(List.of(Reasons.SECRET_MISSING, Reasons.SECRET_MISSING, Reasons.SECRET_MISSING),
                List.of(reason(s, CheckpointStatus.READY), reason(s, CheckpointStatus.SEALED), reason(s, CheckpointStatus.PROVEN)));

        CheckpointStatus sealed = new CheckpointStatus();
        sealed.observe(checkpoint());
        sealed.sealed(new CheckpointStatus.Archive(), new CheckpointStatus.LedgerSummary());
        sealed.fail("ArchiveChecksum", "the archive changed");
        assertTrue(Conditions.isTrue(sealed.conditions, CheckpointStatus.SEALED), "the archive was sealed all the same");
        assertEquals("ArchiveChecksum", reason(sealed, CheckpointStatus.PROVEN));
    }

    @Test
    void waitingAndErrorsNeitherMoveThePhaseNorTouchAFinishedCheckpoint() {
        CheckpointStatus s = new CheckpointStatus();
        s.observe(checkpoint());
        String since = Conditions.find(s.conditions, CheckpointStatus.READY).getLastTransitionTime();
        s.waiting(Reasons.DATABASE_NOT_FOUND, "Database 'prod' does not exist");
        assertEquals(Phase.Pending, s.phase);
        assertEquals(since, Conditions.find(s.conditions, CheckpointStatus.READY).getLastTransitionTime(), "still False: same transition");
        s.reconcileError("connection reset");
        assertEquals(Reasons.RECONCILE_ERROR, s.readyReason());
        s.fail(Reasons.TAG_IN_USE, "tag in use");
        s.reconcileError("later");
        assertEquals("tag in use", s.message);
    }

    @Test
    void aRestoreReportsItsTables() {
        Restore r = new Restore();
        r.setMetadata(new ObjectMetaBuilder().withName("r").withGeneration(1L).build());
        RestoreStatus s = new RestoreStatus();
        s.observe(r);
        assertEquals(RestoreStatus.Phase.Pending, s.phase);
        s.running("job", "restoring");
        s.succeeded(List.of(new RestoreStatus.TableResult()));
        assertTrue(s.isDone() && Conditions.isTrue(s.conditions, RestoreStatus.COMPLETE));
        assertEquals("restored 1 table(s); every count matches the ledger", s.message);
    }

    @Test
    void engineCodesBecomeCamelCaseReasons() {
        assertEquals("ConnectionAuth", Reasons.fromCode("connection.auth"));
        assertEquals("StoreExists", Reasons.fromCode("store.exists"));
        assertEquals("Failed", Reasons.fromCode(""));
    }
}
